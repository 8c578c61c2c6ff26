import type { PoolClient, QueryResult, QueryResultRow } from 'pg';
import { MAX_HISTORY_BASE_DEPTH } from '@skein/thread-store-api';
import type { HistoryBase, ThreadId } from '@skein/thread-store-api';

/**
 * Rollouts and spans.
 *
 * A thread's item rows (`skein_items`, numbered by `seq`) hold all its rollouts one after
 * another: its first rollout (whose id is the thread id) from seq 0, then each later segment (a
 * `skein_segments` row, what Codex's `thread/revert` starts) from its `first_seq`. A rollout's
 * own rows run from its first seq up to the next segment's first seq (the newest rollout's are
 * open-ended: appends go there). A rollout with a base (a fork's first rollout, every later
 * segment) reads as the base rollout's history up to the cut, then its own rows.
 *
 * The spans of a thread (`skein_spans`) are its history as readers see it, flattened: the row
 * ranges (thread, [lo, hi)) that make it up, in order, with every cut of its chain of bases
 * applied. Content search reads them to decide exactly which rows a thread's history holds (a
 * reverted message is in none of its spans). Only threads whose history is not simply their own
 * rows have spans: forks by reference and threads with more than one segment. They are written
 * when such a thread is materialized or gets a new segment, and again for every thread whose
 * spans reach into a thread that is deleted (a base that is gone inherits nothing).
 */

/** What the helpers here need of a connection or pool. */
export interface Queryable {
  query<R extends QueryResultRow>(text: string, values: unknown[]): Promise<QueryResult<R>>;
}

export interface Span {
  /** The thread whose rows these are. */
  threadId: string;
  lo: number;
  /** Exclusive; null: to the end of the thread's rows (the newest rollout of the thread itself). */
  hi: number | null;
}

/** Where a rollout's own rows are, and what it inherits. */
export interface Rollout {
  rolloutId: string;
  threadId: string;
  firstSeq: number;
  base: { rolloutId: string; endOrdinalExclusive: number; endByteOffset: number | null } | null;
}

/**
 * A rollout of the tenant by id: a later segment (skein_segments) or a thread's first rollout
 * (its id is the thread id; its base is the fork's base on the thread row). Null when the tenant
 * has none.
 */
export async function findRollout(db: Queryable, tenant: string, rolloutId: string): Promise<Rollout | null> {
  const r = await db.query<{
    thread_id: string;
    first_seq: string;
    base_id: string | null;
    base_end: string | null;
    base_bytes: string | null;
  }>(
    `SELECT thread_id, first_seq, base_rollout_id AS base_id, base_end_ordinal AS base_end, base_end_byte_offset AS base_bytes
     FROM skein_segments WHERE tenant = $1 AND rollout_id = $2
     UNION ALL
     SELECT thread_id, 0, base_thread_id, base_end_ordinal, NULL FROM skein_threads WHERE tenant = $1 AND thread_id = $2
     LIMIT 1`,
    [tenant, rolloutId],
  );
  const row = r.rows[0];
  if (!row) return null;
  return {
    rolloutId,
    threadId: row.thread_id,
    firstSeq: Number(row.first_seq),
    base:
      row.base_id === null || row.base_end === null
        ? null
        : {
            rolloutId: row.base_id,
            endOrdinalExclusive: Number(row.base_end),
            endByteOffset: row.base_bytes === null ? null : Number(row.base_bytes),
          },
  };
}

/** The seq just past a rollout's own rows: the next segment's first seq, or null (open). */
export async function rolloutEnd(db: Queryable, tenant: string, r: Rollout): Promise<number | null> {
  const q = await db.query<{ s: string | null }>(
    'SELECT min(first_seq) AS s FROM skein_segments WHERE tenant = $1 AND thread_id = $2 AND first_seq > $3',
    [tenant, r.threadId, r.firstSeq],
  );
  const s = q.rows[0]?.s;
  return s == null ? null : Number(s);
}

/** The newest rollout of a thread: its last segment's id, or the thread id. */
export async function currentRolloutId(db: Queryable, tenant: string, threadId: string): Promise<string> {
  const r = await db.query<{ rollout_id: string }>(
    'SELECT rollout_id FROM skein_segments WHERE tenant = $1 AND thread_id = $2 ORDER BY first_seq DESC LIMIT 1',
    [tenant, threadId],
  );
  return r.rows[0]?.rollout_id ?? threadId;
}

/**
 * A rollout's history as spans, resolved as readers resolve it (history.ts): the base's spans
 * cut at `end_ordinal_exclusive`, then its own rows; a base that is gone inherits nothing, and
 * bases deeper than MAX_HISTORY_BASE_DEPTH are not followed. Null when the rollout is unknown.
 */
export async function rolloutSpans(
  db: Queryable,
  tenant: string,
  rolloutId: string,
  depth = 0,
): Promise<Span[] | null> {
  const r = await findRollout(db, tenant, rolloutId);
  if (!r) return null;
  let inherited: Span[] = [];
  if (r.base && depth < MAX_HISTORY_BASE_DEPTH) {
    const b = await rolloutSpans(db, tenant, r.base.rolloutId, depth + 1);
    if (b) inherited = await cutSpans(db, tenant, b, r.base.endOrdinalExclusive);
  }
  return [...inherited, { threadId: r.threadId, lo: r.firstSeq, hi: await rolloutEnd(db, tenant, r) }];
}

/**
 * The spans up to a cut, as inheritedPrefix cuts a history: up to and including the first row
 * numbered `end - 1`, or up to (without) the first row numbered past it; rows without an ordinal
 * are taken. Everything after the cut goes.
 */
export async function cutSpans(db: Queryable, tenant: string, spans: readonly Span[], end: number): Promise<Span[]> {
  const out: Span[] = [];
  for (const s of spans) {
    const r = await db.query<{ seq: string; ord: string }>(
      `SELECT c.seq, c.ord FROM (
         SELECT i.seq, CASE WHEN json_typeof(i.line::json -> 'ordinal') = 'number'
                            THEN (i.line::json ->> 'ordinal')::numeric END AS ord
         FROM skein_items i
         WHERE i.tenant = $1 AND i.thread_id = $2 AND i.seq >= $3 AND ($4::bigint IS NULL OR i.seq < $4)
         ORDER BY i.seq) c
       WHERE c.ord = $5::numeric - 1 OR c.ord >= $5::numeric
       LIMIT 1`,
      [tenant, s.threadId, s.lo, s.hi, end],
    );
    const hit = r.rows[0];
    if (!hit) {
      out.push(s);
      continue;
    }
    const seq = Number(hit.seq);
    const hi = Number(hit.ord) === end - 1 ? seq + 1 : seq;
    if (hi > s.lo) out.push({ threadId: s.threadId, lo: s.lo, hi });
    return out;
  }
  return out;
}

/**
 * Writes a thread's spans (see above) from its rollouts as they are now: none for a thread whose
 * history is just its own rows.
 */
export async function writeThreadSpans(db: PoolClient, tenant: string, threadId: string): Promise<void> {
  await db.query('DELETE FROM skein_spans WHERE tenant = $1 AND thread_id = $2', [tenant, threadId]);
  const current = await currentRolloutId(db, tenant, threadId);
  const spans = await rolloutSpans(db, tenant, current);
  if (spans === null) return;
  const only = spans[0];
  if (spans.length === 1 && only && only.threadId === threadId && only.lo === 0 && only.hi === null) return;
  await db.query(
    `INSERT INTO skein_spans (tenant, thread_id, k, src_thread_id, lo_seq, hi_seq)
     SELECT $1, $2, x.k, x.src, x.lo, x.hi FROM unnest($3::text[], $4::bigint[], $5::bigint[]) WITH ORDINALITY AS x(src, lo, hi, k)`,
    [tenant, threadId, spans.map((s) => s.threadId), spans.map((s) => s.lo), spans.map((s) => s.hi)],
  );
}

/**
 * After `deletedThreadId` is gone: the spans again of every thread whose history reached into
 * its rows (forks of it, and forks of those), so search inherits nothing through it.
 */
export async function respanReaders(db: PoolClient, tenant: string, deletedThreadId: string): Promise<void> {
  const r = await db.query<{ thread_id: string }>(
    'SELECT DISTINCT thread_id FROM skein_spans WHERE tenant = $1 AND src_thread_id = $2 AND thread_id <> $2',
    [tenant, deletedThreadId],
  );
  for (const { thread_id } of r.rows) await writeThreadSpans(db, tenant, thread_id);
}

/** The `HistoryBase` of a later segment as listSegments gives it. */
export function segmentBase(r: Rollout): HistoryBase | null {
  if (!r.base) return null;
  return {
    threadId: r.base.rolloutId as ThreadId,
    endOrdinalExclusive: r.base.endOrdinalExclusive,
    endByteOffset: r.base.endByteOffset ?? 0,
  };
}
