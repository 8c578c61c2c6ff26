import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  itemPageFromHistory,
  loadHistoryItems,
  newThreadId,
  normalizeListItemsParams,
  normalizeListTurnsParams,
  turnPageFromHistory,
} from '@skein/thread-store-api';
import type {
  ItemPage,
  ListItemsParams,
  ListTurnsParams,
  RolloutItem,
  ThreadId,
  TurnPage,
} from '@skein/thread-store-api';
import { migratePostgres, PostgresThreadStore } from '../src/index.js';
import { createTestDatabase, freshTenant, withClient } from './helpers/database.js';
import type { TestDatabase } from './helpers/database.js';
import { paginatedThread } from './helpers/forks.js';
import { agentMessage, userMessage } from './helpers/threads.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase('turnindex');
});
afterAll(async () => {
  await db.drop();
});

const ev = (payload: Record<string, unknown>): RolloutItem => ({ type: 'event_msg', payload });

/**
 * A legacy history that exercises what the projector does across appends: implicit and explicit
 * turns, a terminal line for an earlier turn, an abort, a rollback of finished turns, a
 * compaction, reasoning lines that merge, response items between them.
 */
function legacyHistory(): RolloutItem[] {
  const reply = (text: string): RolloutItem => ({
    type: 'response_item',
    payload: { type: 'message', role: 'assistant', content: [{ type: 'output_text', text }] },
  });
  return [
    userMessage('an implicit turn'),
    agentMessage('its answer'),
    ev({ type: 'task_started', turn_id: 'T1', started_at: 100 }),
    userMessage('first explicit'),
    ev({ type: 'agent_reasoning', text: 'thinking' }),
    ev({ type: 'agent_reasoning', text: 'more thinking' }),
    reply('raw reply'),
    agentMessage('done with one'),
    ev({ type: 'task_complete', turn_id: 'T1', completed_at: 101, duration_ms: 1000 }),
    ev({ type: 'task_started', turn_id: 'T2' }),
    userMessage('second explicit'),
    ev({ type: 'turn_aborted', turn_id: 'T2' }),
    ev({ type: 'task_started', turn_id: 'T3' }),
    userMessage('third, to be rolled back'),
    ev({ type: 'task_complete', turn_id: 'T3' }),
    // A late terminal line for T1: it fails the finished turn.
    ev({ type: 'task_complete', turn_id: 'T1', error: { message: 'late failure', code: 7 } }),
    ev({ type: 'thread_rolled_back', num_turns: 1 }),
    { type: 'compacted', payload: { message: 'summary' } },
    userMessage('after the rollback'),
    agentMessage('answer after'),
    ev({ type: 'task_started', turn_id: 'T4' }),
    userMessage('still open'),
  ];
}

async function writeInParts(
  store: PostgresThreadStore,
  items: readonly RolloutItem[],
  every: number,
): Promise<ThreadId> {
  const threadId = newThreadId();
  await store.createThread({ threadId, source: { kind: 'cli' }, metadata: { cwd: '/work', modelProvider: 'openai' } });
  for (let i = 0; i < items.length; i += every) {
    await store.appendItems({ threadId, items: items.slice(i, i + every) });
    await store.flushThread(threadId);
  }
  await store.shutdownThread(threadId);
  return threadId;
}

/** Every turn page and item page of a thread, in both directions and every view, following next cursors. */
async function pagesOf(
  threadId: ThreadId,
  pageSize: number,
  turnPage: (p: ListTurnsParams) => Promise<TurnPage>,
  itemPage: (p: ListItemsParams) => Promise<ItemPage>,
): Promise<unknown[]> {
  const out: unknown[] = [];
  for (const sortDirection of ['asc', 'desc'] as const) {
    for (const itemsView of ['notLoaded', 'summary', 'full'] as const) {
      let cursor: string | null = null;
      do {
        const page = await turnPage({ threadId, pageSize, sortDirection, itemsView, cursor });
        out.push(page);
        cursor = page.nextCursor;
      } while (cursor !== null);
    }
    let cursor: string | null = null;
    do {
      const page = await itemPage({ threadId, pageSize, sortDirection, cursor });
      out.push(page);
      cursor = page.nextCursor;
    } while (cursor !== null);
  }
  return out;
}

/** The pages as the store answers them. */
const allPages = (s: PostgresThreadStore, threadId: ThreadId, pageSize: number): Promise<unknown[]> =>
  pagesOf(
    threadId,
    pageSize,
    (p) => s.listTurns(p),
    (p) => s.listItems(p),
  );

/** The same pages computed from the streamed history, as the store answered before its index. */
async function streamedPages(s: PostgresThreadStore, threadId: ThreadId, pageSize: number): Promise<unknown[]> {
  const history = await loadHistoryItems(s, { threadId });
  return pagesOf(
    threadId,
    pageSize,
    (p) => turnPageFromHistory(history, normalizeListTurnsParams(p), 'postgres', false),
    (p) => itemPageFromHistory(history, normalizeListItemsParams(p), 'postgres'),
  );
}

async function withStore<T>(tenant: string, fn: (s: PostgresThreadStore) => Promise<T>, url = db.url): Promise<T> {
  const s = await PostgresThreadStore.open({ connectionString: url, tenant });
  try {
    return await fn(s);
  } finally {
    await s.close();
  }
}

describe('turn index', () => {
  it('pages from the index equal pages of the streamed history, however the items were split into appends', async () => {
    const tenant = freshTenant();
    await withStore(tenant, async (s) => {
      for (const every of [1, 2, 3, 5, 100]) {
        const id = await writeInParts(s, legacyHistory(), every);
        for (const pageSize of [1, 2, 50]) {
          expect(await allPages(s, id, pageSize), `appends of ${every}, pages of ${pageSize}`).toEqual(
            await streamedPages(s, id, pageSize),
          );
        }
      }
      // A paginated thread and forks by reference of it read through the lineage.
      const b = await paginatedThread(s, ['one', 'two', 'three']);
      const f = await paginatedThread(s, ['four'], { of: b, index: 8 });
      const ff = await paginatedThread(s, ['five', 'six'], { of: f, index: f.history.length - 1 });
      for (const t of [b, f, ff]) expect(await allPages(s, t.id, 2)).toEqual(await streamedPages(s, t.id, 2));
      // Every page above came from the index: no thread has rows it has not seen.
      const behind = await withClient(db.url, async (c) => {
        const r = await c.query<{ n: string }>(
          'SELECT count(*) AS n FROM skein_threads WHERE tenant = $1 AND turn_seq IS DISTINCT FROM item_count',
          [tenant],
        );
        return Number(r.rows[0]?.n);
      });
      expect(behind).toBe(0);
    });
  }, 60_000);

  it("a page of a long thread's last turns reads only their rows", async () => {
    const tenant = freshTenant();
    await withStore(tenant, async (s) => {
      const items: RolloutItem[] = [];
      for (let t = 0; t < 500; t++)
        items.push(
          ev({ type: 'task_started', turn_id: `turn-${t}` }),
          userMessage(`question ${t}`),
          agentMessage(`answer ${t}`),
          ev({ type: 'task_complete', turn_id: `turn-${t}` }),
        );
      const id = await writeInParts(s, items, 700);
      const lastTurns = await s.listTurns({ threadId: id, pageSize: 3, itemsView: 'full' });
      const lastItems = await s.listItems({ threadId: id, pageSize: 5, sortDirection: 'desc' });
      const oneTurn = await s.listItems({ threadId: id, turnId: 'turn-498' });
      expect(lastTurns.turns.map((t) => t.turnId)).toEqual(['turn-499', 'turn-498', 'turn-497']);
      // Every row but the last ten turns' becomes unreadable: a read of them would fail. (A page
      // of items reads the turns around it in batches of 8.)
      await withClient(db.url, (c) =>
        c.query(`UPDATE skein_items SET line = 'not json' WHERE tenant = $1 AND thread_id = $2 AND seq < $3`, [
          tenant,
          id,
          (500 - 10) * 4,
        ]),
      );
      await expect(loadHistoryItems(s, { threadId: id })).rejects.toThrow();
      expect(await s.listTurns({ threadId: id, pageSize: 3, itemsView: 'full' })).toEqual(lastTurns);
      expect(await s.listItems({ threadId: id, pageSize: 5, sortDirection: 'desc' })).toEqual(lastItems);
      expect(await s.listItems({ threadId: id, turnId: 'turn-498' })).toEqual(oneTurn);
      // The turns before are there, with their positions, without reading their rows.
      const earlier = await s.listTurns({
        threadId: id,
        pageSize: 3,
        itemsView: 'notLoaded',
        cursor: lastTurns.nextCursor,
      });
      expect(earlier.turns.map((t) => [t.turnId, t.status])).toEqual([
        ['turn-496', 'completed'],
        ['turn-495', 'completed'],
        ['turn-494', 'completed'],
      ]);
      await s.deleteThread({ threadId: id });
      // The window query walks the primary key of skein_turns.
      const plan = await withClient(db.url, async (c) =>
        JSON.stringify(
          (
            await c.query(
              `EXPLAIN (FORMAT JSON) SELECT * FROM skein_turns WHERE tenant = $1 AND thread_id = $2 AND ordinal < $3
               ORDER BY ordinal DESC LIMIT 4`,
              [tenant, id, 1000],
            )
          ).rows[0],
        ),
      );
      expect(plan).toContain('skein_turns_pkey');
    });
  }, 60_000);

  it('the migration builds the index of threads written before it; rows it has not seen are streamed, then indexed', async () => {
    // A database of its own: the migration indexes every thread in it.
    const own = await createTestDatabase('turnmigrate');
    try {
      const tenant = freshTenant();
      const ids = await withStore(
        tenant,
        async (s) => [
          await writeInParts(s, legacyHistory(), 4),
          await writeInParts(s, legacyHistory().slice(0, 9), 100),
        ],
        own.url,
      );
      const turnRows = (): Promise<unknown[]> =>
        withClient(
          own.url,
          async (c) =>
            (
              await c.query(
                `SELECT t.*, h.turn_state, h.turn_seq FROM skein_turns t JOIN skein_threads h USING (tenant, thread_id)
               WHERE t.tenant = $1 ORDER BY t.thread_id, t.ordinal`,
                [tenant],
              )
            ).rows,
        );
      const written = await turnRows();
      expect(written.length).toBeGreaterThan(4);
      // The database as the previous schema left it.
      await withClient(own.url, (c) =>
        c.query(`DROP TABLE skein_spans; DROP TABLE skein_segments; ALTER TABLE skein_threads DROP COLUMN live_seq;
               DROP TABLE skein_turns; ALTER TABLE skein_threads DROP COLUMN turn_state, DROP COLUMN turn_seq;
               DELETE FROM skein_schema_migrations WHERE version >= 3`),
      );
      expect((await migratePostgres(own.url)).applied.map((m) => m.version)).toEqual([3, 4]);
      expect(await turnRows()).toEqual(written);

      // A server without the index appends a row: readers stream, the next append indexes again.
      const [id] = ids as [ThreadId];
      await withClient(own.url, (c) =>
        c.query(
          `WITH n AS (UPDATE skein_threads SET item_count = item_count + 1 WHERE tenant = $1 AND thread_id = $2
                    RETURNING item_count - 1 AS seq)
         INSERT INTO skein_items (tenant, thread_id, seq, line) SELECT $1, $2, n.seq, $3 FROM n`,
          [tenant, id, JSON.stringify(agentMessage('written by an older server'))],
        ),
      );
      await withStore(
        tenant,
        async (s) => {
          const streamed = await streamedPages(s, id, 3);
          expect(await allPages(s, id, 3)).toEqual(streamed);
          await s.resumeThread({ threadId: id });
          await s.appendItems({ threadId: id, items: [ev({ type: 'task_complete', turn_id: 'T4' })] });
          await s.shutdownThread(id);
          const seen = await withClient(own.url, async (c) => {
            const r = await c.query<{ turn_seq: string; item_count: string }>(
              'SELECT turn_seq, item_count FROM skein_threads WHERE tenant = $1 AND thread_id = $2',
              [tenant, id],
            );
            return r.rows[0];
          });
          expect(seen?.turn_seq).toBe(seen?.item_count);
          expect(await allPages(s, id, 3)).toEqual(await streamedPages(s, id, 3));
        },
        own.url,
      );
    } finally {
      await own.drop();
    }
  }, 60_000);
});
