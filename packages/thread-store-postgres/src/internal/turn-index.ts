import type { PoolClient } from 'pg';
import { applyTerminal, emptyTurnProjectionState, TurnProjector } from '@skein/thread-store-api';
import type { ProjectedTurn, RolloutItem, TurnProjectionState, TurnSink, TurnTerminal } from '@skein/thread-store-api';

/**
 * The turn index: one `skein_turns` row per turn of a thread's own rows, with its positions
 * (ordinal, last ordinal), status and times, and its item rows as a range of seqs
 * (`start_seq` ≤ seq < `end_seq`). Appends feed their items through a TurnProjector whose state
 * (the open turn and the counters) is kept on the thread row (`turn_state`, `turn_seq`: how many
 * item rows it has seen), so an append projects only its own items. A page of turns is then a
 * keyset query on the rows plus a read of each page turn's item rows (turn-pages.ts), never the
 * whole history.
 */

export interface TurnRow {
  thread_id: string;
  ordinal: string;
  last_ordinal: string;
  turn_id: string;
  open: boolean;
  paginated: boolean;
  status: string;
  error: string | null;
  started_ms: string | null;
  completed_ms: string | null;
  duration_ms: string | null;
  start_seq: string;
  end_seq: string;
  items_before: string;
  item_count: string;
}

export const TURN_COLUMNS =
  'thread_id, ordinal, last_ordinal, turn_id, open, paginated, status, error, started_ms, completed_ms, duration_ms, start_seq, end_seq, items_before, item_count';

const n = (v: string | null): number | null => (v === null ? null : Number(v));

export function turnFromRow(r: TurnRow): ProjectedTurn {
  return {
    turnId: r.turn_id,
    ordinal: Number(r.ordinal),
    lastOrdinal: Number(r.last_ordinal),
    status: r.status as ProjectedTurn['status'],
    error: r.error === null ? null : (JSON.parse(r.error) as ProjectedTurn['error']),
    startedAtMs: n(r.started_ms),
    completedAtMs: n(r.completed_ms),
    durationMs: n(r.duration_ms),
    start: Number(r.start_seq),
    end: Number(r.end_seq),
    itemsBefore: Number(r.items_before),
    itemCount: Number(r.item_count),
    items: [],
  };
}

/** A finished turn of earlier appends, as loaded for this one. */
interface Committed {
  turn: ProjectedTurn;
  dirty: boolean;
}

/**
 * Where one append's turns go. Terminal lines and rollbacks can reach turns of earlier appends,
 * and the sink's calls are synchronous: with `committed` null (not loaded), the sink records
 * which earlier turns were asked for, and the append is projected again with those loaded.
 */
class AppendSink implements TurnSink {
  readonly finishedTurns: ProjectedTurn[] = [];
  readonly dropped = new Set<number>();
  /** Turn ids looked up among earlier appends' turns, and whether all of them were needed. */
  readonly asked = { ids: new Set<string>(), all: false };

  constructor(
    /** Loaded finished turns of earlier appends, by ascending ordinal; null: none loaded. */
    private readonly committed: Committed[] | null,
  ) {}

  get dirty(): ProjectedTurn[] {
    return (this.committed ?? []).filter((c) => c.dirty && !this.dropped.has(c.turn.ordinal)).map((c) => c.turn);
  }

  finished(turn: ProjectedTurn): void {
    this.finishedTurns.push(turn);
  }

  // The first finished turn with the id, as the whole-history projection (TurnList) finds it.
  updateFinished(turnId: string, update: TurnTerminal): boolean {
    if (this.committed === null) this.asked.ids.add(turnId);
    const old = this.committed?.find((c) => c.turn.turnId === turnId && !this.dropped.has(c.turn.ordinal));
    if (old) {
      applyTerminal(old.turn, update);
      old.dirty = true;
      return true;
    }
    const mine = this.finishedTurns.find((t) => t.turnId === turnId);
    if (!mine) return false;
    applyTerminal(mine, update);
    return true;
  }

  rollback(count: number): number {
    if (this.committed === null) this.asked.all = true;
    const mine = Math.min(count, this.finishedTurns.length);
    this.finishedTurns.splice(this.finishedTurns.length - mine);
    let left = count - mine;
    let items = this.finishedTurns.reduce((sum, t) => sum + t.itemCount, 0);
    for (const c of [...(this.committed ?? [])].reverse()) {
      if (this.dropped.has(c.turn.ordinal)) continue;
      if (left > 0) {
        this.dropped.add(c.turn.ordinal);
        left -= 1;
      } else items += c.turn.itemCount;
    }
    return items;
  }
}

/** An implicit turn with nothing in it is not a turn (TurnProjector drops it when it finishes). */
function keptOpen(t: TurnProjectionState['current']): t is NonNullable<TurnProjectionState['current']> {
  return t !== null && (t.itemCount > 0 || t.explicit || t.sawCompaction);
}

/** Rows per INSERT of turn rows. */
const TURN_INSERT_ROWS = 500;

async function writeTurns(
  db: PoolClient,
  tenant: string,
  threadId: string,
  turns: readonly { t: ProjectedTurn; open: boolean }[],
  paginated: boolean,
): Promise<void> {
  for (let i = 0; i < turns.length; i += TURN_INSERT_ROWS) {
    const chunk = turns.slice(i, i + TURN_INSERT_ROWS);
    const col = <T>(f: (x: { t: ProjectedTurn; open: boolean }) => T): T[] => chunk.map(f);
    await db.query(
      `INSERT INTO skein_turns (tenant, ${TURN_COLUMNS})
       SELECT $1, $2, x.* FROM unnest($3::bigint[], $4::bigint[], $5::text[], $6::boolean[], $7::boolean[], $8::text[],
         $9::text[], $10::bigint[], $11::bigint[], $12::bigint[], $13::bigint[], $14::bigint[], $15::bigint[], $16::bigint[])
         AS x(ordinal, last_ordinal, turn_id, open, paginated, status, error, started_ms, completed_ms, duration_ms,
              start_seq, end_seq, items_before, item_count)
       ON CONFLICT (tenant, thread_id, ordinal) DO UPDATE SET last_ordinal = excluded.last_ordinal,
         turn_id = excluded.turn_id, open = excluded.open, paginated = excluded.paginated, status = excluded.status,
         error = excluded.error, started_ms = excluded.started_ms, completed_ms = excluded.completed_ms,
         duration_ms = excluded.duration_ms, start_seq = excluded.start_seq, end_seq = excluded.end_seq,
         items_before = excluded.items_before, item_count = excluded.item_count`,
      [
        tenant,
        threadId,
        col((x) => x.t.ordinal),
        col((x) => x.t.lastOrdinal),
        col((x) => x.t.turnId),
        col((x) => x.open),
        col(() => paginated),
        col((x) => x.t.status),
        col((x) => (x.t.error ? JSON.stringify(x.t.error) : null)),
        col((x) => x.t.startedAtMs),
        col((x) => x.t.completedAtMs),
        col((x) => x.t.durationMs),
        col((x) => x.t.start ?? 0),
        col((x) => x.t.end ?? 0),
        col((x) => x.t.itemsBefore),
        col((x) => x.t.itemCount),
      ],
    );
  }
}

/** An append projected into the turn index: the projector's state after it, and its rows to write. */
export interface ProjectedAppend {
  /** The state to keep on the thread row (`turn_state`). */
  state: TurnProjectionState;
  /** Writes the append's turn rows (after the thread row exists). */
  write(db: PoolClient): Promise<void>;
}

function project(
  state: TurnProjectionState | null,
  fromSeq: number,
  items: readonly RolloutItem[],
  committed: Committed[] | null,
): { sink: AppendSink; state: TurnProjectionState } {
  const sink = new AppendSink(committed);
  const start =
    state === null ? emptyTurnProjectionState() : (JSON.parse(JSON.stringify(state)) as TurnProjectionState);
  const projector = new TurnProjector(sink, { state: start });
  for (const [i, item] of items.entries()) projector.observe(item, { start: fromSeq + i, end: fromSeq + i + 1 });
  return { sink, state: projector.state };
}

/**
 * Projects `items` (the thread's item rows from `fromSeq` on) into the turn index, continuing
 * from `state` (null: the thread's first rows). Reads only the earlier turns a terminal line or
 * a rollback of the append reaches (usually none: a terminal line ends the open turn).
 */
export async function projectAppend(
  db: PoolClient,
  tenant: string,
  threadId: string,
  state: TurnProjectionState | null,
  fromSeq: number,
  items: readonly RolloutItem[],
): Promise<ProjectedAppend> {
  let r = project(state, fromSeq, items, state === null ? [] : null);
  const { ids, all } = r.sink.asked;
  if (all || ids.size > 0) {
    const loaded = await db.query<TurnRow>(
      `SELECT ${TURN_COLUMNS} FROM skein_turns WHERE tenant = $1 AND thread_id = $2 AND NOT open
       ${all ? '' : 'AND turn_id = ANY($3::text[])'} ORDER BY ordinal`,
      all ? [tenant, threadId] : [tenant, threadId, [...ids]],
    );
    r = project(
      state,
      fromSeq,
      items,
      loaded.rows.map((row) => ({ turn: turnFromRow(row), dirty: false })),
    );
  }
  const { sink, state: after } = r;
  const wasOpen = state?.current?.ordinal;
  return {
    state: after,
    write: async (w) => {
      // The open row of the last append goes; its turn is written again, finished or still open.
      if (wasOpen !== undefined)
        await w.query('DELETE FROM skein_turns WHERE tenant = $1 AND thread_id = $2 AND ordinal = $3 AND open', [
          tenant,
          threadId,
          wasOpen,
        ]);
      if (sink.dropped.size > 0)
        await w.query('DELETE FROM skein_turns WHERE tenant = $1 AND thread_id = $2 AND ordinal = ANY($3::bigint[])', [
          tenant,
          threadId,
          [...sink.dropped],
        ]);
      const rows = [
        ...sink.dirty.map((t) => ({ t, open: false })),
        ...sink.finishedTurns.map((t) => ({ t, open: false })),
        ...(keptOpen(after.current) ? [{ t: openRow(after.current), open: true }] : []),
      ];
      await writeTurns(w, tenant, threadId, rows, after.mode === 'paginated');
    },
  };
}

/** projectAppend with its rows written and its state kept on the thread row (`turn_seq`: rows seen). */
export async function indexAppend(
  db: PoolClient,
  tenant: string,
  threadId: string,
  state: TurnProjectionState | null,
  fromSeq: number,
  items: readonly RolloutItem[],
): Promise<TurnProjectionState> {
  const p = await projectAppend(db, tenant, threadId, state, fromSeq, items);
  await p.write(db);
  await db.query('UPDATE skein_threads SET turn_state = $3, turn_seq = $4 WHERE tenant = $1 AND thread_id = $2', [
    tenant,
    threadId,
    JSON.stringify(p.state),
    fromSeq + items.length,
  ]);
  return p.state;
}

function openRow(t: NonNullable<TurnProjectionState['current']>): ProjectedTurn {
  const { explicit, sawCompaction, lastReasoning, ...turn } = t;
  void explicit;
  void sawCompaction;
  void lastReasoning;
  return turn;
}

/** Item rows read per round trip while a thread is indexed from its first row. */
const REINDEX_BATCH = 2000;

/**
 * Builds a thread's turn index from all its item rows (threads written before the index, or by
 * a server that did not keep it), inside the caller's transaction: one batch of rows at a time
 * (a keyset query per batch), each projected and written before the next is read.
 */
export async function reindexThread(db: PoolClient, tenant: string, threadId: string): Promise<TurnProjectionState> {
  await db.query('DELETE FROM skein_turns WHERE tenant = $1 AND thread_id = $2', [tenant, threadId]);
  let state: TurnProjectionState | null = null;
  let seq = 0;
  for (;;) {
    const r = await db.query<{ line: string }>(
      `SELECT line FROM skein_items WHERE tenant = $1 AND thread_id = $2 AND seq >= $3 ORDER BY seq LIMIT ${REINDEX_BATCH}`,
      [tenant, threadId, seq],
    );
    if (r.rows.length === 0 && state !== null) return state;
    state = await indexAppend(
      db,
      tenant,
      threadId,
      state,
      seq,
      r.rows.map((row) => JSON.parse(row.line) as RolloutItem),
    );
    seq += r.rows.length;
    if (r.rows.length < REINDEX_BATCH) return state;
  }
}
