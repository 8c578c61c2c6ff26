import { applyTerminal, TurnList, TurnProjector } from '@skein/thread-store-api';
import type {
  PositionQuery,
  ProjectedItem,
  ProjectedTurn,
  TurnProjectionState,
  TurnSink,
  TurnTerminal,
} from '@skein/thread-store-api';
import { closeSync, openSync, readSync } from 'node:fs';
import type Database from 'better-sqlite3';
import { irrelevantLineTime } from './file-state.js';
import { isHistoryItem, parseLine, readRawLines } from './reader.js';

/**
 * The per-file turn index: one row per turn with its history positions and byte range, filled by
 * the indexing pass that reads each rollout (FileScanner feeds a TurnProjector whose finished
 * turns land here). A page of turns is then a keyset query plus a read of each turn's bytes, so
 * the end of a 100 MB thread is read without reading the rest.
 */

type Stmt = (sql: string) => Database.Statement;

export interface TurnRow {
  rel: string;
  ordinal: number;
  last_ordinal: number;
  turn_id: string;
  open: number;
  paginated: number;
  status: string;
  error: string | null;
  started_ms: number | null;
  completed_ms: number | null;
  duration_ms: number | null;
  start_byte: number;
  end_byte: number;
  items_before: number;
  item_count: number;
}

/**
 * Where one indexing pass of a file puts its turns. Terminal lines and rollbacks can reach turns
 * an earlier pass wrote; those changes are kept here and written with the pass (`write`).
 */
export class TurnRowsSink implements TurnSink {
  readonly finishedTurns: ProjectedTurn[] = [];
  private readonly updates = new Map<string, TurnTerminal>();
  private readonly dropped = new Set<number>();

  /** `committed`: the pass continues a file's earlier passes (a tail read), whose rows count. */
  constructor(
    private readonly stmt: Stmt,
    private readonly rel: string,
    private readonly committed: boolean,
  ) {}

  finished(turn: ProjectedTurn): void {
    this.finishedTurns.push(turn);
  }

  updateFinished(turnId: string, update: TurnTerminal): boolean {
    const mine = this.finishedTurns.find((t) => t.turnId === turnId);
    if (mine) {
      applyTerminal(mine, update);
      return true;
    }
    if (!this.committed) return false;
    const row = this.stmt('SELECT ordinal FROM turns WHERE rel = ? AND turn_id = ? AND open = 0 LIMIT 1').get(
      this.rel,
      turnId,
    ) as { ordinal: number } | undefined;
    if (!row || this.dropped.has(row.ordinal)) return false;
    const prev = this.updates.get(turnId);
    this.updates.set(turnId, prev ? { ...prev, ...update } : update);
    return true;
  }

  rollback(n: number): number {
    const mine = Math.min(n, this.finishedTurns.length);
    this.finishedTurns.splice(this.finishedTurns.length - mine);
    let left = n - mine;
    let items = this.finishedTurns.reduce((sum, t) => sum + t.itemCount, 0);
    if (!this.committed) return items;
    const rows = this.stmt(
      'SELECT ordinal, item_count FROM turns WHERE rel = ? AND open = 0 ORDER BY ordinal DESC',
    ).all(this.rel) as { ordinal: number; item_count: number }[];
    for (const r of rows) {
      if (this.dropped.has(r.ordinal)) continue;
      if (left > 0) {
        this.dropped.add(r.ordinal);
        left -= 1;
      } else items += r.item_count;
    }
    return items;
  }

  /**
   * Writes the pass: replaces all rows (`fresh`: the file was read from the start) or the open
   * row, then applies changes to earlier rows and adds the turns finished in this pass and the
   * one still open.
   */
  write(fresh: boolean, state: TurnProjectionState): void {
    const s = this.stmt;
    if (fresh) s('DELETE FROM turns WHERE rel = ?').run(this.rel);
    else s('DELETE FROM turns WHERE rel = ? AND open = 1').run(this.rel);
    const drop = s('DELETE FROM turns WHERE rel = ? AND ordinal = ?');
    for (const o of this.dropped) drop.run(this.rel, o);
    for (const [turnId, update] of this.updates) {
      const row = s('SELECT * FROM turns WHERE rel = ? AND turn_id = ? AND open = 0').get(this.rel, turnId) as
        TurnRow | undefined;
      if (!row) continue;
      const t = turnFromRow(row);
      applyTerminal(t, update);
      s('UPDATE turns SET status = ?, error = ?, completed_ms = ?, duration_ms = ? WHERE rel = ? AND ordinal = ?').run(
        t.status,
        t.error ? JSON.stringify(t.error) : null,
        t.completedAtMs,
        t.durationMs,
        this.rel,
        row.ordinal,
      );
    }
    const paginated = state.mode === 'paginated' ? 1 : 0;
    const ins = s(
      `INSERT OR REPLACE INTO turns (rel, ordinal, last_ordinal, turn_id, open, paginated, status, error, started_ms,
         completed_ms, duration_ms, start_byte, end_byte, items_before, item_count)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const put = (t: ProjectedTurn, open: number): void => {
      ins.run(
        this.rel,
        t.ordinal,
        t.lastOrdinal,
        t.turnId,
        open,
        paginated,
        t.status,
        t.error ? JSON.stringify(t.error) : null,
        t.startedAtMs,
        t.completedAtMs,
        t.durationMs,
        t.start ?? 0,
        t.end ?? 0,
        t.itemsBefore,
        t.itemCount,
      );
    };
    for (const t of this.finishedTurns) put(t, 0);
    if (state.current) put(state.current, 1);
  }
}

export function turnFromRow(r: TurnRow): ProjectedTurn {
  return {
    turnId: r.turn_id,
    ordinal: r.ordinal,
    lastOrdinal: r.last_ordinal,
    status: r.status as ProjectedTurn['status'],
    error: r.error === null ? null : (JSON.parse(r.error) as ProjectedTurn['error']),
    startedAtMs: r.started_ms,
    completedAtMs: r.completed_ms,
    durationMs: r.duration_ms,
    start: r.start_byte,
    end: r.end_byte,
    itemsBefore: r.items_before,
    itemCount: r.item_count,
    items: [],
  };
}

/** One file of a thread's lineage: a paginated fork sees its parent's file up to `cut` (bytes). */
export interface TurnSegment {
  rel: string;
  abs: string;
  zst: boolean;
  cut: number | null;
}

/**
 * Turn rows in a window of positions (`q`, see pageByPosition) across a lineage (root first).
 * `itemsWindow`: the window is about items, so a turn counts when its lines overlap it.
 */
export function turnRowsInWindow(
  stmt: Stmt,
  segments: readonly TurnSegment[],
  q: PositionQuery,
  itemsWindow = false,
): { row: TurnRow; segment: TurnSegment }[] {
  const out: { row: TurnRow; segment: TurnSegment }[] = [];
  const order = q.order === 'asc' ? [...segments] : [...segments].reverse();
  for (const segment of order) {
    if (out.length >= q.limit) break;
    const where = ['rel = ?'];
    const args: unknown[] = [segment.rel];
    if (q.min) {
      where.push(`${itemsWindow ? 'last_ordinal' : 'ordinal'} ${q.min.inclusive ? '>=' : '>'} ?`);
      args.push(q.min.position);
    }
    if (q.max) {
      where.push(`ordinal ${q.max.inclusive ? '<=' : '<'} ?`);
      args.push(q.max.position);
    }
    if (segment.cut !== null) {
      where.push('start_byte < ?');
      args.push(segment.cut);
    }
    const dir = q.order === 'asc' ? 'ASC' : 'DESC';
    const rows = stmt(`SELECT * FROM turns WHERE ${where.join(' AND ')} ORDER BY ordinal ${dir} LIMIT ?`).all(
      ...args,
      q.limit - out.length,
    ) as TurnRow[];
    for (const row of rows) out.push({ row, segment });
  }
  return out;
}

/** A turn by id across a lineage: the first one with that id, root first (as the whole history lists them). */
export function turnRowById(
  stmt: Stmt,
  segments: readonly TurnSegment[],
  turnId: string,
): { row: TurnRow; segment: TurnSegment } | null {
  for (const segment of segments) {
    const row = stmt(
      'SELECT * FROM turns WHERE rel = ? AND turn_id = ? AND (? IS NULL OR start_byte < ?) ORDER BY ordinal LIMIT 1',
    ).get(segment.rel, turnId, segment.cut, segment.cut) as TurnRow | undefined;
    if (row) return { row, segment };
  }
  return null;
}

/** A projector that rebuilds one turn from its first line, with the counters saved in its row. */
function turnReplayer(row: TurnRow): { projector: TurnProjector; result: () => ProjectedItem[] } {
  const list = new TurnList();
  const projector = new TurnProjector(list, {
    keepItems: true,
    state: {
      mode: row.paginated === 1 ? 'paginated' : 'legacy',
      seen: row.ordinal,
      lastOrdinal: null,
      nextItemIndex: row.items_before + 1,
      current: null,
    },
  });
  return {
    projector,
    result: () => {
      projector.finish();
      return list.turns.find((t) => t.ordinal === row.ordinal)?.items ?? [];
    },
  };
}

function byteEnd(row: TurnRow, segment: TurnSegment): number {
  return segment.cut === null ? row.end_byte : Math.min(row.end_byte, segment.cut);
}

/** The items of one turn: its bytes only, projected again from the turn's saved position. */
export async function readTurnItems(row: TurnRow, segment: TurnSegment): Promise<ProjectedItem[]> {
  const end = byteEnd(row, segment);
  if (end <= row.start_byte) return [];
  if (!segment.zst) return readTurnsItemsSync([{ row, segment }])[0] ?? [];
  const { projector, result } = turnReplayer(row);
  for await (const line of readRawLines(segment.abs, { start: row.start_byte, end, zst: true })) {
    if (!line.complete) break;
    const p = parseLine(line.text);
    if (p.kind === 'item' && isHistoryItem(p.item)) projector.observe(p.item, line);
  }
  return result();
}

/**
 * The items of several turns of plain files: one open per file and one synchronous read per
 * turn (a page's turns are a few KB each; an async step per line cost more than the reading).
 */
export function readTurnsItemsSync(turns: readonly { row: TurnRow; segment: TurnSegment }[]): ProjectedItem[][] {
  const fds = new Map<string, number>();
  try {
    return turns.map(({ row, segment }) => {
      const end = byteEnd(row, segment);
      if (end <= row.start_byte) return [];
      let fd = fds.get(segment.abs);
      if (fd === undefined) {
        fd = openSync(segment.abs, 'r');
        fds.set(segment.abs, fd);
      }
      const buf = Buffer.allocUnsafe(end - row.start_byte);
      let n = 0;
      while (n < buf.length) {
        const r = readSync(fd, buf, n, buf.length - n, row.start_byte + n);
        if (r === 0) break;
        n += r;
      }
      const { projector, result } = turnReplayer(row);
      let from = 0;
      for (;;) {
        const nl = buf.indexOf(0x0a, from);
        if (nl < 0 || nl >= n) break;
        const stop = nl > from && buf[nl - 1] === 0x0d ? nl - 1 : nl;
        const text = buf.toString('utf8', from, stop);
        const range = { start: row.start_byte + from, end: row.start_byte + nl + 1 };
        // Response items and other lines no turn cares about are the bulk of the bytes: not parsed.
        if (irrelevantLineTime(text) !== null) projector.skip(range);
        else {
          const p = parseLine(text);
          if (p.kind === 'item' && isHistoryItem(p.item)) projector.observe(p.item, range);
        }
        from = nl + 1;
      }
      return result();
    });
  } finally {
    for (const fd of fds.values()) closeSync(fd);
  }
}
