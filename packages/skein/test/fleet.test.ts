import { describe, expect, it } from 'vitest';
import { collectHistory as collect, isThreadStoreError, loadHistoryItems, newThreadId } from '@skein/thread-store-api';
import type { RolloutItem, ThreadId, ThreadStore } from '@skein/thread-store-api';
import { PostgresThreadStore } from '@skein/thread-store-postgres';
import { RemoteThreadStore } from '@skein/thread-store-remote';
import { cleanEnv, ok, serve } from './cli-harness.js';
import type { Server } from './cli-harness.js';
import { useTestDatabase } from './pg-database.js';

// Three `skein serve --store` processes on one database; one is killed with SIGKILL mid-write.
const url = useTestDatabase('skein_fleet');
const LEASE_MS = 1500;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const msg = (text: string): RolloutItem => ({ type: 'event_msg', payload: { type: 'agent_message', message: text } });
const create = (s: ThreadStore, threadId: ThreadId): Promise<void> =>
  s.createThread({ threadId, source: { kind: 'cli' }, metadata: { cwd: '/fleet', modelProvider: 'openai' } });

/** Resumes as soon as the thread's lease is free (another server died holding it). */
async function resumeWhenFree(s: ThreadStore, threadId: ThreadId): Promise<void> {
  for (let i = 0; i < 300; i += 1) {
    try {
      await s.resumeThread({ threadId });
      return;
    } catch (e) {
      if (!isThreadStoreError(e, 'conflict')) throw e;
      await sleep(50);
    }
  }
  throw new Error(`thread ${threadId} was never free`);
}

/** Appends one item per call and flushes it; returns the messages whose flush was acknowledged. */
async function writeBatches(s: ThreadStore, threadId: ThreadId, prefix: string, n: number): Promise<string[]> {
  const acked: string[] = [];
  for (let i = 0; i < n; i += 1) {
    const text = `${prefix}-${i}`;
    await s.appendItems({ threadId, items: [msg(text)] });
    await s.flushThread(threadId);
    acked.push(text);
  }
  return acked;
}

describe('a fleet of three servers on one database', () => {
  it('survives one server killed mid-write: acknowledged items exactly once and in order, its threads taken over', async () => {
    const env = cleanEnv();
    const args = ['--store', url, '--lease-duration', String(LEASE_MS), '--log', 'off'];
    const servers: Server[] = [];
    for (let i = 0; i < 3; i += 1) servers.push(await serve(null, args, env));
    const clients = servers.map((s) => new RemoteThreadStore({ baseUrl: s.url }));
    const [c0, c1, c2] = clients as [RemoteThreadStore, RemoteThreadStore, RemoteThreadStore];
    const direct = await PostgresThreadStore.open({ connectionString: url });
    try {
      // Distinct threads, one per server, written at the same time.
      const own = [newThreadId(), newThreadId(), newThreadId()];
      await Promise.all(clients.map((c, i) => create(c, own[i] as ThreadId)));
      const first = await Promise.all(clients.map((c, i) => writeBatches(c, own[i] as ThreadId, `own${i}`, 20)));

      // A shared thread passed between servers 0 and 1: each takes it, writes, and lets go.
      const shared = newThreadId();
      await create(c0, shared);
      await c0.persistThread(shared);
      const sharedAcked: string[] = [];
      for (let round = 0; round < 4; round += 1) {
        const [writer, other] = round % 2 === 0 ? [c0, c1] : [c1, c0];
        if (round > 0) await writer.resumeThread({ threadId: shared });
        const conflict: unknown = await other.resumeThread({ threadId: shared }).catch((e: unknown) => e);
        expect(isThreadStoreError(conflict, 'conflict')).toBe(true);
        sharedAcked.push(...(await writeBatches(writer, shared, `shared-r${round}`, 5)));
        await writer.shutdownThread(shared);
      }

      // Server 2 is killed while its client keeps writing: the flush in flight is never acknowledged.
      const doomed = own[2] as ThreadId;
      let inFlight = '';
      const more: string[] = [];
      const writing = (async () => {
        for (let i = 0; ; i += 1) {
          inFlight = `own2-late-${i}`;
          await c2.appendItems({ threadId: doomed, items: [msg(inFlight)] });
          const flushing = c2.flushThread(doomed);
          // The kill races with this flush: it may or may not commit, and is acknowledged only if it did.
          if (i === 10) void servers[2]?.stop('SIGKILL');
          await flushing;
          more.push(inFlight);
        }
      })().catch((e: unknown) => e);
      const failure = await writing;
      expect(isThreadStoreError(failure), String(failure)).toBe(true);

      // Its thread is taken over by server 0 once the lease expires, and written on.
      await resumeWhenFree(c0, doomed);
      const after = await writeBatches(c0, doomed, 'own2-after', 5);
      await c0.shutdownThread(doomed);
      await c0.shutdownThread(own[0] as ThreadId);
      await c1.shutdownThread(own[1] as ThreadId);

      const messages = async (threadId: ThreadId): Promise<string[]> =>
        (await loadHistoryItems(direct, { threadId }))
          .map((i) => (i.payload as { message?: unknown }).message)
          .filter((m): m is string => typeof m === 'string');
      expect(await messages(own[0] as ThreadId)).toEqual(first[0]);
      expect(await messages(own[1] as ThreadId)).toEqual(first[1]);
      expect(await messages(shared)).toEqual(sharedAcked);
      // The killed server's thread: every acknowledged item once, in order; the one in flight
      // when it died at most once, before the items written after the takeover.
      const got = await messages(doomed);
      const expected = [...(first[2] ?? []), ...more];
      expect(got.slice(0, expected.length)).toEqual(expected);
      const rest = got.slice(expected.length);
      expect(rest.slice(rest.length - after.length)).toEqual(after);
      expect(rest.length - after.length === 0 || (rest.length - after.length === 1 && rest[0] === inFlight)).toBe(true);
      expect(new Set(got).size).toBe(got.length);
    } finally {
      await direct.close();
      for (const c of clients) await c.close().catch(() => undefined);
      for (const s of servers) await s.stop('SIGTERM');
    }
  }, 120_000);
});

describe('one client given every server of the fleet', () => {
  it("fails over: a SIGKILLed server's writer is resumed on another, acknowledged items exactly once, reads go on", async () => {
    const env = cleanEnv();
    const args = ['--store', url, '--lease-duration', String(LEASE_MS), '--log', 'off'];
    const servers: Server[] = [];
    for (let i = 0; i < 3; i += 1) servers.push(await serve(null, args, env));
    const [s0, s1, s2] = servers as [Server, Server, Server];
    // A comma list: calls go to s0 until it fails.
    const client = new RemoteThreadStore({ baseUrl: servers.map((s) => s.url).join(','), failoverWaitMs: 20_000 });
    const direct = await PostgresThreadStore.open({ connectionString: url });
    try {
      const threadId = newThreadId();
      await create(client, threadId);
      await client.appendItems({
        threadId,
        items: [{ type: 'event_msg', payload: { type: 'user_message', message: 'fleet failover thread' } }],
      });
      const acked: string[] = [];
      for (let i = 0; i < 30; i += 1) {
        const texts = [`f${i}-a`, `f${i}-b`];
        await client.appendItems({ threadId, items: texts.map(msg) });
        // The server holding the writer dies between an append and its flush: the appended
        // items lived only in its memory, so the client appends them again on the next server.
        if (i === 10) await s0.stop('SIGKILL');
        // And once with a flush in flight, whose answer never comes.
        const flushing = client.flushThread(threadId);
        if (i === 20) void s1.stop('SIGKILL');
        await flushing;
        acked.push(...texts);
      }
      await client.shutdownThread(threadId);

      const messages = (await loadHistoryItems(direct, { threadId }))
        .map((i) => i.payload as { message?: unknown; type?: unknown })
        .filter((p) => p.type === 'agent_message')
        .map((p) => p.message);
      expect(messages).toEqual(acked);

      // Reads went on through the one server left, and a new client skips the dead ones.
      const page = await client.listThreads({});
      expect(page.items.map((t) => t.threadId)).toContain(threadId);
      const fresh = new RemoteThreadStore({ baseUrl: [s0.url, s1.url, s2.url], retry: { initialDelayMs: 1 } });
      try {
        const read = await fresh.readThread({ threadId, includeHistory: true });
        expect((await loadHistoryItems(fresh, { threadId })).length).toBe((await collect(read.history)).length);
      } finally {
        await fresh.close();
      }
      // The CLI takes the fleet as repeated --endpoint flags.
      const listed = await ok(['threads', 'list', '--endpoint', s0.url, '--endpoint', s1.url, '--endpoint', s2.url], {
        env,
      });
      expect(listed).toContain(threadId.slice(0, 8));
    } finally {
      await direct.close();
      await client.close().catch(() => undefined);
      for (const s of servers) await s.stop('SIGTERM');
    }
  }, 120_000);
});
