import { normalizeListParams } from '@skein/thread-store-api';
import type pg from 'pg';
import { contentFilter } from '../../src/internal/content-sql.js';
import { filterSql, pageQuery } from '../../src/internal/list-sql.js';

/** EXPLAIN (FORMAT JSON) of a statement, as one string to look for index names in. */
export async function planOf(c: pg.Client, q: { text: string; values: unknown[] }): Promise<string> {
  return JSON.stringify((await c.query(`EXPLAIN (FORMAT JSON) ${q.text}`, q.values)).rows[0]);
}

/** The plan of the first page of a content search of `term` (lowercase) in `tenant`, with `inherited` forks. */
export async function searchPagePlan(
  c: pg.Client,
  tenant: string,
  term: string,
  inherited: readonly string[] = [],
): Promise<string> {
  const p = { ...normalizeListParams({ searchTerm: term }, 'openai'), searchTerm: null };
  const q = pageQuery(p, 'postgres', null, (sql) =>
    filterSql(tenant, p, sql, contentFilter(tenant, term, sql, inherited)),
  );
  if ('empty' in q) throw new Error('no statement');
  return planOf(c, q);
}
