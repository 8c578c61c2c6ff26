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
      new Cursor<{ line: string }>('SELECT line FROM skein_items WHERE tenant = $1 AND thread_id = $2 ORDER BY seq', [
        tenant,
        threadId,
      ]),
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
  tenant: string;
}

/**
 * A thread's history as readers see it. A fork by reference (its first item, the session_meta,
 * has a `history_base`) keeps only its own rows: the base's history (resolved the same way) is
 * streamed first, up to the item numbered `end_ordinal_exclusive - 1`. A base that is gone
 * inherits nothing, as in a Codex home. The thread's existence and archived state are checked
 * before anything is streamed.
 */
export async function* resolvedHistory(
  src: HistorySource,
  threadId: string,
  includeArchived: boolean,
  depth = 0,
): AsyncGenerator<RolloutItem> {
  if (depth < MAX_HISTORY_BASE_DEPTH) {
    const r = await src.read<{ archived: boolean; line: string | null }>(
      `SELECT t.archived, i.line FROM skein_threads t
       LEFT JOIN skein_items i ON i.tenant = t.tenant AND i.thread_id = t.thread_id AND i.seq = 0
       WHERE t.tenant = $1 AND t.thread_id = $2`,
      [src.tenant, threadId],
    );
    const row = r.rows[0];
    if (!row) throw ThreadStoreError.notFound(threadId);
    if (row.archived && !includeArchived) throw archivedNotFound(threadId);
    const ref = row.line === null ? null : historyBaseOf(JSON.parse(row.line) as RolloutItem);
    if (ref) {
      try {
        yield* inheritedPrefix(resolvedHistory(src, ref.threadId, true, depth + 1), ref.endOrdinalExclusive);
      } catch (e) {
        if (!isThreadStoreError(e, 'not_found')) throw e;
      }
    }
  }
  yield* streamHistory(src.connect, src.tenant, threadId, includeArchived);
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
    for await (const item of inheritedPrefix(resolvedHistory(src, ref.threadId, true, 1), ref.endOrdinalExclusive))
      if (!isSessionMeta(item)) out.push(item);
  } catch (e) {
    if (!isThreadStoreError(e, 'not_found')) throw e;
  }
  return out;
}
