import type { SortDirection } from '@skein/thread-store-api';

/**
 * Turn and item page cursors with Codex's meaning, made of the store's own (opaque) cursors.
 *
 * Codex's `nextCursor` continues after the last entry of a page in the page's direction. Its
 * `backwardsCursor` is meant for the opposite `sortDirection` and starts *at* the page's first
 * entry (the anchor is included again). A store's backwards cursor instead returns the page
 * before the first entry in the same direction, so each protocol cursor records which store
 * cursor to follow and how:
 *
 * - `fwd`: the store's pages in direction `d` from store cursor `c` (null: from the start).
 * - `fwdAnchor`: the first entry of `fwd(d, c)`, then the entries before it in `d`, nearest
 *   first (the backwards cursor of a `fwd` page; served in the direction opposite to `d`).
 * - `rev`: the store's backwards pages in direction `d` from store cursor `c`, each reversed.
 * - `revAnchor`: the first (nearest) entry of `rev(d, c)`, then the entries after it in `d`
 *   (the backwards cursor of a `rev` page; served in direction `d`).
 *
 * A cursor is served in the direction it was made for; the other direction is refused as an
 * invalid cursor.
 */
export type HistoryCursorKind = 'fwd' | 'fwdAnchor' | 'rev' | 'revAnchor';

interface ProtocolCursor {
  kind: HistoryCursorKind;
  /** The store direction the store cursor belongs to. */
  d: SortDirection;
  /** The store cursor; null: the start of the store's pages in `d`. */
  c: string | null;
}

/** One page as a store answers it. */
export interface StorePage<T> {
  entries: T[];
  nextCursor: string | null;
  backwardsCursor: string | null;
}

/** Fetches one store page: `cursor` (null: the first page), direction and size. */
export type StoreFetch<T> = (
  cursor: string | null,
  direction: SortDirection,
  pageSize: number,
) => Promise<StorePage<T>>;

const PREFIX = 'sas1.';
const KINDS: readonly HistoryCursorKind[] = ['fwd', 'fwdAnchor', 'rev', 'revAnchor'];

function opposite(d: SortDirection): SortDirection {
  return d === 'asc' ? 'desc' : 'asc';
}

function encode(kind: HistoryCursorKind, d: SortDirection, c: string | null): string {
  return PREFIX + Buffer.from(JSON.stringify([kind, d, c]), 'utf8').toString('base64url');
}

/** The direction a cursor of this kind is served in. */
function servedIn(p: ProtocolCursor): SortDirection {
  return p.kind === 'fwd' || p.kind === 'revAnchor' ? p.d : opposite(p.d);
}

/** Decodes a protocol cursor; null when it is not one this server made. */
function decode(text: string): ProtocolCursor | null {
  if (!text.startsWith(PREFIX)) return null;
  try {
    const rest = text.slice(PREFIX.length);
    const raw = Buffer.from(rest, 'base64url');
    if (raw.toString('base64url') !== rest) return null;
    const body: unknown = JSON.parse(raw.toString('utf8'));
    if (!Array.isArray(body) || body.length !== 3) return null;
    const [kind, d, c] = body as unknown[];
    if (!KINDS.includes(kind as HistoryCursorKind)) return null;
    if (d !== 'asc' && d !== 'desc') return null;
    if (c !== null && typeof c !== 'string') return null;
    // Backwards walks always continue from a store cursor.
    if ((kind === 'rev' || kind === 'revAnchor') && c === null) return null;
    return { kind: kind as HistoryCursorKind, d, c };
  } catch {
    return null;
  }
}

/** A protocol page: entries in the requested order and Codex-style cursors. */
export interface ProtocolPage<T> {
  entries: T[];
  nextCursor: string | null;
  backwardsCursor: string | null;
}

/**
 * Serves one turn or item page with Codex's cursor meaning (see HistoryCursorKind) from store
 * pages. `cursor` is the protocol cursor (absent: the first page in `direction`); `bad` makes
 * the error for a cursor this server did not make or made for the other direction.
 */
export async function protocolPage<T>(
  fetch: StoreFetch<T>,
  cursor: string | undefined,
  direction: SortDirection,
  pageSize: number,
  bad: () => Error,
): Promise<ProtocolPage<T>> {
  let p: ProtocolCursor = { kind: 'fwd', d: direction, c: null };
  if (cursor !== undefined) {
    const decoded = decode(cursor);
    if (decoded === null || servedIn(decoded) !== direction) throw bad();
    p = decoded;
  }
  const { d, c } = p;
  switch (p.kind) {
    case 'fwd': {
      const page = await fetch(c, d, pageSize);
      return {
        entries: page.entries,
        nextCursor: page.nextCursor !== null ? encode('fwd', d, page.nextCursor) : null,
        backwardsCursor: page.entries.length > 0 ? encode('fwdAnchor', d, c) : null,
      };
    }
    case 'fwdAnchor': {
      const head = await fetch(c, d, 1);
      const before = head.backwardsCursor;
      if (head.entries.length === 0) return { entries: [], nextCursor: null, backwardsCursor: null };
      let entries = head.entries;
      let more = before;
      if (pageSize > 1 && before !== null) {
        const rest = await fetch(before, d, pageSize - 1);
        entries = [...entries, ...[...rest.entries].reverse()];
        more = rest.backwardsCursor;
      }
      return {
        entries,
        nextCursor: more !== null ? encode('rev', d, more) : null,
        backwardsCursor: encode('fwd', d, c),
      };
    }
    case 'rev': {
      const page = await fetch(c, d, pageSize);
      return {
        entries: [...page.entries].reverse(),
        nextCursor: page.backwardsCursor !== null ? encode('rev', d, page.backwardsCursor) : null,
        backwardsCursor: page.entries.length > 0 ? encode('revAnchor', d, c) : null,
      };
    }
    case 'revAnchor': {
      const head = await fetch(c, d, 1);
      if (head.entries.length === 0) return { entries: [], nextCursor: null, backwardsCursor: null };
      let entries = head.entries;
      let more = head.nextCursor;
      if (pageSize > 1 && more !== null) {
        const rest = await fetch(more, d, pageSize - 1);
        entries = [...entries, ...rest.entries];
        more = rest.nextCursor;
      }
      return {
        entries,
        nextCursor: more !== null ? encode('fwd', d, more) : null,
        backwardsCursor: encode('rev', d, c),
      };
    }
  }
}
