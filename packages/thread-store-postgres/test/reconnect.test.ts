import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isThreadStoreError, loadHistoryItems, newThreadId } from '@skein/thread-store-api';
import type { ThreadId } from '@skein/thread-store-api';
import { PostgresThreadStore } from '../src/index.js';
import { createTestDatabase, withClient } from './helpers/database.js';
import type { TestDatabase } from './helpers/database.js';
import { agentMessage, seed, userMessage } from './helpers/threads.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase('reconnect');
});
afterAll(async () => {
  await db.drop();
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * What a database restart does to the store's connections, without restarting the shared
 * cluster: every backend of this test's database is terminated, and we wait until they are gone.
 */
async function terminateBackends(when?: string): Promise<number> {
  return withClient(db.url, async (c) => {
    if (when !== undefined) {
      for (let i = 0; i < 400; i += 1) {
        const r = await c.query(
          `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' AND query LIKE $1`,
          [when],
        );
        if ((r.rowCount ?? 0) > 0) break;
        await sleep(5);
      }
    }
    const r = await c.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
       WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'`,
    );
    for (let i = 0; i < 200; i += 1) {
      const left = await c.query(
        `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()
         AND backend_type = 'client backend'`,
      );
      if ((left.rowCount ?? 0) === 0) break;
      await sleep(10);
    }
    return r.rowCount ?? 0;
  });
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  const err: unknown = await p.then(
    () => new Error('resolved'),
    (e: unknown) => e,
  );
  return isThreadStoreError(err) ? err.code : `not a store error: ${String(err)}`;
}

const messages = async (s: PostgresThreadStore, threadId: ThreadId): Promise<string[]> =>
  (await loadHistoryItems(s, { threadId }))
    .map((i) => (i.payload as { message?: unknown }).message)
    .filter((m): m is string => typeof m === 'string');

describe('connections lost mid-run (pg_terminate_backend)', () => {
  it('an in-flight history read fails with unavailable; later calls work; nothing acknowledged is lost', async () => {
    const store = await PostgresThreadStore.open({ connectionString: db.url, tenant: 'read', poolSize: 4 });
    try {
      const long = await seed(store, [
        userMessage('long'),
        ...Array.from({ length: 1000 }, (_, i) => agentMessage(`line ${i}`)),
      ]);
      const live = await seed(store, [userMessage('ack 1')], { keepLive: true });
      await store.appendItems({ threadId: live, items: [agentMessage('buffered 2')] });

      const reading = store.loadHistory({ threadId: long })[Symbol.asyncIterator]();
      expect((await reading.next()).done).toBe(false);
      expect(await terminateBackends()).toBeGreaterThan(0);
      // The cursor's connection is gone: the read fails as soon as it needs the next batch.
      const failed = codeOf(
        (async () => {
          for (;;) if ((await reading.next()).done === true) return;
        })(),
      );
      expect(await failed).toBe('unavailable');

      // Idle connections died too; the pool replaces them and every call works again.
      expect((await store.listThreads({})).items.map((t) => t.threadId).sort()).toEqual([long, live].sort());
      expect((await store.readThread({ threadId: live })).preview).toBe('ack 1');
      await store.flushThread(live);
      await store.shutdownThread(live);
      expect(await messages(store, live)).toEqual(['ack 1', 'buffered 2']);
      expect(await messages(store, long)).toEqual(['long', ...Array.from({ length: 1000 }, (_, i) => `line ${i}`)]);
    } finally {
      await store.close();
    }
  }, 60_000);

  it('a flush cut off mid-transaction is unavailable, commits nothing, and succeeds when called again', async () => {
    const store = await PostgresThreadStore.open({ connectionString: db.url, tenant: 'write', poolSize: 4 });
    try {
      const threadId = newThreadId();
      await store.createThread({ threadId, source: { kind: 'cli' }, metadata: { cwd: '/', modelProvider: 'openai' } });
      await store.appendItems({ threadId, items: [userMessage('acknowledged')] });
      await store.flushThread(threadId);
      // A batch large enough that its INSERTs are still running when the backend is killed.
      const batch = Array.from({ length: 30_000 }, (_, i) => agentMessage(`${i} ${'x'.repeat(900)}`));
      await store.appendItems({ threadId, items: batch });
      const flushing = codeOf(store.flushThread(threadId));
      await terminateBackends('INSERT INTO skein_items%');
      expect(await flushing).toBe('unavailable');
      expect(await messages(store, threadId)).toEqual(['acknowledged']);

      await store.flushThread(threadId);
      await store.shutdownThread(threadId);
      const after = await messages(store, threadId);
      expect(after).toHaveLength(30_001);
      expect(after[0]).toBe('acknowledged');
      expect(after.slice(1).map((m) => Number(m.split(' ')[0]))).toEqual(batch.map((_, i) => i));
    } finally {
      await store.close();
    }
  }, 120_000);
});
