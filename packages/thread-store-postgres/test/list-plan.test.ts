import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { normalizeListParams } from '@skein/thread-store-api';
import type { ListThreadsParams, ThreadSortKey } from '@skein/thread-store-api';
import { PostgresThreadStore } from '../src/index.js';
import { filterSql, pageQuery } from '../src/internal/list-sql.js';
import { createTestDatabase, withClient } from './helpers/database.js';
import type { TestDatabase } from './helpers/database.js';

const ROWS = 100_000;
const TENANT = 'big';
let db: TestDatabase;
let store: PostgresThreadStore;

/**
 * ~100k threads in one INSERT … SELECT generate_series (plus a smaller tenant beside them):
 * a spread of creation, update and recency times, three cwds, two providers, a few sources,
 * some archived, some without a preview.
 */
beforeAll(async () => {
  db = await createTestDatabase('listplan');
  store = await PostgresThreadStore.open({ connectionString: db.url, tenant: TENANT });
  await withClient(db.url, async (c) => {
    await c.query(
      `INSERT INTO skein_threads (tenant, thread_id, archived, has_preview, created_ms, updated_ms, recency_ms,
         model_provider, cwd, source_kind, subagent_kind, source_key, name_lc, preview_lc, item_count, thread, state)
       SELECT CASE WHEN g % 10 = 0 THEN 'other' ELSE $1 END, id, g % 17 = 0, g % 23 <> 0,
              c, c + (g % 1000) * 1000, c + (g % 77) * 500,
              CASE WHEN g % 5 = 0 THEN 'azure' ELSE 'openai' END, '/w/' || (g % 3),
              CASE WHEN g % 7 = 0 THEN 'exec' ELSE 'cli' END, NULL,
              CASE WHEN g % 7 = 0 THEN 'exec' ELSE 'cli' END,
              '', 'thread number ' || g, 1,
              json_build_object('threadId', id, 'preview', 'thread number ' || g, 'createdAt', c,
                'updatedAt', c + (g % 1000) * 1000, 'recencyAt', c + (g % 77) * 500, 'archivedAt', NULL)::text,
              '{}'
       FROM (SELECT g, gen_random_uuid()::text AS id, 1700000000000 + g::bigint * 60000 AS c
             FROM generate_series(1, $2::int) AS g) s`,
      [TENANT, ROWS],
    );
    await c.query('ANALYZE skein_threads');
  });
}, 120_000);

afterAll(async () => {
  await store.close();
  await db.drop();
});

/** Every table scanned sequentially in a plan. */
function seqScans(plan: unknown): string[] {
  const out: string[] = [];
  const walk = (node: Record<string, unknown>): void => {
    if (node['Node Type'] === 'Seq Scan') out.push(String(node['Relation Name']));
    for (const child of (node.Plans as Record<string, unknown>[] | undefined) ?? []) walk(child);
  };
  walk((plan as [{ Plan: Record<string, unknown> }])[0].Plan);
  return out;
}

async function explain(params: ListThreadsParams): Promise<{ scans: string[]; text: string }> {
  const p = normalizeListParams(params, 'openai');
  const q = pageQuery(p, 'postgres', params.cursor, (sql) => filterSql(TENANT, p, sql));
  if ('empty' in q) throw new Error('nothing to explain');
  return withClient(db.url, async (c) => {
    const r = await c.query<{ 'QUERY PLAN': unknown }>(`EXPLAIN (FORMAT JSON) ${q.text}`, q.values);
    const plan = r.rows[0]?.['QUERY PLAN'];
    return { scans: seqScans(plan), text: JSON.stringify(plan) };
  });
}

const SORTS: ThreadSortKey[] = ['createdAt', 'updatedAt', 'recencyAt'];

describe(`listThreads on ${ROWS} threads`, () => {
  it.each(SORTS.flatMap((k) => [[k, 'desc'] as const, [k, 'asc'] as const]))(
    'sorted by %s %s: the first page and a cursor page in each direction use an index, never a sequential scan',
    async (sortKey, sortDirection) => {
      const base = { sortKey, sortDirection, pageSize: 50 } as const;
      const first = await store.listThreads(base);
      expect(first.items).toHaveLength(50);
      const second = await store.listThreads({ ...base, cursor: first.nextCursor });
      expect(second.items).toHaveLength(50);
      for (const params of [base, { ...base, cursor: first.nextCursor }, { ...base, cursor: second.backwardsCursor }]) {
        const { scans, text } = await explain(params);
        expect(scans, text).toEqual([]);
        expect(text).toContain(`skein_threads_by_${sortKey.replace('At', '')}`);
      }
      // The page before the second is the first again.
      const back = await store.listThreads({ ...base, cursor: second.backwardsCursor });
      expect(back.items.map((t) => t.threadId)).toEqual(first.items.map((t) => t.threadId));
    },
  );

  it('filters (cwd, providers, sources, archived, name search) still walk an index', async () => {
    const cases: ListThreadsParams[] = [
      { cwdFilters: ['/w/1'] },
      { modelProviders: [] },
      { modelProviders: ['azure'], allowedSources: ['exec'] },
      { archived: true, sortKey: 'updatedAt' },
      { searchTerm: 'number 4242' },
    ];
    for (const params of cases) {
      const { scans, text } = await explain({ ...params, pageSize: 25 });
      expect(scans, `${JSON.stringify(params)}: ${text}`).toEqual([]);
    }
    const found = await store.listThreads({ searchTerm: 'number 42421', modelProviders: [] });
    expect(found.items.map((t) => t.preview)).toEqual(['thread number 42421']);
  });
});
