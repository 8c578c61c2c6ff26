import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadHistoryItems, newThreadId } from '@skein/thread-store-api';
import type { RolloutItem } from '@skein/thread-store-api';
import { PostgresThreadStore } from '../src/index.js';
import { createTestDatabase, freshTenant, withClient } from './helpers/database.js';
import type { TestDatabase } from './helpers/database.js';
import { seed, userMessage } from './helpers/threads.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase('items');
});
afterAll(async () => {
  await db.drop();
});

/** Items whose JSON a jsonb column would not give back as written. */
const awkward: RolloutItem[] = [
  // Key order that is not alphabetical, and duplicate-looking keys at different depths.
  {
    timestamp: '2026-01-02T03:04:05.678Z',
    type: 'response_item',
    payload: { z: 1, type: 'message', a: { y: 2, b: 3 } },
  },
  // Numbers jsonb would rewrite: the largest safe integer, exponents, negative zero.
  {
    timestamp: '2026-01-02T03:04:05.679Z',
    type: 'token_usage_record',
    payload: { big: 9007199254740991, tiny: 1e-7, neg: -0 },
  },
  // Unicode: astral characters, combining marks, a NUL, a lone surrogate, line separators.
  {
    timestamp: '2026-01-02T03:04:05.680Z',
    type: 'event_msg',
    payload: { type: 'agent_message', message: 'emoji 🧶 e\u0301 nul\u0000 lone\ud800 ls\u2028 ps\u2029 tab\t' },
  },
  // Unknown line types and extra top-level fields survive.
  {
    timestamp: '2026-01-02T03:04:05.681Z',
    type: 'world_state',
    payload: [1, 'two', null, { three: true }],
    extra: 'kept',
  },
];

describe('items', () => {
  it('round-trip byte for byte: the stored line is the JSON that was appended, and reads back the same', async () => {
    const store = await PostgresThreadStore.open({ connectionString: db.url, tenant: freshTenant() });
    try {
      const id = await seed(store, awkward);
      const history = await loadHistoryItems(store, { threadId: id });
      expect(history.slice(1).map((i) => JSON.stringify(i))).toEqual(awkward.map((i) => JSON.stringify(i)));
      const lines = await withClient(db.url, async (c) =>
        (
          await c.query<{ line: string }>(
            'SELECT line FROM skein_items WHERE tenant = $1 AND thread_id = $2 ORDER BY seq',
            [store.tenant, id],
          )
        ).rows.map((r) => r.line),
      );
      expect(lines.slice(1)).toEqual(awkward.map((i) => JSON.stringify(i)));
      expect(lines[0]).toBe(JSON.stringify(history[0]));
      // Reopened, through a new pool: the same bytes.
      const again = await PostgresThreadStore.open({ connectionString: db.url, tenant: store.tenant });
      expect((await loadHistoryItems(again, { threadId: id })).map((i) => JSON.stringify(i))).toEqual(
        history.map((i) => JSON.stringify(i)),
      );
      await again.close();
    } finally {
      await store.close();
    }
  });

  it('a NUL in a message or a name is stored, listed and searched without breaking the row', async () => {
    const store = await PostgresThreadStore.open({ connectionString: db.url, tenant: freshTenant() });
    try {
      const id = await seed(store, [userMessage('before\u0000after needle')]);
      expect((await store.readThread({ threadId: id })).preview).toBe('before\u0000after needle');
      await store.updateThreadMetadata({ threadId: id, patch: { name: 'name\u0000with nul' } });
      expect((await store.readThread({ threadId: id })).name).toBe('name\u0000with nul');
      expect((await store.listThreads({ searchTerm: 'with nul' })).items.map((t) => t.threadId)).toEqual([id]);
      const hits = await store.searchThreads({ searchTerm: 'needle' });
      expect(hits.items.map((h) => h.thread.threadId)).toEqual([id]);
      expect(hits.items[0]?.snippet).toContain('needle');
    } finally {
      await store.close();
    }
  });

  it('appends of many flushes keep one order, and the item count matches the rows', async () => {
    const store = await PostgresThreadStore.open({ connectionString: db.url, tenant: freshTenant() });
    try {
      const threadId = newThreadId();
      await store.createThread({ threadId, source: { kind: 'cli' }, metadata: { cwd: '/', modelProvider: 'openai' } });
      for (let batch = 0; batch < 5; batch += 1) {
        await store.appendItems({
          threadId,
          items: Array.from({ length: 700 }, (_, i) => userMessage(`m ${batch * 700 + i}`)),
        });
        await store.flushThread(threadId);
      }
      await store.shutdownThread(threadId);
      const history = await loadHistoryItems(store, { threadId });
      expect(history.slice(1).map((i) => (i.payload as { message: string }).message)).toEqual(
        Array.from({ length: 3500 }, (_, i) => `m ${i}`),
      );
      const counts = await withClient(
        db.url,
        async (c) =>
          (
            await c.query<{ rows: string; item_count: string }>(
              `SELECT (SELECT count(*) FROM skein_items i WHERE i.tenant = t.tenant AND i.thread_id = t.thread_id) AS rows,
                    t.item_count FROM skein_threads t WHERE t.tenant = $1 AND t.thread_id = $2`,
              [store.tenant, threadId],
            )
          ).rows[0],
      );
      expect(counts).toEqual({ rows: '3501', item_count: '3501' });
    } finally {
      await store.close();
    }
  });
});
