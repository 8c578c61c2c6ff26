import { ThreadStoreError } from './errors.js';
import type { SortDirection, ThreadSortKey } from './types.js';

/**
 * List cursors: opaque strings `sk1.<base64url JSON>`, keyset-based (sort value + thread id) so a
 * page never skips or repeats a thread while others are written. A cursor is tied to the store
 * kind, sort key, direction and filters it was made for; anything else is `invalid_request`.
 *
 * @internal
 */
export interface ListCursor {
  /** Which store family made it, e.g. `memory` or `local`. */
  store: string;
  sortKey: ThreadSortKey;
  sortDirection: SortDirection;
  /** Fingerprint of the filters of the listing it belongs to. */
  filters: string;
  /** `next`: items after the anchor; `prev`: the page before it. */
  towards: 'next' | 'prev';
  /** Sort value of the anchor, epoch milliseconds. */
  value: number;
  /** Thread id of the anchor (tie-breaker). */
  threadId: string;
}

const PREFIX = 'sk1.';

/** @internal */
export function encodeListCursor(c: ListCursor): string {
  const body = [c.store, c.sortKey, c.sortDirection, c.filters, c.towards, c.value, c.threadId];
  return PREFIX + Buffer.from(JSON.stringify(body), 'utf8').toString('base64url');
}

function bad(cursor: string, why: string): ThreadStoreError {
  const shown = cursor.length > 60 ? `${cursor.slice(0, 60)}…` : cursor;
  return ThreadStoreError.invalidRequest(`invalid cursor ${JSON.stringify(shown)}: ${why}`);
}

/**
 * Decodes a cursor and checks it belongs to this listing.
 *
 * @internal
 */
export function decodeListCursor(
  cursor: string,
  expect: { store: string; sortKey: ThreadSortKey; sortDirection: SortDirection; filters: string },
): ListCursor {
  if (typeof cursor !== 'string' || !cursor.startsWith(PREFIX)) throw bad(String(cursor), 'not a Skein cursor');
  let body: unknown;
  try {
    const raw = Buffer.from(cursor.slice(PREFIX.length), 'base64url');
    // Node's base64 decoder skips characters it does not know: insist on the canonical form.
    if (raw.toString('base64url') !== cursor.slice(PREFIX.length)) throw new Error('not canonical base64url');
    body = JSON.parse(raw.toString('utf8'));
  } catch {
    throw bad(cursor, 'it is damaged');
  }
  if (!Array.isArray(body) || body.length !== 7) throw bad(cursor, 'it is damaged');
  const [store, sortKey, sortDirection, filters, towards, value, threadId] = body as unknown[];
  if (typeof store !== 'string' || typeof filters !== 'string' || typeof threadId !== 'string')
    throw bad(cursor, 'it is damaged');
  if (towards !== 'next' && towards !== 'prev') throw bad(cursor, 'it is damaged');
  if (typeof value !== 'number' || !Number.isFinite(value)) throw bad(cursor, 'it is damaged');
  if (store !== expect.store) throw bad(cursor, `it was made by a ${store} store, not this ${expect.store} store`);
  if (sortKey !== expect.sortKey || sortDirection !== expect.sortDirection)
    throw bad(cursor, `it belongs to a listing sorted by ${String(sortKey)} ${String(sortDirection)}`);
  if (filters !== expect.filters) throw bad(cursor, 'it belongs to a listing with other filters');
  return { store, sortKey: expect.sortKey, sortDirection: expect.sortDirection, filters, towards, value, threadId };
}

/**
 * Turn and item cursors: `skh1.<base64url JSON>`, keyset on a position in one thread's history
 * (see StoredTurn.ordinal), so pages stay exact while the thread grows. A cursor is tied to the
 * store kind, thread, page kind (turns, or items of the thread or of one turn) and direction.
 *
 * @internal
 */
export interface HistoryCursor {
  store: string;
  threadId: string;
  /** `turns`, `items` (the whole thread) or `items:<turnId>`. */
  scope: string;
  sortDirection: SortDirection;
  towards: 'next' | 'prev';
  /** Position of the anchor. */
  position: number;
}

const HISTORY_PREFIX = 'skh1.';

/** @internal */
export function encodeHistoryCursor(c: HistoryCursor): string {
  const body = [c.store, c.threadId, c.scope, c.sortDirection, c.towards, c.position];
  return HISTORY_PREFIX + Buffer.from(JSON.stringify(body), 'utf8').toString('base64url');
}

/**
 * Decodes a turn or item cursor and checks it belongs to this page request.
 *
 * @internal
 */
export function decodeHistoryCursor(
  cursor: string,
  expect: { store: string; threadId: string; scope: string; sortDirection: SortDirection },
): HistoryCursor {
  if (typeof cursor !== 'string' || !cursor.startsWith(HISTORY_PREFIX))
    throw bad(String(cursor), 'not a Skein turn or item cursor');
  let body: unknown;
  try {
    const rest = cursor.slice(HISTORY_PREFIX.length);
    const raw = Buffer.from(rest, 'base64url');
    if (raw.toString('base64url') !== rest) throw new Error('not canonical base64url');
    body = JSON.parse(raw.toString('utf8'));
  } catch {
    throw bad(cursor, 'it is damaged');
  }
  if (!Array.isArray(body) || body.length !== 6) throw bad(cursor, 'it is damaged');
  const [store, threadId, scope, sortDirection, towards, position] = body as unknown[];
  if (typeof store !== 'string' || typeof threadId !== 'string' || typeof scope !== 'string')
    throw bad(cursor, 'it is damaged');
  if (towards !== 'next' && towards !== 'prev') throw bad(cursor, 'it is damaged');
  if (sortDirection !== 'asc' && sortDirection !== 'desc') throw bad(cursor, 'it is damaged');
  if (typeof position !== 'number' || !Number.isSafeInteger(position) || position < 0)
    throw bad(cursor, 'it is damaged');
  if (store !== expect.store) throw bad(cursor, `it was made by a ${store} store, not this ${expect.store} store`);
  if (threadId !== expect.threadId) throw bad(cursor, `it belongs to thread ${threadId}`);
  if (scope !== expect.scope) throw bad(cursor, `it belongs to a page of ${scope}, not of ${expect.scope}`);
  if (sortDirection !== expect.sortDirection) throw bad(cursor, `it belongs to pages sorted ${sortDirection}`);
  return { store, threadId, scope, sortDirection, towards, position };
}
