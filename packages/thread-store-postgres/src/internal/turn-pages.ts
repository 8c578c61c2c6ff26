import type { PoolClient } from 'pg';
import {
  MAX_HISTORY_BASE_DEPTH,
  itemPageFromIndex,
  ThreadStoreError,
  TurnList,
  TurnProjector,
  turnPageFromIndex,
} from '@skein/thread-store-api';
import type {
  ItemPage,
  NormalizedItemPageParams,
  NormalizedTurnPageParams,
  PositionQuery,
  ProjectedItem,
  RolloutItem,
  TurnIndexReader,
  TurnPage,
} from '@skein/thread-store-api';
import { archivedNotFound } from './history.js';
import { TURN_COLUMNS, turnFromRow } from './turn-index.js';
import type { TurnRow } from './turn-index.js';

/**
 * Turn and item pages from the turn index (turn-index.ts): a keyset query on `skein_turns`,
 * then the item rows of the page's turns only, projected again from each turn's first row. A
 * fork by reference reads through its lineage (root first): each base's turns that start before
 * the cut its child inherits, then its own, as the local store reads a paginated fork. Every
 * statement of a page runs in one REPEATABLE READ snapshot.
 */

/** One thread of a lineage: its turns whose first row is below `cut` (null: all of them). */
export interface TurnSegment {
  threadId: string;
  cut: number | null;
}

interface SegmentRow {
  thread_id: string;
  cut: string | null;
  depth: number;
  archived: boolean;
  fresh: boolean;
}

/**
 * The turn index covers a thread's rows as one rollout: a thread with segments (spans.ts), or a
 * fork whose base is a later segment of some thread, is read from its streamed history instead.
 */
const UNSEGMENTED = (t: string): string =>
  `${t}.live_seq = 0 AND NOT EXISTS (SELECT 1 FROM skein_segments g WHERE g.tenant = $1 AND g.rollout_id = ${t}.base_thread_id)`;

/**
 * The lineage of a thread, root first, or null when some thread of it has rows the turn index
 * has not seen or has segments (the caller then streams the history). Missing thread: not_found.
 */
export async function turnSegments(
  db: PoolClient,
  tenant: string,
  threadId: string,
  includeArchived: boolean,
): Promise<TurnSegment[] | null> {
  const r = await db.query<SegmentRow>(
    `WITH RECURSIVE chain (thread_id, base_thread_id, base_end_seq, cut, depth, archived, fresh) AS (
       SELECT t.thread_id, t.base_thread_id, t.base_end_seq, NULL::bigint, 0, t.archived,
              t.turn_state IS NOT NULL AND t.turn_seq = t.item_count AND ${UNSEGMENTED('t')}
       FROM skein_threads t WHERE t.tenant = $1 AND t.thread_id = $2
       UNION ALL
       SELECT b.thread_id, b.base_thread_id, b.base_end_seq, c.base_end_seq, c.depth + 1, b.archived,
              b.turn_state IS NOT NULL AND b.turn_seq = b.item_count AND ${UNSEGMENTED('b')}
       FROM chain c JOIN skein_threads b ON b.tenant = $1 AND b.thread_id = c.base_thread_id
       WHERE c.depth < ${MAX_HISTORY_BASE_DEPTH})
     SELECT thread_id, cut, depth, archived, fresh FROM chain ORDER BY depth DESC`,
    [tenant, threadId],
  );
  const self = r.rows.find((row) => row.depth === 0);
  if (!self) throw ThreadStoreError.notFound(threadId);
  if (self.archived && !includeArchived) throw archivedNotFound(threadId);
  if (!r.rows.every((row) => row.fresh)) return null;
  return r.rows.map((row) => ({ threadId: row.thread_id, cut: row.cut === null ? null : Number(row.cut) }));
}

interface SegmentTurn {
  row: TurnRow;
  segment: TurnSegment;
}

/**
 * Turn rows in a window of positions (see pageByPosition) across a lineage. `itemsWindow`: the
 * window is about items, so a turn counts when its positions overlap it.
 */
async function turnsInWindow(
  db: PoolClient,
  tenant: string,
  segments: readonly TurnSegment[],
  q: PositionQuery,
  itemsWindow = false,
): Promise<SegmentTurn[]> {
  const out: SegmentTurn[] = [];
  const order = q.order === 'asc' ? [...segments] : [...segments].reverse();
  for (const segment of order) {
    if (out.length >= q.limit) break;
    const args: unknown[] = [tenant, segment.threadId];
    const where = ['tenant = $1', 'thread_id = $2'];
    const add = (sql: string, v: unknown): void => {
      args.push(v);
      where.push(`${sql} $${args.length}`);
    };
    if (q.min) add(`${itemsWindow ? 'last_ordinal' : 'ordinal'} ${q.min.inclusive ? '>=' : '>'}`, q.min.position);
    if (q.max) add(`ordinal ${q.max.inclusive ? '<=' : '<'}`, q.max.position);
    if (segment.cut !== null) add('start_seq <', segment.cut);
    args.push(q.limit - out.length);
    const dir = q.order === 'asc' ? 'ASC' : 'DESC';
    const r = await db.query<TurnRow>(
      `SELECT ${TURN_COLUMNS} FROM skein_turns WHERE ${where.join(' AND ')} ORDER BY ordinal ${dir} LIMIT $${args.length}`,
      args,
    );
    for (const row of r.rows) out.push({ row, segment });
  }
  return out;
}

/** The first turn with this id across a lineage, as the whole-history projection finds it. */
async function turnById(
  db: PoolClient,
  tenant: string,
  segments: readonly TurnSegment[],
  turnId: string,
): Promise<SegmentTurn | null> {
  for (const segment of segments) {
    const r = await db.query<TurnRow>(
      `SELECT ${TURN_COLUMNS} FROM skein_turns WHERE tenant = $1 AND thread_id = $2 AND turn_id = $3
       AND ($4::bigint IS NULL OR start_seq < $4) ORDER BY ordinal LIMIT 1`,
      [tenant, segment.threadId, turnId, segment.cut],
    );
    const row = r.rows[0];
    if (row) return { row, segment };
  }
  return null;
}

/** The item rows a turn holds in its segment: [start, end) cut at the segment's cut. */
function rowRange({ row, segment }: SegmentTurn): [number, number] {
  const end = Number(row.end_seq);
  return [Number(row.start_seq), segment.cut === null ? end : Math.min(end, segment.cut)];
}

/**
 * The items of each turn: one statement reads the item rows of all of them, then each turn is
 * projected again from its first row with the counters saved in its row.
 */
async function readTurnsItems(
  db: PoolClient,
  tenant: string,
  turns: readonly SegmentTurn[],
): Promise<ProjectedItem[][]> {
  if (turns.length === 0) return [];
  const ranges = turns.map(rowRange);
  const r = await db.query<{ k: string; seq: string; line: string }>(
    `SELECT r.k, i.seq, i.line FROM unnest($2::text[], $3::bigint[], $4::bigint[]) WITH ORDINALITY AS r(tid, s, e, k)
     JOIN skein_items i ON i.tenant = $1 AND i.thread_id = r.tid AND i.seq >= r.s AND i.seq < r.e
     ORDER BY r.k, i.seq`,
    [tenant, turns.map((t) => t.segment.threadId), ranges.map((x) => x[0]), ranges.map((x) => x[1])],
  );
  const lines: { seq: number; item: RolloutItem }[][] = turns.map(() => []);
  for (const row of r.rows)
    lines[Number(row.k) - 1]?.push({ seq: Number(row.seq), item: JSON.parse(row.line) as RolloutItem });
  return turns.map(({ row }, i) => {
    const list = new TurnList();
    const projector = new TurnProjector(list, {
      keepItems: true,
      state: {
        mode: row.paginated ? 'paginated' : 'legacy',
        seen: Number(row.ordinal),
        lastOrdinal: null,
        nextItemIndex: Number(row.items_before) + 1,
        current: null,
      },
    });
    for (const { seq, item } of lines[i] ?? []) projector.observe(item, { start: seq, end: seq + 1 });
    projector.finish();
    return list.turns.find((t) => t.ordinal === Number(row.ordinal))?.items ?? [];
  });
}

/** The turn index of a lineage as the api's index pages read it, on one snapshot connection. */
function reader(db: PoolClient, tenant: string, segments: readonly TurnSegment[]): TurnIndexReader<SegmentTurn> {
  return {
    turnsInWindow: (q, itemsWindow) => turnsInWindow(db, tenant, segments, q, itemsWindow),
    turnById: (turnId) => turnById(db, tenant, segments, turnId),
    turn: (x) => turnFromRow(x.row),
    readItems: (turns) => readTurnsItems(db, tenant, turns),
  };
}

/** A page of turns: one keyset query, then the item rows of the page's turns (none for `notLoaded`). */
export function indexedTurnPage(
  db: PoolClient,
  tenant: string,
  segments: readonly TurnSegment[],
  p: NormalizedTurnPageParams,
  storeKind: string,
  live: boolean,
): Promise<TurnPage> {
  return turnPageFromIndex(reader(db, tenant, segments), p, storeKind, live);
}

/** A page of items: of one turn (its rows only), or of the thread (the turns around the window). */
export function indexedItemPage(
  db: PoolClient,
  tenant: string,
  segments: readonly TurnSegment[],
  p: NormalizedItemPageParams,
  storeKind: string,
): Promise<ItemPage> {
  return itemPageFromIndex(reader(db, tenant, segments), p, storeKind);
}
