import type { PoolClient, QueryResult, QueryResultRow } from 'pg';
import Cursor from 'pg-cursor';
import {
  MAX_HISTORY_BASE_DEPTH,
  historyBaseOf,
  inheritedPrefix,
  isSessionMeta,
  isThreadStoreError,
  ThreadStoreError,
} from '@skein/thread-store-api';
import type { RolloutItem } from '@skein/thread-store-api';
import { findRollout } from './spans.js';

/** Rows fetched per round trip while streaming a history: a few MB at most per batch. */
const BATCH_ROWS = 256;

/**
 * Streams a thread's items in order through a server-side cursor (pg-cursor), so a long thread
 * is never held in memory: one batch of rows at a time, fetched only when the consumer asks for
 * more. The thread check and the items come from one REPEATABLE READ snapshot, so a concurrent
 * append or delete never shows half a write.
 */
export async function* streamHistory(
  /** A connection on which `first` already ran (see the store's connect). */
  connect: (first: string) => Promise<PoolClient>,
  tenant: string,
  threadId: string,
  includeArchived: boolean,
  /**
   * The first seq of the rollout to stream (0: the thread's first rollout); its rows end where
   * the thread's next segment starts, as the snapshot has it.
   */
  fromSeq = 0,
): AsyncGenerator<RolloutItem> {
  const client = await connect('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  let cursor: Cursor<{ line: string }> | undefined;
  // A connection that dies between two reads (the consumer was busy) reports only an 'error' or
  // an 'end' event; a cursor read on it would wait forever, so each read also waits for those.
  let lost: Error | undefined;
  let onLost: ((e: Error) => void) | undefined;
  const listener = (e: Error): void => {
    lost = e;
    onLost?.(e);
  };
  const ended = (): void => listener(new Error('Connection terminated: the connection to PostgreSQL ended'));
  client.on('error', listener);
  client.on('end', ended);
  const read = (c: Cursor<{ line: string }>): Promise<{ line: string }[]> =>
    Promise.race([
      c.read(BATCH_ROWS),
      new Promise<never>((_, reject) => {
        if (lost) reject(lost);
        onLost = reject;
      }),
    ]);
  try {
    const r = await client.query<{ archived: boolean }>(
      'SELECT archived FROM skein_threads WHERE tenant = $1 AND thread_id = $2',
      [tenant, threadId],
    );
    const row = r.rows[0];
    if (!row) throw ThreadStoreError.notFound(threadId);
    if (row.archived && !includeArchived) throw archivedNotFound(threadId);
    cursor = client.query(
      new Cursor<{ line: string }>(
        `SELECT line FROM skein_items WHERE tenant = $1 AND thread_id = $2 AND seq >= $3
           AND seq < coalesce((SELECT min(s.first_seq) FROM skein_segments s
                               WHERE s.tenant = $1 AND s.thread_id = $2 AND s.first_seq > $3), 9223372036854775807)
         ORDER BY seq`,
        [tenant, threadId, fromSeq],
      ),
    );
    for (;;) {
      const rows = await read(cursor);
      if (rows.length === 0) break;
      for (const { line } of rows) yield JSON.parse(line) as RolloutItem;
    }
  } finally {
    // A consumer that stops early lands here too: close the cursor and end the snapshot.
    client.off('error', listener);
    client.off('end', ended);
    if (lost) client.release(lost);
    else await closeQuietly(client, cursor);
  }
}

/** Ends the snapshot and returns the connection; a connection that fails doing so is dropped. */
async function closeQuietly(client: PoolClient, cursor: Cursor<{ line: string }> | undefined): Promise<void> {
  try {
    if (cursor) await cursor.close();
    await client.query('ROLLBACK');
    client.release();
  } catch (e) {
    client.release(e instanceof Error ? e : true);
  }
}

export function archivedNotFound(threadId: string): ThreadStoreError {
  return new ThreadStoreError(
    'not_found',
    `thread ${threadId} is archived; pass includeArchived or unarchive it first`,
  );
}

/** How the history readers reach the database. */
export interface HistorySource {
  /** A connection on which `first` already ran (see the store's connect). */
  connect: (first: string) => Promise<PoolClient>;
  /** One read-only statement. */
  read: <R extends QueryResultRow>(text: string, values: unknown[]) => Promise<QueryResult<R>>;
  /** The same as `read`, for helpers written against a client. */
  query: <R extends QueryResultRow>(text: string, values: unknown[]) => Promise<QueryResult<R>>;
  tenant: string;
}

/**
 * A thread's history as readers see it: the history of its newest rollout (its last segment, or
 * its first rollout when it was never reverted; see spans.ts). The thread's existence and
 * archived state are checked before anything is streamed.
 */
export async function* resolvedHistory(
  src: HistorySource,
  threadId: string,
  includeArchived: boolean,
): AsyncGenerator<RolloutItem> {
  const r = await src.read<{ archived: boolean; rollout_id: string | null }>(
    `SELECT t.archived, (SELECT s.rollout_id FROM skein_segments s WHERE s.tenant = t.tenant AND s.thread_id = t.thread_id
                         ORDER BY s.first_seq DESC LIMIT 1) AS rollout_id
     FROM skein_threads t WHERE t.tenant = $1 AND t.thread_id = $2`,
    [src.tenant, threadId],
  );
  const row = r.rows[0];
  if (!row) throw ThreadStoreError.notFound(threadId);
  if (row.archived && !includeArchived) throw archivedNotFound(threadId);
  yield* rolloutHistory(src, row.rollout_id ?? threadId, includeArchived);
}

/**
 * A rollout's history: a rollout with a base (a fork's first rollout, a later segment) first
 * streams the base rollout's history (resolved the same way) up to the item numbered
 * `end_ordinal_exclusive - 1`, then its own rows. A base that is gone inherits nothing, as in a
 * Codex home. An unknown rollout is not_found.
 */
export async function* rolloutHistory(
  src: HistorySource,
  rolloutId: string,
  includeArchived = true,
  depth = 0,
): AsyncGenerator<RolloutItem> {
  const r = await findRollout(src, src.tenant, rolloutId);
  if (!r) throw ThreadStoreError.notFound(rolloutId);
  if (r.base && depth < MAX_HISTORY_BASE_DEPTH) {
    try {
      yield* inheritedPrefix(rolloutHistory(src, r.base.rolloutId, true, depth + 1), r.base.endOrdinalExclusive);
    } catch (e) {
      if (!isThreadStoreError(e, 'not_found')) throw e;
    }
  }
  yield* streamHistory(src.connect, src.tenant, r.threadId, includeArchived, r.firstSeq);
}

/**
 * What a fork by reference inherits, without the base's session_meta lines: the items that
 * describe it as a copy would (its own session_meta, then these, then its own items).
 */
export async function inheritedItems(src: HistorySource, first: RolloutItem | undefined): Promise<RolloutItem[]> {
  const ref = historyBaseOf(first);
  if (!ref) return [];
  const out: RolloutItem[] = [];
  try {
    for await (const item of inheritedPrefix(rolloutHistory(src, ref.threadId, true, 1), ref.endOrdinalExclusive))
      if (!isSessionMeta(item)) out.push(item);
  } catch (e) {
    if (!isThreadStoreError(e, 'not_found')) throw e;
  }
  return out;
}
