import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadHistoryItems } from '@skein/thread-store-api';
import { migratePostgres, PostgresThreadStore } from '../src/index.js';
import { spanMatchesSql } from '../src/internal/content-sql.js';
import { createTestDatabase, freshTenant, insertFillerThreads, withClient } from './helpers/database.js';
import type { TestDatabase } from './helpers/database.js';
import { planOf, searchPagePlan } from './helpers/plans.js';
import { paginatedThread } from './helpers/forks.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase('forksearch');
});
afterAll(async () => {
  await db.drop();
});

const hitIds = async (s: PostgresThreadStore, searchTerm: string): Promise<string[]> =>
  (await s.searchThreads({ searchTerm, pageSize: 100 })).items.map((h) => h.thread.threadId).sort();

interface BaseColumns {
  thread_id: string;
  base_thread_id: string | null;
  base_end_ordinal: string | null;
  base_end_seq: string | null;
}

const baseColumns = (tenant: string): Promise<BaseColumns[]> =>
  withClient(
    db.url,
    async (c) =>
      (
        await c.query<BaseColumns>(
          `SELECT thread_id, base_thread_id, base_end_ordinal, base_end_seq FROM skein_threads
         WHERE tenant = $1 ORDER BY thread_id`,
          [tenant],
        )
      ).rows,
  );

describe('content search of forks by reference', () => {
  it('the migration fills the base of forks written before it, as a new fork records it', async () => {
    const tenant = freshTenant();
    let s = await PostgresThreadStore.open({ connectionString: db.url, tenant });
    const b = await paginatedThread(s, ['alpha kestrel', 'beta ocelot']);
    const f = await paginatedThread(s, ['gamma heron'], { of: b, index: 4 });
    const ff = await paginatedThread(s, ['delta lynx'], { of: f, index: f.history.length - 1 });
    await s.close();
    const written = await baseColumns(tenant);
    const row = (id: string): BaseColumns | undefined => written.find((r) => r.thread_id === id);
    // The fork inherits the base's session_meta and first turn (5 rows); the fork of the fork
    // all 5 rows of the fork.
    expect(row(f.id)).toEqual({ thread_id: f.id, base_thread_id: b.id, base_end_ordinal: '5', base_end_seq: '5' });
    expect(row(ff.id)).toEqual({ thread_id: ff.id, base_thread_id: f.id, base_end_ordinal: '10', base_end_seq: '5' });
    expect(row(b.id)?.base_thread_id).toBeNull();

    // The database as schema version 1 left it: no base columns (nor what later versions add).
    await withClient(db.url, async (c) => {
      await c.query(
        `DROP TABLE skein_spans; DROP TABLE skein_segments; ALTER TABLE skein_threads DROP COLUMN live_seq;
         DROP TABLE skein_turns; ALTER TABLE skein_threads DROP COLUMN turn_state, DROP COLUMN turn_seq;
         ALTER TABLE skein_threads DROP COLUMN base_thread_id, DROP COLUMN base_end_ordinal, DROP COLUMN base_end_seq;
         DROP FUNCTION skein_base_end_seq(text, text, bigint);
         DELETE FROM skein_schema_migrations WHERE version >= 2`,
      );
    });
    const report = await migratePostgres(db.url);
    expect(report.applied.map((m) => m.version)).toEqual([2, 3, 4]);
    expect(await baseColumns(tenant)).toEqual(written);

    s = await PostgresThreadStore.open({ connectionString: db.url, tenant });
    try {
      expect(await hitIds(s, 'kestrel')).toEqual([b.id, f.id, ff.id].sort());
      expect(await hitIds(s, 'ocelot')).toEqual([b.id]);
      expect(await hitIds(s, 'heron')).toEqual([f.id, ff.id].sort());
    } finally {
      await s.close();
    }
  });

  it('a fork whose base was deleted inherits nothing, in search as in its history', async () => {
    const s = await PostgresThreadStore.open({ connectionString: db.url, tenant: freshTenant() });
    try {
      const b = await paginatedThread(s, ['alpha kestrel']);
      const f = await paginatedThread(s, ['gamma heron'], { of: b, index: 4 });
      const ff = await paginatedThread(s, ['delta lynx'], { of: f, index: f.history.length - 1 });
      expect(await hitIds(s, 'kestrel')).toEqual([b.id, f.id, ff.id].sort());
      await s.deleteThread({ threadId: f.id });
      // The fork of the fork resolves nothing through the missing link, though its root is there.
      expect(await loadHistoryItems(s, { threadId: ff.id })).toHaveLength(5);
      expect(await hitIds(s, 'kestrel')).toEqual([b.id]);
      expect(await hitIds(s, 'heron')).toEqual([]);
      expect(await hitIds(s, 'lynx')).toEqual([ff.id]);
    } finally {
      await s.close();
    }
  });

  it('search of a term stays on the pg_trgm index with forks among many threads', async () => {
    const tenant = freshTenant('big');
    const s = await PostgresThreadStore.open({ connectionString: db.url, tenant });
    try {
      const b = await paginatedThread(s, ['the zanzibar marmoset escaped', 'then the okapi']);
      const f = await paginatedThread(s, ['a fork asks'], { of: b, index: 4 });
      await withClient(db.url, async (c) => {
        // 1,000 threads with 100 messages each beside them, 100 of them forks of the base.
        await insertFillerThreads(c, tenant);
        await c.query(
          `UPDATE skein_threads SET base_thread_id = $2, base_end_ordinal = 5, base_end_seq = 5
           WHERE tenant = $1 AND thread_id IN (SELECT thread_id FROM skein_threads WHERE tenant = $1 AND preview_lc = 'filler' LIMIT 100)`,
          [tenant, b.id],
        );
        // Their spans, as a fork's are written: the base's first 5 rows, then their own rows; the
        // other filler threads as forks of one another (50 rows of another filler thread each).
        await c.query(
          `INSERT INTO skein_spans (tenant, thread_id, k, src_thread_id, lo_seq, hi_seq)
           SELECT $1, f.thread_id, x.k,
                  CASE WHEN x.k = 2 THEN f.thread_id WHEN f.base_thread_id = $2 THEN $2 ELSE f.other END,
                  0, CASE WHEN x.k = 1 THEN CASE WHEN f.base_thread_id = $2 THEN 5 ELSE 50 END END
           FROM (SELECT thread_id, base_thread_id, lag(thread_id, 1, thread_id) OVER (ORDER BY thread_id) AS other
                 FROM skein_threads WHERE tenant = $1 AND preview_lc = 'filler') f
           CROSS JOIN (VALUES (1), (2)) AS x(k)`,
          [tenant, b.id],
        );
        await c.query('ANALYZE skein_spans');
        await c.query('ANALYZE skein_threads');
        expect(await searchPagePlan(c, tenant, 'marmoset')).toContain('skein_items_message_trgm');
        // The forks that inherit a match: the matching rows from the trigram index, each joined to
        // the spans that cover it by the spans' source index, never by a scan of the items.
        const inheritedPlan = await planOf(c, spanMatchesSql(tenant, 'marmoset'));
        expect(inheritedPlan).toContain('skein_items_message_trgm');
        expect(inheritedPlan).toContain('skein_spans_by_src');
        expect(inheritedPlan).not.toContain('Seq Scan');
        // The page with those forks: the trigram index still answers the threads' own messages.
        const forks = await c.query<{ thread_id: string }>(
          'SELECT thread_id FROM skein_threads WHERE tenant = $1 AND base_thread_id = $2',
          [tenant, b.id],
        );
        const withForks = await searchPagePlan(
          c,
          tenant,
          'marmoset',
          forks.rows.map((r) => r.thread_id),
        );
        expect(withForks).toContain('skein_items_message_trgm');
      });
      // The 100 forks made above inherit the base's first turn, not its second.
      const marmoset = await s.searchThreads({ searchTerm: 'MARMOSET', pageSize: 1000 });
      expect(marmoset.items).toHaveLength(102);
      expect(marmoset.items.map((h) => h.thread.threadId)).toContain(f.id);
      expect(marmoset.items.every((h) => h.snippet === 'the zanzibar marmoset escaped')).toBe(true);
      expect(await hitIds(s, 'okapi')).toEqual([b.id]);
    } finally {
      await s.close();
    }
  }, 60_000);
});
