import type { ListStart, SortDirection, StoredThread, ThreadId, ThreadSortKey } from '@skein/thread-store-api';

/**
 * `thread/list` cursors in Codex 0.169's formats, over a store's time bound (ListStart).
 *
 * Codex answers a listing from its state database and pages it with two kinds of cursor:
 * - `nextCursor` is a keyset position `<RFC 3339 time>|<thread id>` of the page's last thread
 *   (milliseconds, trailing zeros dropped): the next page holds the threads strictly after it.
 * - `backwardsCursor` is a bare time 1 ms before the page's first thread's time on a descending
 *   page, 1 ms after it on an ascending one; for creation times that first time is truncated to
 *   the second (Codex reads it from a whole-second column). Sent back with the opposite
 *   `sortDirection`, it lists the threads strictly beyond that instant, compared in
 *   milliseconds: so from an ascending page's cursor the anchor itself is missing unless it was
 *   created on a whole second, as in Codex.
 *
 * Codex accepts either kind as `cursor`: RFC 3339 with a `Z` or a `±hh:mm` offset (`T`, `t` or a
 * space between date and time, 1 to 9 fraction digits), and a thread id in any form a UUID
 * parser reads (hyphenated or not, any case). Anything else is `-32600 invalid cursor: <cursor>`.
 * `startOf` turns a cursor into the store's bound so the pages are the ones Codex serves.
 */
export type CodexListCursor =
  | { kind: 'position'; atMs: number; threadId: ThreadId }
  /** `atMs` may carry a fraction of a millisecond (nanosecond input). */
  | { kind: 'instant'; atMs: number };

const TIME_RE = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;
const HYPHENATED = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SIMPLE = /^[0-9a-f]{32}$/i;

/** Epoch milliseconds (with a fraction for sub-millisecond digits) of an RFC 3339 time, or null. */
export function parseRfc3339(text: string): number | null {
  const m = TIME_RE.exec(text);
  if (!m) return null;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (month < 1 || month > 12 || hour > 23 || minute > 59 || second > 59) return null;
  let offset = 0;
  if (m[8] === undefined) {
    const oh = Number(m[10]);
    const om = Number(m[11]);
    if (oh > 23 || om > 59) return null;
    offset = (m[9] === '-' ? -1 : 1) * (oh * 60 + om) * 60_000;
  }
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  // A day past the month's end rolls over into the next month: not a date.
  if (d.getUTCMonth() !== month - 1 || d.getUTCDate() !== day) return null;
  d.setUTCHours(hour, minute, second, 0);
  const fraction = m[7] === undefined ? 0 : Number(`0.${m[7]}`) * 1000;
  return d.getTime() + fraction - offset;
}

/** A thread id in any UUID form Codex reads, as Skein's lowercase hyphenated id, or null. */
function parseUuid(text: string): ThreadId | null {
  let hex = text;
  if (/^urn:uuid:/i.test(hex)) hex = hex.slice(9);
  else if (hex.startsWith('{') && hex.endsWith('}')) hex = hex.slice(1, -1);
  if (SIMPLE.test(hex))
    hex = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  return HYPHENATED.test(hex) ? (hex.toLowerCase() as ThreadId) : null;
}

/** A `thread/list` cursor in Codex's formats, or null when it is not one. */
export function parseCodexListCursor(cursor: string): CodexListCursor | null {
  const parts = cursor.split('|');
  if (parts.length > 2) return null;
  const atMs = parseRfc3339(parts[0] ?? '');
  if (atMs === null) return null;
  if (parts.length === 1) return { kind: 'instant', atMs };
  const threadId = parseUuid(parts[1] ?? '');
  return threadId === null ? null : { kind: 'position', atMs: Math.floor(atMs), threadId };
}

/** RFC 3339 in UTC with the fraction's trailing zeros dropped, as Codex writes its next cursors. */
function trimmedTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.?0+Z$/, 'Z');
}

/** The sort value of a thread for a sort key, epoch milliseconds. */
export function sortMs(thread: StoredThread, key: ThreadSortKey): number {
  return thread[key].getTime();
}

/** The `nextCursor` after `last`: its exact position, in Codex's `<time>|<id>` format. */
export function codexNextCursor(last: StoredThread, key: ThreadSortKey): string {
  return `${trimmedTime(sortMs(last, key))}|${last.threadId}`;
}

/** The `backwardsCursor` of a page that starts with `first`, as Codex makes it. */
export function codexBackwardsCursor(first: StoredThread, key: ThreadSortKey, dir: SortDirection): string {
  const ms = sortMs(first, key);
  const anchor = key === 'createdAt' ? Math.floor(ms / 1000) * 1000 : ms;
  return new Date(anchor + (dir === 'desc' ? -1 : 1)).toISOString();
}

/**
 * The store bound that lists what Codex lists for a cursor: the threads strictly after a
 * position, or strictly beyond a bare instant (a fraction of a millisecond rounds outwards, so
 * whole-millisecond times compare as with the exact instant). `anchorMs`, when known, is the
 * exact sort time of a position's thread (see `anchorMatches`).
 */
export function startOf(cursor: CodexListCursor, dir: SortDirection, anchorMs?: number): ListStart {
  if (cursor.kind === 'position')
    return { at: new Date(anchorMs ?? cursor.atMs), inclusive: false, threadId: cursor.threadId };
  // Desc lists t < b, asc t > b.
  return { at: new Date(dir === 'desc' ? Math.ceil(cursor.atMs) : Math.floor(cursor.atMs)), inclusive: false };
}

/**
 * Whether a position's time may stand for `anchorMs`, the exact time of its thread: equal, or
 * for creation times the same second without a fraction (Codex's positions from a listing it
 * answers by scanning rollout files carry the file name's whole seconds).
 */
export function anchorMatches(cursor: CodexListCursor, key: ThreadSortKey, anchorMs: number): boolean {
  if (cursor.atMs === anchorMs) return true;
  return key === 'createdAt' && cursor.atMs % 1000 === 0 && Math.floor(anchorMs / 1000) * 1000 === cursor.atMs;
}
