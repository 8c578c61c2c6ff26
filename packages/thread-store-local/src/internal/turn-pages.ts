import { itemPageFromIndex, turnPageFromIndex } from '@skein/thread-store-api';
import type {
  ItemPage,
  NormalizedItemPageParams,
  NormalizedTurnPageParams,
  ProjectedItem,
  TurnIndexReader,
  TurnPage,
} from '@skein/thread-store-api';
import type { ThreadIndex } from './indexer.js';
import { readTurnItems, readTurnsItemsSync, turnFromRow } from './turn-index.js';
import type { TurnRow, TurnSegment } from './turn-index.js';

type SegmentTurn = { row: TurnRow; segment: TurnSegment };

/** The turn index of a lineage as the api's index pages read it; items come from each turn's bytes. */
function reader(index: ThreadIndex, segments: readonly TurnSegment[]): TurnIndexReader<SegmentTurn> {
  return {
    turnsInWindow: (q, itemsWindow) => index.turnsInWindow(segments, q, itemsWindow),
    turnById: (turnId) => index.turnById(segments, turnId),
    turn: (x) => turnFromRow(x.row),
    readItems: readPageItems,
  };
}

/**
 * A page of turns from the turn index: one keyset query, then a read of the bytes of each turn
 * on the page (none for `notLoaded`). `live`: a live writer of this store holds the thread.
 */
export function localTurnPage(
  index: ThreadIndex,
  segments: readonly TurnSegment[],
  p: NormalizedTurnPageParams,
  storeKind: string,
  live: boolean,
): Promise<TurnPage> {
  return turnPageFromIndex(reader(index, segments), p, storeKind, live);
}

/** The items of each turn of a page: plain files in one synchronous pass, compressed ones streamed. */
async function readPageItems(turns: readonly SegmentTurn[]): Promise<ProjectedItem[][]> {
  if (turns.every((t) => !t.segment.zst)) return readTurnsItemsSync(turns);
  const out: ProjectedItem[][] = [];
  for (const { row, segment } of turns) out.push(await readTurnItems(row, segment));
  return out;
}

/** A page of items: of one turn (its bytes only), or of the thread (the turns around the window). */
export function localItemPage(
  index: ThreadIndex,
  segments: readonly TurnSegment[],
  p: NormalizedItemPageParams,
  storeKind: string,
): Promise<ItemPage> {
  return itemPageFromIndex(reader(index, segments), p, storeKind);
}
