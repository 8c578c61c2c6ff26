import { MAX_HISTORY_BASE_DEPTH } from '@skein/thread-store-api';
import { Params, likeContains } from './list-sql.js';

/**
 * Content search as SQL. A thread matches when a user or agent message of its history contains
 * the term: one of its own rows (the trigram GIN index on message_lc answers terms of 3+
 * characters, shorter ones scan), or, for a fork by reference, a row it inherits. Inherited
 * matches are found first, in a statement of their own, so the page statement keeps the plain
 * form the planner answers best (for a common term it walks the listing index and stops after a
 * page; for a rare one it reads the trigram index once).
 */

export interface PlainQuery {
  text: string;
  values: unknown[];
}

/**
 * The forks by reference that inherit a message containing the term, each with the inherited
 * match that comes first in its history (row `origin_seq` of thread `origin_id`, from furthest up
 * its chain of bases). A fork inherits its base's rows below its `base_end_seq` and everything its
 * base inherited, up to MAX_HISTORY_BASE_DEPTH bases deep, as readers resolve its history. Only
 * threads some fork is based on are searched for the matches it starts from.
 */
export function inheritedMatchesSql(tenant: string, lowercasedTerm: string): PlainQuery {
  const params = new Params();
  const t = params.add(tenant);
  const like = params.add(likeContains(lowercasedTerm));
  return {
    text:
      `WITH RECURSIVE own AS (` +
      `SELECT i.thread_id, min(i.seq) AS seq FROM skein_items i WHERE i.tenant = ${t} AND i.message_lc LIKE ${like} ` +
      `AND i.thread_id IN (SELECT f.base_thread_id FROM skein_threads f WHERE f.tenant = ${t} AND f.base_thread_id IS NOT NULL) ` +
      `GROUP BY i.thread_id), ` +
      `reach (thread_id, origin_id, origin_seq, depth) AS (` +
      `SELECT thread_id, thread_id, seq, 0 FROM own UNION ALL ` +
      `SELECT f.thread_id, r.origin_id, r.origin_seq, r.depth + 1 FROM reach r ` +
      `JOIN skein_threads f ON f.tenant = ${t} AND f.base_thread_id = r.thread_id ` +
      `WHERE r.depth < ${MAX_HISTORY_BASE_DEPTH} AND (r.depth > 0 OR f.base_end_seq IS NULL OR r.origin_seq < f.base_end_seq)) ` +
      `SELECT DISTINCT ON (thread_id) thread_id, origin_id, origin_seq FROM reach WHERE depth > 0 ORDER BY thread_id, depth DESC`,
    values: params.values,
  };
}

/**
 * The content-search condition over `skein_threads t`: threads with a message of their own
 * containing the term, or among `inherited` (see inheritedMatchesSql). Uncorrelated (the tenant
 * is a parameter, not t.tenant).
 */
export function contentFilter(
  tenant: string,
  lowercasedTerm: string,
  params: Params,
  inherited: readonly string[] = [],
): string {
  const own = `SELECT i.thread_id FROM skein_items i WHERE i.tenant = ${params.add(tenant)} AND i.message_lc LIKE ${params.add(likeContains(lowercasedTerm))}`;
  if (inherited.length === 0) return `t.thread_id IN (${own})`;
  return `t.thread_id IN (${own} UNION ALL SELECT unnest(${params.add(inherited)}::text[]))`;
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
