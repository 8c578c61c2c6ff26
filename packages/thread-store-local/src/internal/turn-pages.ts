import { fetchFromSorted, pageByPosition, storedItem, storedTurn, turnNotFound } from '@skein/thread-store-api';
import type {
  ItemPage,
  NormalizedItemPageParams,
  NormalizedTurnPageParams,
  PositionFetch,
  PositionQuery,
  ProjectedItem,
  TurnPage,
} from '@skein/thread-store-api';
import type { ThreadIndex } from './indexer.js';
import { readTurnItems, readTurnsItemsSync, turnFromRow } from './turn-index.js';
import type { TurnRow, TurnSegment } from './turn-index.js';

/** Turns read per query while collecting a page of items. */
const TURN_BATCH = 8;

/**
 * A page of turns from the turn index: one keyset query, then a read of the bytes of each turn
 * on the page (none for `notLoaded`). `live`: a live writer of this store holds the thread.
 */
export async function localTurnPage(
  index: ThreadIndex,
  segments: readonly TurnSegment[],
  p: NormalizedTurnPageParams,
  storeKind: string,
  live: boolean,
): Promise<TurnPage> {
  const page = await pageByPosition(
    (q) => index.turnsInWindow(segments, q),
    (x) => x.row.ordinal,
    p,
    storeKind,
  );
  const last = live ? index.turnsInWindow(segments, { order: 'desc', limit: 1 })[0] : undefined;
  const items = p.itemsView === 'notLoaded' ? page.items.map(() => []) : await readPageItems(page.items);
  const turns = page.items.map(({ row }, i) =>
    storedTurn(turnFromRow(row), items[i] ?? [], p.itemsView, last?.row.ordinal === row.ordinal),
  );
  return { turns, nextCursor: page.nextCursor, backwardsCursor: page.backwardsCursor };
}

/** The items of each turn of a page: plain files in one synchronous pass, compressed ones streamed. */
async function readPageItems(turns: readonly { row: TurnRow; segment: TurnSegment }[]): Promise<ProjectedItem[][]> {
  if (turns.every((t) => !t.segment.zst)) return readTurnsItemsSync(turns);
  const out: ProjectedItem[][] = [];
  for (const { row, segment } of turns) out.push(await readTurnItems(row, segment));
  return out;
}

function inside(position: number, q: PositionQuery): boolean {
  if (q.min && (q.min.inclusive ? position < q.min.position : position <= q.min.position)) return false;
  if (q.max && (q.max.inclusive ? position > q.max.position : position >= q.max.position)) return false;
  return true;
}

/** Items in a window, read turn by turn from the turns that overlap it. */
function itemFetch(index: ThreadIndex, segments: readonly TurnSegment[]): PositionFetch<ProjectedItem> {
  return async (q) => {
    const out: ProjectedItem[] = [];
    let batch = index.turnsInWindow(segments, { ...q, limit: TURN_BATCH }, true);
    for (;;) {
      for (const turnItems of await readPageItems(batch)) {
        const items = turnItems.filter((i) => inside(i.ordinal, q));
        if (q.order === 'desc') items.reverse();
        out.push(...items);
        if (out.length >= q.limit) return out.slice(0, q.limit);
      }
      const lastRow: TurnRow | undefined = batch[batch.length - 1]?.row;
      if (batch.length < TURN_BATCH || !lastRow) return out;
      // The next turns: after (asc) or before (desc) the last one read.
      const next: PositionQuery =
        q.order === 'asc'
          ? { ...q, min: { position: lastRow.ordinal, inclusive: false }, limit: TURN_BATCH }
          : { ...q, max: { position: lastRow.ordinal, inclusive: false }, limit: TURN_BATCH };
      batch = index.turnsInWindow(segments, next, q.order === 'desc');
    }
  };
}

/** A page of items: of one turn (its bytes only), or of the thread (the turns around the window). */
export async function localItemPage(
  index: ThreadIndex,
  segments: readonly TurnSegment[],
  p: NormalizedItemPageParams,
  storeKind: string,
): Promise<ItemPage> {
  let fetch: PositionFetch<ProjectedItem>;
  if (p.turnId !== null) {
    const hit = index.turnById(segments, p.turnId);
    if (!hit) throw turnNotFound(p.threadId, p.turnId);
    fetch = fetchFromSorted(await readTurnItems(hit.row, hit.segment), (i) => i.ordinal);
  } else {
    fetch = itemFetch(index, segments);
  }
  const page = await pageByPosition(fetch, (i) => i.ordinal, p, storeKind);
  return { items: page.items.map(storedItem), nextCursor: page.nextCursor, backwardsCursor: page.backwardsCursor };
}
