import { Params, likeContains } from './list-sql.js';

/**
 * Content search as SQL. A thread matches when a user or agent message of its history contains
 * the term: one of its own rows (the trigram GIN index on message_lc answers terms of 3+
 * characters, shorter ones scan), or, for a thread with spans (a fork by reference, a reverted
 * thread), a row its spans cover. Those are found first, in a statement of their own, so the page statement keeps the plain
 * form the planner answers best (for a common term it walks the listing index and stops after a
 * page; for a rare one it reads the trigram index once).
 */

export interface PlainQuery {
  text: string;
  values: unknown[];
}

/**
 * The threads with spans (forks by reference, reverted threads: see spans.ts) whose history
 * holds a message containing the term, each with the match that comes first in its history (row
 * `origin_seq` of thread `origin_id`): a row matches a thread when one of the thread's spans
 * covers it. Then, with `excluded` true and no origin, the reverted threads that have a matching
 * row of their own but none in their history (a reverted message): the page leaves them out,
 * since its plain condition on the threads' own rows would find them.
 */
export function spanMatchesSql(tenant: string, lowercasedTerm: string): PlainQuery {
  const params = new Params();
  const t = params.add(tenant);
  const like = params.add(likeContains(lowercasedTerm));
  return {
    text:
      `WITH hits AS (` +
      `SELECT DISTINCT ON (s.thread_id) s.thread_id, i.thread_id AS origin_id, i.seq AS origin_seq ` +
      `FROM skein_items i CROSS JOIN LATERAL (` +
      // Each matching row looks up the spans that cover it on the spans' source index (OFFSET 0
      // keeps it a lookup per row rather than a scan of all spans).
      `SELECT s.thread_id, s.k FROM skein_spans s WHERE s.tenant = ${t} AND s.src_thread_id = i.thread_id ` +
      `AND s.lo_seq <= i.seq AND (s.hi_seq IS NULL OR i.seq < s.hi_seq) OFFSET 0) s ` +
      `WHERE i.tenant = ${t} AND i.message_lc LIKE ${like} ` +
      `ORDER BY s.thread_id, s.k, i.seq) ` +
      `SELECT thread_id, origin_id, origin_seq, false AS excluded FROM hits ` +
      `UNION ALL ` +
      `SELECT DISTINCT i.thread_id, NULL::text, NULL::bigint, true FROM skein_items i ` +
      `JOIN skein_threads r ON r.tenant = ${t} AND r.thread_id = i.thread_id ` +
      `WHERE i.tenant = ${t} AND i.message_lc LIKE ${like} AND i.seq < r.live_seq ` +
      `AND i.thread_id IN (SELECT g.thread_id FROM skein_segments g WHERE g.tenant = ${t}) ` +
      `AND i.thread_id NOT IN (SELECT h.thread_id FROM hits h)`,
    values: params.values,
  };
}

/**
 * The content-search condition over `skein_threads t`: threads with a message of their own
 * containing the term, or among `inherited`, and not among `excluded` (see spanMatchesSql).
 * Uncorrelated (the tenant is a parameter, not t.tenant).
 */
export function contentFilter(
  tenant: string,
  lowercasedTerm: string,
  params: Params,
  inherited: readonly string[] = [],
  excluded: readonly string[] = [],
): string {
  const own = `SELECT i.thread_id FROM skein_items i WHERE i.tenant = ${params.add(tenant)} AND i.message_lc LIKE ${params.add(likeContains(lowercasedTerm))}`;
  const not = excluded.length === 0 ? '' : ` AND NOT (t.thread_id = ANY(${params.add(excluded)}::text[]))`;
  if (inherited.length === 0) return `t.thread_id IN (${own})${not}`;
  return `t.thread_id IN (${own} UNION ALL SELECT unnest(${params.add(inherited)}::text[]))${not}`;
}

/** The first message of each of `threadIds` that contains the term, among its own rows. */
export function firstOwnMatchesSql(tenant: string, lowercasedTerm: string, threadIds: readonly string[]): PlainQuery {
  return {
    text: `SELECT DISTINCT ON (thread_id) thread_id, line FROM skein_items
           WHERE tenant = $1 AND thread_id = ANY($2::text[]) AND message_lc LIKE $3
           ORDER BY thread_id, seq`,
    values: [tenant, threadIds, likeContains(lowercasedTerm)],
  };
}

/** The lines of rows given as (thread, seq), with their index in `rows` (`k`, from 1). */
export function linesSql(tenant: string, rows: readonly { threadId: string; seq: number }[]): PlainQuery {
  return {
    text: `SELECT x.k, i.line FROM unnest($2::text[], $3::bigint[]) WITH ORDINALITY AS x(tid, seq, k)
           JOIN skein_items i ON i.tenant = $1 AND i.thread_id = x.tid AND i.seq = x.seq`,
    values: [tenant, rows.map((r) => r.threadId), rows.map((r) => r.seq)],
  };
}
