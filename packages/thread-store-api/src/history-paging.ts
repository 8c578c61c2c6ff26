import { decodeHistoryCursor, encodeHistoryCursor } from './cursor.js';
import { ThreadStoreError } from './errors.js';
import { DEFAULT_ITEM_PAGE_SIZE, DEFAULT_TURN_PAGE_SIZE, MAX_HISTORY_PAGE_SIZE } from './history-types.js';
import type {
  ItemPage,
  ListItemsParams,
  ListTurnsParams,
  StoredThreadItem,
  StoredTurn,
  StoredTurnItemsView,
  StoredTurnStatus,
  TurnPage,
} from './history-types.js';
import { isObject } from './rollout-item.js';
import type { RolloutItem } from './rollout-item.js';
import { parseThreadId } from './thread-id.js';
import type { ThreadId } from './thread-id.js';
import { TurnList, TurnProjector } from './turn-projector.js';
import type { ProjectedItem, ProjectedTurn } from './turn-projector.js';
import type { SortDirection } from './types.js';

/**
 * A turn or item page request with defaults applied and checked.
 *
 * @internal
 */
export interface NormalizedHistoryPageParams {
  threadId: ThreadId;
  includeArchived: boolean;
  pageSize: number;
  sortDirection: SortDirection;
  cursor: string | null;
  /** What the cursor is bound to besides the thread: `turns`, `items` or `items:<turnId>`. */
  scope: string;
}

/** @internal */
export interface NormalizedTurnPageParams extends NormalizedHistoryPageParams {
  itemsView: StoredTurnItemsView;
}

/** @internal */
export interface NormalizedItemPageParams extends NormalizedHistoryPageParams {
  turnId: string | null;
}

const VIEWS: readonly StoredTurnItemsView[] = ['notLoaded', 'summary', 'full'];

function common(
  params: {
    threadId: ThreadId;
    includeArchived?: boolean;
    cursor?: string | null;
    pageSize?: number;
    sortDirection?: SortDirection;
  },
  defaults: { pageSize: number; sortDirection: SortDirection },
  scope: string,
): NormalizedHistoryPageParams {
  if (!isObject(params)) throw ThreadStoreError.invalidRequest('params must be an object with a threadId');
  const threadId = parseThreadId(params.threadId);
  const pageSize = params.pageSize ?? defaults.pageSize;
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_HISTORY_PAGE_SIZE)
    throw ThreadStoreError.invalidRequest(
      `pageSize must be an integer from 1 to ${MAX_HISTORY_PAGE_SIZE}, got ${String(pageSize)}`,
    );
  const sortDirection = params.sortDirection ?? defaults.sortDirection;
  if (sortDirection !== 'asc' && sortDirection !== 'desc')
    throw ThreadStoreError.invalidRequest(`sortDirection must be asc or desc, got ${String(sortDirection)}`);
  const cursor = params.cursor == null || params.cursor === '' ? null : params.cursor;
  if (cursor !== null && typeof cursor !== 'string') throw ThreadStoreError.invalidRequest('cursor must be a string');
  return { threadId, includeArchived: params.includeArchived === true, pageSize, sortDirection, cursor, scope };
}

/** @internal */
export function normalizeListTurnsParams(params: ListTurnsParams): NormalizedTurnPageParams {
  const p = common(params, { pageSize: DEFAULT_TURN_PAGE_SIZE, sortDirection: 'desc' }, 'turns');
  const itemsView = params.itemsView ?? 'summary';
  if (!VIEWS.includes(itemsView))
    throw ThreadStoreError.invalidRequest(`itemsView must be one of ${VIEWS.join(', ')}, got ${String(itemsView)}`);
  return { ...p, itemsView };
}

/** @internal */
export function normalizeListItemsParams(params: ListItemsParams): NormalizedItemPageParams {
  const turnId = isObject(params) && params.turnId != null ? params.turnId : null;
  if (turnId !== null && (typeof turnId !== 'string' || turnId === ''))
    throw ThreadStoreError.invalidRequest('turnId must be a non-empty string');
  const scope = turnId === null ? 'items' : `items:${turnId}`;
  return { ...common(params, { pageSize: DEFAULT_ITEM_PAGE_SIZE, sortDirection: 'asc' }, scope), turnId };
}

/**
 * A window of positions, in ascending terms: strictly (or, `inclusive`, also exactly) above
 * `min` and below `max`, returned in `order`, at most `limit`.
 *
 * @internal
 */
export interface PositionQuery {
  min?: { position: number; inclusive: boolean };
  max?: { position: number; inclusive: boolean };
  order: SortDirection;
  limit: number;
}

/** @internal */
export type PositionFetch<T> = (q: PositionQuery) => T[] | Promise<T[]>;

/**
 * A PositionFetch over entries already sorted by ascending position.
 *
 * @internal
 */
export function fetchFromSorted<T>(sortedAsc: readonly T[], positionOf: (x: T) => number): PositionFetch<T> {
  return (q) => {
    const inside = sortedAsc.filter((x) => positionInside(positionOf(x), q));
    if (q.order === 'desc') inside.reverse();
    return inside.slice(0, q.limit);
  };
}

/**
 * Whether a position lies inside a window.
 *
 * @internal
 */
export function positionInside(position: number, q: PositionQuery): boolean {
  if (q.min && (q.min.inclusive ? position < q.min.position : position <= q.min.position)) return false;
  if (q.max && (q.max.inclusive ? position > q.max.position : position >= q.max.position)) return false;
  return true;
}

/**
 * Items in a window from a store's index of turns: the turns that overlap the window are read a
 * batch at a time (`turnsInWindow`; `itemsWindow` says a turn counts when its positions overlap
 * the window, not only when it starts inside it), then their items (`readItems`), until the
 * window's limit is reached.
 *
 * @internal
 */
export function itemFetchFromTurns<T>(
  turnsInWindow: (q: PositionQuery, itemsWindow: boolean) => T[] | Promise<T[]>,
  ordinalOf: (turn: T) => number,
  readItems: (turns: T[]) => Promise<ProjectedItem[][]>,
  batchSize = 8,
): PositionFetch<ProjectedItem> {
  return async (q) => {
    const out: ProjectedItem[] = [];
    let batch = await turnsInWindow({ ...q, limit: batchSize }, true);
    for (;;) {
      for (const turnItems of await readItems(batch)) {
        const items = turnItems.filter((i) => positionInside(i.ordinal, q));
        if (q.order === 'desc') items.reverse();
        out.push(...items);
        if (out.length >= q.limit) return out.slice(0, q.limit);
      }
      const last = batch[batch.length - 1];
      if (batch.length < batchSize || last === undefined) return out;
      // The next turns: after (asc) or before (desc) the last one read.
      const at = ordinalOf(last);
      const next: PositionQuery =
        q.order === 'asc'
          ? { ...q, min: { position: at, inclusive: false }, limit: batchSize }
          : { ...q, max: { position: at, inclusive: false }, limit: batchSize };
      batch = await turnsInWindow(next, q.order === 'desc');
    }
  };
}

/** @internal */
export interface PositionPage<T> {
  items: T[];
  nextCursor: string | null;
  backwardsCursor: string | null;
}

/**
 * Keyset paging on positions, the same for every store: the store answers windows (`fetch`),
 * this decides what a page holds and makes the cursors. A `next` cursor continues after the last
 * entry of its page; a backwards cursor returns the page before the first entry. Entries added
 * while paging appear in later pages, never as repeats.
 *
 * @internal
 */
export async function pageByPosition<T>(
  fetch: PositionFetch<T>,
  positionOf: (x: T) => number,
  p: NormalizedHistoryPageParams,
  storeKind: string,
): Promise<PositionPage<T>> {
  const dir = p.sortDirection;
  const expect = { store: storeKind, threadId: p.threadId, scope: p.scope, sortDirection: dir };
  const mk = (position: number, towards: 'next' | 'prev'): string =>
    encodeHistoryCursor({ ...expect, towards, position });
  const bound = (position: number, inclusive: boolean) => ({ position, inclusive });
  /** Entries after `a` in page order (all of them when null). */
  const after = (a: number | null, inclusive: boolean, limit: number): T[] | Promise<T[]> =>
    dir === 'asc'
      ? fetch({ ...(a === null ? {} : { min: bound(a, inclusive) }), order: 'asc', limit })
      : fetch({ ...(a === null ? {} : { max: bound(a, inclusive) }), order: 'desc', limit });
  /** Entries before `a` in page order, nearest first. */
  const before = (a: number, inclusive: boolean, limit: number): T[] | Promise<T[]> =>
    dir === 'asc'
      ? fetch({ max: bound(a, inclusive), order: 'desc', limit })
      : fetch({ min: bound(a, inclusive), order: 'asc', limit });

  if (p.cursor === null) {
    const got = await after(null, false, p.pageSize + 1);
    const items = got.slice(0, p.pageSize);
    const last = items[items.length - 1];
    return {
      items,
      nextCursor: got.length > p.pageSize && last !== undefined ? mk(positionOf(last), 'next') : null,
      backwardsCursor: null,
    };
  }
  const c = decodeHistoryCursor(p.cursor, expect);
  if (c.towards === 'next') {
    const got = await after(c.position, false, p.pageSize + 1);
    const items = got.slice(0, p.pageSize);
    const first = items[0];
    const last = items[items.length - 1];
    const earlier = (await before(c.position, true, 1)).length > 0;
    return {
      items,
      nextCursor: got.length > p.pageSize && last !== undefined ? mk(positionOf(last), 'next') : null,
      backwardsCursor: earlier ? mk(first !== undefined ? positionOf(first) : c.position, 'prev') : null,
    };
  }
  const got = await before(c.position, false, p.pageSize + 1);
  const items = got.slice(0, p.pageSize).reverse();
  const first = items[0];
  const last = items[items.length - 1];
  const later = (await after(c.position, true, 1)).length > 0;
  return {
    items,
    nextCursor: later ? mk(last !== undefined ? positionOf(last) : c.position, 'next') : null,
    backwardsCursor: got.length > p.pageSize && first !== undefined ? mk(positionOf(first), 'prev') : null,
  };
}

/**
 * How a store reads its index of turns, for turnPageFromIndex and itemPageFromIndex. `T` is the
 * store's handle of one turn (a row and where its items are).
 *
 * @internal
 */
export interface TurnIndexReader<T> {
  /** Turns in a window, at most `q.limit`; `itemsWindow`: those whose positions overlap it. */
  turnsInWindow(q: PositionQuery, itemsWindow: boolean): T[] | Promise<T[]>;
  /** The turn a listItems `turnId` names, or null. */
  turnById(turnId: string): T | null | Promise<T | null>;
  /** The turn without its items. */
  turn(x: T): ProjectedTurn;
  /** The items of each of the turns. */
  readItems(turns: T[]): Promise<ProjectedItem[][]>;
}

/**
 * A page of turns from an index: one window of turns, then the items of the page's turns only
 * (none for `notLoaded`). `live`: a live writer holds the thread (see storedTurn).
 *
 * @internal
 */
export async function turnPageFromIndex<T>(
  r: TurnIndexReader<T>,
  p: NormalizedTurnPageParams,
  storeKind: string,
  live: boolean,
): Promise<TurnPage> {
  const page = await pageByPosition(
    (q) => r.turnsInWindow(q, false),
    (x) => r.turn(x).ordinal,
    p,
    storeKind,
  );
  const last = live ? (await r.turnsInWindow({ order: 'desc', limit: 1 }, false))[0] : undefined;
  const lastOrdinal = last === undefined ? null : r.turn(last).ordinal;
  const items = p.itemsView === 'notLoaded' ? page.items.map(() => []) : await r.readItems(page.items);
  const turns = page.items.map((x, i) => {
    const t = r.turn(x);
    return storedTurn(t, items[i] ?? [], p.itemsView, t.ordinal === lastOrdinal);
  });
  return { turns, nextCursor: page.nextCursor, backwardsCursor: page.backwardsCursor };
}

/**
 * A page of items from an index: of one turn (its items only; an unknown `turnId` is
 * `not_found`), or of the thread (the turns around the window, a batch at a time).
 *
 * @internal
 */
export async function itemPageFromIndex<T>(
  r: TurnIndexReader<T>,
  p: NormalizedItemPageParams,
  storeKind: string,
): Promise<ItemPage> {
  let fetch: PositionFetch<ProjectedItem>;
  if (p.turnId !== null) {
    const hit = await r.turnById(p.turnId);
    if (hit === null) throw turnNotFound(p.threadId, p.turnId);
    fetch = fetchFromSorted((await r.readItems([hit]))[0] ?? [], (i) => i.ordinal);
  } else {
    fetch = itemFetchFromTurns(
      (q, itemsWindow) => r.turnsInWindow(q, itemsWindow),
      (x) => r.turn(x).ordinal,
      (turns) => r.readItems(turns),
    );
  }
  const page = await pageByPosition(fetch, (i) => i.ordinal, p, storeKind);
  return { items: page.items.map(storedItem), nextCursor: page.nextCursor, backwardsCursor: page.backwardsCursor };
}

/**
 * The items a view shows: none, the first user message and the final agent message, or all.
 *
 * @internal
 */
export function itemsForView(items: readonly ProjectedItem[], view: StoredTurnItemsView): ProjectedItem[] {
  if (view === 'notLoaded') return [];
  if (view === 'full') return [...items];
  const user = items.find((i) => i.item.type === 'userMessage');
  const agents = items.filter((i) => i.item.type === 'agentMessage');
  const final =
    [...agents].reverse().find((i) => i.item.phase === 'final_answer') ??
    [...agents].reverse().find((i) => i.item.phase == null);
  return items.filter((i) => i === user || i === final);
}

/** @internal */
export function storedItem(i: ProjectedItem): StoredThreadItem {
  return {
    turnId: i.turnId,
    itemId: i.itemId,
    ordinal: i.ordinal,
    createdAt: i.createdAtMs === null ? null : new Date(i.createdAtMs),
    item: structuredClone(i.item),
  };
}

/**
 * The StoredTurn of a projected turn. A turn with no terminal line is `inProgress` only when it
 * is the thread's last turn and a live writer holds the thread (`live`); otherwise it was cut
 * off, and reads as `interrupted`, as Codex's app-server reports it.
 *
 * @internal
 */
export function storedTurn(
  t: ProjectedTurn,
  items: readonly ProjectedItem[],
  view: StoredTurnItemsView,
  live: boolean,
): StoredTurn {
  const status: StoredTurnStatus = t.status === 'inProgress' && !live ? 'interrupted' : t.status;
  return {
    turnId: t.turnId,
    ordinal: t.ordinal,
    status,
    error: t.error ? structuredClone(t.error) : null,
    startedAt: t.startedAtMs === null ? null : new Date(t.startedAtMs),
    completedAt: t.completedAtMs === null ? null : new Date(t.completedAtMs),
    durationMs: t.durationMs,
    itemsView: view,
    items: itemsForView(items, view).map(storedItem),
  };
}

/**
 * An unknown turn id in a listItems request.
 *
 * @internal
 */
export function turnNotFound(threadId: string, turnId: string): ThreadStoreError {
  return new ThreadStoreError('not_found', `thread ${threadId} has no turn ${JSON.stringify(turnId)}`);
}

/**
 * A turn page computed from a whole history (read to the end). Stores without an index of turns
 * use it; `live` says whether a live writer holds the thread (see storedTurn).
 *
 * @internal
 */
export async function turnPageFromHistory(
  history: Iterable<RolloutItem> | AsyncIterable<RolloutItem>,
  p: NormalizedTurnPageParams,
  storeKind: string,
  live: boolean,
): Promise<TurnPage> {
  const turns = await turnsOfHistory(history);
  const lastTurn = turns[turns.length - 1];
  const page = await pageByPosition(
    fetchFromSorted(turns, (t) => t.ordinal),
    (t) => t.ordinal,
    p,
    storeKind,
  );
  return {
    turns: page.items.map((t) => storedTurn(t, t.items, p.itemsView, live && t === lastTurn)),
    nextCursor: page.nextCursor,
    backwardsCursor: page.backwardsCursor,
  };
}

/**
 * An item page computed from a whole history; an unknown `turnId` is `not_found`.
 *
 * @internal
 */
export async function itemPageFromHistory(
  history: Iterable<RolloutItem> | AsyncIterable<RolloutItem>,
  p: NormalizedItemPageParams,
  storeKind: string,
): Promise<ItemPage> {
  const turns = await turnsOfHistory(history);
  let items: ProjectedItem[];
  if (p.turnId !== null) {
    const turn = turns.find((t) => t.turnId === p.turnId);
    if (!turn) throw turnNotFound(p.threadId, p.turnId);
    items = turn.items;
  } else {
    items = turns.flatMap((t) => t.items);
  }
  const page = await pageByPosition(
    fetchFromSorted(items, (i) => i.ordinal),
    (i) => i.ordinal,
    p,
    storeKind,
  );
  return { items: page.items.map(storedItem), nextCursor: page.nextCursor, backwardsCursor: page.backwardsCursor };
}

async function turnsOfHistory(history: Iterable<RolloutItem> | AsyncIterable<RolloutItem>): Promise<ProjectedTurn[]> {
  const list = new TurnList();
  const projector = new TurnProjector(list, { keepItems: true });
  for await (const item of history) projector.observe(item);
  projector.finish();
  return list.turns;
}
