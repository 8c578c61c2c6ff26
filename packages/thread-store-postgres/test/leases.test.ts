import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isThreadStoreError, loadHistoryItems, newThreadId } from '@skein/thread-store-api';
import type { ThreadId } from '@skein/thread-store-api';
import { PostgresThreadStore } from '../src/index.js';
import type { PostgresThreadStoreOptions } from '../src/index.js';
import { createTestDatabase, freshTenant, withClient } from './helpers/database.js';
import type { TestDatabase } from './helpers/database.js';
import { agentMessage, seed, userMessage } from './helpers/threads.js';

let db: TestDatabase;
let open: PostgresThreadStore[] = [];
beforeAll(async () => {
  db = await createTestDatabase('leases');
});
afterEach(async () => {
  for (const s of open) await s.close().catch(() => undefined);
  open = [];
});
afterAll(async () => {
  await db.drop();
});

async function server(tenant: string, options: Partial<PostgresThreadStoreOptions> = {}): Promise<PostgresThreadStore> {
  const s = await PostgresThreadStore.open({ connectionString: db.url, tenant, ...options });
  open.push(s);
  return s;
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  const err: unknown = await p.then(
    () => new Error('resolved'),
    (e: unknown) => e,
  );
  return isThreadStoreError(err) ? err.code : `not a store error: ${String(err)}`;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Tries `resumeThread` until it stops being a conflict (the lease expired), for at most 10 s. */
async function resumeWhenFree(s: PostgresThreadStore, threadId: ThreadId): Promise<number> {
  for (let tries = 1; tries <= 200; tries += 1) {
    try {
      await s.resumeThread({ threadId });
      return tries;
    } catch (e) {
      if (!isThreadStoreError(e, 'conflict')) throw e;
      await sleep(50);
    }
  }
  throw new Error('the lease never expired');
}

const messages = async (s: PostgresThreadStore, threadId: ThreadId): Promise<string[]> =>
  (await loadHistoryItems(s, { threadId }))
    .map((i) => (i.payload as { message?: unknown }).message)
    .filter((m): m is string => typeof m === 'string');

describe('leases', () => {
  it('a live writer renews its lease: another server stays locked out long past the lease duration', async () => {
    const tenant = freshTenant();
    const a = await server(tenant, { leaseDurationMs: 600, leaseRenewIntervalMs: 100 });
    const b = await server(tenant, { leaseDurationMs: 600 });
    const id = await seed(a, [userMessage('held by a')], { keepLive: true });
    for (let i = 0; i < 6; i += 1) {
      await sleep(250); // 1.5 s in all: two and a half lease durations
      expect(await codeOf(b.resumeThread({ threadId: id }))).toBe('conflict');
      expect(await codeOf(b.archiveThread({ threadId: id }))).toBe('conflict');
      expect(await codeOf(b.deleteThread({ threadId: id }))).toBe('conflict');
    }
    await a.shutdownThread(id);
    await b.resumeThread({ threadId: id });
    await b.shutdownThread(id);
  });

  it("a dead server's thread is taken over after its lease expires; the zombie's late append is rejected", async () => {
    const tenant = freshTenant();
    // Renewal far apart: A behaves like a process that froze right after its last flush.
    const a = await server(tenant, { leaseDurationMs: 400, leaseRenewIntervalMs: 3_600_000 });
    const b = await server(tenant, { leaseDurationMs: 400 });
    const threadId = newThreadId();
    await a.createThread({ threadId, source: { kind: 'cli' }, metadata: { cwd: '/', modelProvider: 'openai' } });
    await a.appendItems({ threadId, items: [userMessage('a1')] });
    await a.flushThread(threadId);
    expect(await codeOf(b.resumeThread({ threadId }))).toBe('conflict');

    await resumeWhenFree(b, threadId);
    await b.appendItems({ threadId, items: [agentMessage('b1')] });
    await b.flushThread(threadId);

    // The zombie wakes up and writes: its token is stale, so nothing of it lands.
    await a.appendItems({ threadId, items: [agentMessage('zombie')] });
    expect(await codeOf(a.flushThread(threadId))).toBe('conflict');
    expect(await codeOf(a.appendItems({ threadId, items: [agentMessage('zombie 2')] }))).toBe('conflict');
    expect(await codeOf(a.shutdownThread(threadId))).toBe('conflict');
    // Shut down all the same: A has no writer for it any more.
    expect(await codeOf(a.flushThread(threadId))).toBe('not_found');

    await b.appendItems({ threadId, items: [agentMessage('b2')] });
    await b.shutdownThread(threadId);
    expect(await messages(b, threadId)).toEqual(['a1', 'b1', 'b2']);
  });

  it('tokens only grow: each takeover fences with a newer token', async () => {
    const tenant = freshTenant();
    const a = await server(tenant, { leaseDurationMs: 200, leaseRenewIntervalMs: 3_600_000 });
    const b = await server(tenant, { leaseDurationMs: 200, leaseRenewIntervalMs: 3_600_000 });
    const id = await seed(a, [userMessage('x')], { keepLive: true });
    const token = async (): Promise<bigint> =>
      withClient(db.url, async (c) =>
        BigInt(
          (
            await c.query<{ token: string }>('SELECT token FROM skein_leases WHERE tenant = $1 AND thread_id = $2', [
              tenant,
              id,
            ])
          ).rows[0]?.token ?? '0',
        ),
      );
    const first = await token();
    await resumeWhenFree(b, id);
    const second = await token();
    expect(second > first).toBe(true);
    await b.discardThread(id);
    await a.discardThread(id);
  });

  it('flush resolves after the commit: another connection sees the items at once', async () => {
    const tenant = freshTenant();
    const a = await server(tenant);
    const id = await seed(a, [userMessage('first')], { keepLive: true });
    await a.appendItems({ threadId: id, items: [agentMessage('committed before flush returns')] });
    await a.flushThread(id);
    const rows = await withClient(db.url, async (c) => {
      const r = await c.query<{ n: string }>(
        'SELECT count(*) AS n FROM skein_items WHERE tenant = $1 AND thread_id = $2',
        [tenant, id],
      );
      return r.rows[0]?.n;
    });
    expect(rows).toBe('3');
    await a.shutdownThread(id);
  });

  it('shutdown and discard release the lease row; an empty thread leaves no row behind', async () => {
    const tenant = freshTenant();
    const a = await server(tenant);
    const id = await seed(a, [userMessage('x')], { keepLive: true });
    const empty = newThreadId();
    await a.createThread({ threadId: empty, source: { kind: 'cli' }, metadata: { cwd: '/', modelProvider: 'openai' } });
    const leaseRows = async (): Promise<number> =>
      withClient(db.url, async (c) =>
        Number((await c.query('SELECT count(*) AS n FROM skein_leases WHERE tenant = $1', [tenant])).rows[0].n),
      );
    expect(await leaseRows()).toBe(2);
    await a.shutdownThread(id);
    await a.shutdownThread(empty);
    expect(await leaseRows()).toBe(0);
  });
});
