import { parseRolloutTime } from './derive.js';
import type { StoredTurnError } from './history-types.js';
import { isObject } from './rollout-item.js';
import type { HistoryMode, JsonObject, RolloutItem } from './rollout-item.js';
import { legacyAgentMessageItem, legacyUserMessageItem, reasoningItem, turnItemToThreadItem } from './thread-items.js';

/**
 * Turns and items from rollout items, line by line, the way Codex builds them:
 *
 * - **paginated** threads (the projection into `thread_history_1.sqlite`): a turn is opened by
 *   `task_started` and ended by `task_complete` (`failed` when it carries an `error`) or
 *   `turn_aborted` (`interrupted`); a terminal line for a turn never started still makes one;
 *   items are the `item_completed` events of the open turn, with Codex's own ids; a line without
 *   an ordinal, or with one not above the last, is skipped as Codex skips it.
 * - **legacy** threads (app-server's `build_turns_from_rollout_items`): `task_started` opens a
 *   turn explicitly; a `user_message` outside an explicit turn starts an implicit one; messages,
 *   reasoning (consecutive reasoning lines merge into one item), compactions, reviews, plans, web
 *   searches and image generations become items numbered `item-1`, `item-2`, … through the
 *   thread; `thread_rolled_back` drops the last turns. Implicit turns get the stable id
 *   `legacy-turn-<ordinal>` (Codex draws a random one on every read).
 *
 * Differences from Codex, on purpose: items reach only the open turn (Codex also updates items
 * of an earlier turn named by a late event); tool-call end events other than web search and
 * image generation are not shown as items.
 *
 * The projector keeps a small JSON state (`state`), so an index can feed a file's lines in
 * several passes; finished turns go to a `TurnSink`. With `keepItems` the items of each turn
 * are built too; without it only their count is kept (enough for an index).
 */

/** @internal */
export interface ProjectedItem {
  turnId: string;
  itemId: string;
  ordinal: number;
  createdAtMs: number | null;
  item: JsonObject;
}

/** @internal */
export interface ProjectedTurn {
  turnId: string;
  /** Position of the turn's first line. */
  ordinal: number;
  /** Position of the turn's last line. */
  lastOrdinal: number;
  /** `inProgress` here means: no terminal line (yet). */
  status: 'completed' | 'interrupted' | 'failed' | 'inProgress';
  error: StoredTurnError | null;
  startedAtMs: number | null;
  completedAtMs: number | null;
  durationMs: number | null;
  /** Byte offset of the first line, when the caller gave ranges. */
  start: number | null;
  /** Byte offset just after the last line, when the caller gave ranges. */
  end: number | null;
  /** The legacy item counter when the turn was opened (its first `item-N` is `itemsBefore + 1`). */
  itemsBefore: number;
  itemCount: number;
  items: ProjectedItem[];
}

/** A turn still being projected. @internal */
export interface OpenTurn extends ProjectedTurn {
  explicit: boolean;
  sawCompaction: boolean;
  /** The last item was a legacy reasoning item (the next reasoning line extends it). */
  lastReasoning: boolean;
}

/** @internal */
export interface TurnProjectionState {
  mode: HistoryMode | null;
  /** History items seen: the position of the next legacy line. */
  seen: number;
  /** Last ordinal accepted (paginated). */
  lastOrdinal: number | null;
  nextItemIndex: number;
  current: OpenTurn | null;
}

/**
 * What a terminal line sets on a turn.
 *
 * @internal
 */
export interface TurnTerminal {
  status: ProjectedTurn['status'];
  error?: StoredTurnError | null;
  completedAtMs?: number | null;
  durationMs?: number | null;
}

/**
 * Where finished turns go.
 *
 * @internal
 */
export interface TurnSink {
  finished(turn: ProjectedTurn): void;
  /** A terminal line for a turn that already finished; false when no finished turn has that id. */
  updateFinished(turnId: string, update: TurnTerminal): boolean;
  /** Drops the last `n` finished turns; returns how many items the remaining turns hold. */
  rollback(n: number): number;
}

/** @internal */
export interface ByteRange {
  start: number;
  end: number;
}

/** @internal */
export function emptyTurnProjectionState(): TurnProjectionState {
  return { mode: null, seen: 0, lastOrdinal: null, nextItemIndex: 1, current: null };
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const secondsToMs = (v: unknown): number | null => {
  const n = num(v);
  return n === null ? null : Math.round(n * 1000);
};

function turnError(v: unknown): StoredTurnError | null {
  if (!isObject(v)) return null;
  const { message, ...rest } = v;
  return {
    message: typeof message === 'string' ? message : '',
    additionalDetails: Object.keys(rest).length > 0 ? rest : null,
  };
}

/** @internal */
export class TurnProjector {
  readonly state: TurnProjectionState;
  private readonly sink: TurnSink;
  private readonly keepItems: boolean;

  constructor(sink: TurnSink, opts: { state?: TurnProjectionState; keepItems?: boolean } = {}) {
    this.sink = sink;
    this.keepItems = opts.keepItems ?? false;
    this.state = opts.state ? structuredClone(opts.state) : emptyTurnProjectionState();
  }

  /**
   * A history line that cannot matter to turns, seen without parsing it (an index's shortcut for
   * response items and the like in legacy files): it takes a position and extends the open turn.
   */
  skip(range?: ByteRange): void {
    if (this.state.mode === 'paginated') return;
    const ordinal = this.state.seen++;
    this.extend(ordinal, range);
  }

  /** One history item, in order. */
  observe(item: RolloutItem, range?: ByteRange): void {
    const s = this.state;
    if (s.mode === null)
      s.mode =
        item.type === 'session_meta' && isObject(item.payload) && item.payload.history_mode === 'paginated'
          ? 'paginated'
          : 'legacy';
    let ordinal: number;
    if (s.mode === 'paginated') {
      const o = item.ordinal;
      if (typeof o !== 'number' || !Number.isInteger(o) || o < 0) return;
      if (s.lastOrdinal !== null && o <= s.lastOrdinal) return;
      s.lastOrdinal = o;
      ordinal = o;
    } else {
      ordinal = s.seen++;
    }
    const line: Line = { item, ordinal, range };
    if (item.type === 'event_msg' && isObject(item.payload)) {
      if (s.mode === 'paginated') this.paginatedEvent(item.payload, line);
      else this.legacyEvent(item.payload, line);
    } else if (item.type === 'compacted' && s.mode === 'legacy') {
      this.ensureTurn(line).sawCompaction = true;
    }
    this.extend(ordinal, range);
  }

  /** Finishes the open turn (call at the end of the history). */
  finish(): void {
    this.finishCurrent();
  }

  // ---- paginated -------------------------------------------------------------------------------

  private paginatedEvent(p: JsonObject, line: Line): void {
    switch (p.type) {
      case 'task_started':
        if (typeof p.turn_id !== 'string') return;
        this.finishCurrent();
        this.openTurn(p.turn_id, line, true).startedAtMs = secondsToMs(p.started_at);
        return;
      case 'task_complete':
        if (typeof p.turn_id !== 'string') return;
        this.paginatedTerminal(p.turn_id, completion(p), line);
        return;
      case 'turn_aborted':
        if (typeof p.turn_id !== 'string') return;
        this.paginatedTerminal(p.turn_id, { status: 'interrupted' }, line);
        return;
      case 'item_completed': {
        const t = this.state.current;
        if (typeof p.thread_id !== 'string' || !t || t.turnId !== p.turn_id) return;
        const item = turnItemToThreadItem(p.item);
        if (!item) return;
        // Codex's user and agent messages carry the times the event recorded (null when none).
        if (item.type === 'userMessage' || item.type === 'agentMessage') {
          item.startedAtMs = num(p.started_at_ms);
          item.completedAtMs = num(p.completed_at_ms);
        }
        this.upsert(t, item, line, num(p.started_at_ms));
        return;
      }
      default:
        return;
    }
  }

  /** A terminal line ends the open turn it names, updates a finished one, or makes a turn of its own. */
  private paginatedTerminal(turnId: string, update: TurnTerminal, line: Line): void {
    const t = this.state.current;
    if (t && t.turnId === turnId) {
      applyTerminal(t, update);
      this.extend(line.ordinal, line.range);
      this.finishCurrent();
      return;
    }
    if (this.sink.updateFinished(turnId, update)) return;
    this.finishCurrent();
    applyTerminal(this.openTurn(turnId, line, true), update);
    this.finishCurrent();
  }

  // ---- legacy ----------------------------------------------------------------------------------

  private legacyEvent(p: JsonObject, line: Line): void {
    switch (p.type) {
      case 'task_started':
        this.finishCurrent();
        this.openTurn(typeof p.turn_id === 'string' ? p.turn_id : null, line, true).startedAtMs = secondsToMs(
          p.started_at,
        );
        return;
      case 'task_complete':
        this.legacyTerminal(p.turn_id, completion(p), line, true);
        return;
      case 'turn_aborted':
        this.legacyTerminal(p.turn_id, { status: 'interrupted' }, line, false);
        return;
      case 'user_message': {
        const cur = this.state.current;
        if (cur && !cur.explicit && !(cur.sawCompaction && cur.itemCount === 0)) this.finishCurrent();
        const t = this.state.current ?? this.openTurn(null, line, false);
        this.push(t, legacyUserMessageItem(this.nextItemId(), p), line);
        return;
      }
      case 'agent_message':
        if (typeof p.message !== 'string' || p.message === '') return;
        this.push(this.ensureTurn(line), legacyAgentMessageItem(this.nextItemId(), p), line);
        return;
      case 'agent_reasoning':
        this.reasoning(p.text, 'summary', line);
        return;
      case 'agent_reasoning_raw_content':
        this.reasoning(p.text, 'content', line);
        return;
      case 'context_compacted':
        this.push(this.ensureTurn(line), { type: 'contextCompaction', id: this.nextItemId() }, line);
        return;
      case 'entered_review_mode': {
        const review = typeof p.user_facing_hint === 'string' ? p.user_facing_hint : 'Review requested.';
        this.push(this.ensureTurn(line), { type: 'enteredReviewMode', id: this.nextItemId(), review }, line);
        return;
      }
      case 'exited_review_mode': {
        const out = isObject(p.review_output) ? p.review_output : null;
        const text = typeof out?.overall_explanation === 'string' ? out.overall_explanation.trim() : '';
        const review = text !== '' ? text : 'Reviewer failed to output a response.';
        this.push(this.ensureTurn(line), { type: 'exitedReviewMode', id: this.nextItemId(), review }, line);
        return;
      }
      case 'item_completed': {
        // Legacy rollouts keep item_completed for plans only; it updates the turn it names.
        const it = p.item;
        const t = this.state.current;
        if (!isObject(it) || it.type !== 'Plan' || typeof it.text !== 'string' || it.text === '') return;
        if (!t || t.turnId !== p.turn_id) return;
        const item = turnItemToThreadItem(it);
        if (item) this.upsert(t, item, line);
        return;
      }
      case 'web_search_end':
        if (typeof p.call_id !== 'string') return;
        this.upsert(
          this.ensureTurn(line),
          {
            type: 'webSearch',
            id: p.call_id,
            query: typeof p.query === 'string' ? p.query : '',
            action: p.action ?? null,
          },
          line,
        );
        return;
      case 'image_generation_end':
        if (typeof p.call_id !== 'string') return;
        this.upsert(
          this.ensureTurn(line),
          {
            type: 'imageGeneration',
            id: p.call_id,
            status: typeof p.status === 'string' ? p.status : '',
            revisedPrompt: typeof p.revised_prompt === 'string' ? p.revised_prompt : null,
            result: typeof p.result === 'string' ? p.result : '',
          },
          line,
        );
        return;
      case 'thread_rolled_back': {
        this.finishCurrent();
        const n = num(p.num_turns);
        const remaining = this.sink.rollback(n === null || n < 0 ? 0 : Math.floor(n));
        this.state.nextItemIndex = remaining + 1;
        return;
      }
      default:
        return;
    }
  }

  /**
   * Codex's rules: a terminal line applies to the open turn it names, else to a finished turn it
   * names, else to the open turn; `task_complete` ends the open turn, `turn_aborted` only marks it.
   */
  private legacyTerminal(turnId: unknown, update: TurnTerminal, line: Line, ends: boolean): void {
    const t = this.state.current;
    const apply = (x: OpenTurn): void => applyTerminal(x, update);
    const named = typeof turnId === 'string' ? turnId : null;
    if (named !== null && t && t.turnId === named) {
      apply(t);
    } else if (named !== null && this.sink.updateFinished(named, update)) {
      return;
    } else if (t) {
      apply(t);
    } else {
      return;
    }
    if (ends) {
      this.extend(line.ordinal, line.range);
      this.finishCurrent();
    }
  }

  private reasoning(text: unknown, field: 'summary' | 'content', line: Line): void {
    if (typeof text !== 'string' || text === '') return;
    const t = this.ensureTurn(line);
    if (t.lastReasoning) {
      const last = t.items[t.items.length - 1];
      if (last) (last.item[field] as string[]).push(text);
      return;
    }
    const id = this.nextItemId();
    this.push(t, reasoningItem(id, field === 'summary' ? [text] : [], field === 'content' ? [text] : []), line);
    t.lastReasoning = true;
  }

  // ---- turns and items -------------------------------------------------------------------------

  private extend(ordinal: number, range: ByteRange | undefined): void {
    const t = this.state.current;
    if (!t || ordinal < t.ordinal) return;
    t.lastOrdinal = ordinal;
    if (range) t.end = range.end;
  }

  private openTurn(turnId: string | null, line: Line, explicit: boolean): OpenTurn {
    const t: OpenTurn = {
      turnId: turnId ?? `legacy-turn-${line.ordinal}`,
      ordinal: line.ordinal,
      lastOrdinal: line.ordinal,
      status: explicit ? 'inProgress' : 'completed',
      error: null,
      startedAtMs: null,
      completedAtMs: null,
      durationMs: null,
      start: line.range ? line.range.start : null,
      end: line.range ? line.range.end : null,
      itemsBefore: this.state.nextItemIndex - 1,
      itemCount: 0,
      items: [],
      explicit,
      sawCompaction: false,
      lastReasoning: false,
    };
    this.state.current = t;
    return t;
  }

  private ensureTurn(line: Line): OpenTurn {
    return this.state.current ?? this.openTurn(null, line, false);
  }

  private finishCurrent(): void {
    const t = this.state.current;
    if (!t) return;
    this.state.current = null;
    if (t.itemCount === 0 && !t.explicit && !t.sawCompaction) return;
    const { explicit, sawCompaction, lastReasoning, ...turn } = t;
    void explicit;
    void sawCompaction;
    void lastReasoning;
    this.sink.finished(turn);
  }

  private nextItemId(): string {
    return `item-${this.state.nextItemIndex++}`;
  }

  private push(t: OpenTurn, item: JsonObject, line: Line, createdAtMs?: number | null): void {
    t.itemCount += 1;
    t.lastReasoning = false;
    if (!this.keepItems) return;
    const created = createdAtMs ?? parseRolloutTime(line.item.timestamp)?.getTime() ?? null;
    t.items.push({ turnId: t.turnId, itemId: String(item.id), ordinal: line.ordinal, createdAtMs: created, item });
  }

  /** Replaces the open turn's item that has the same id, or adds the item. */
  private upsert(t: OpenTurn, item: JsonObject, line: Line, createdAtMs?: number | null): void {
    const existing = t.items.find((x) => x.itemId === item.id);
    if (existing) {
      existing.item = item;
      t.lastReasoning = false;
      return;
    }
    this.push(t, item, line, createdAtMs);
  }
}

interface Line {
  item: RolloutItem;
  ordinal: number;
  range: ByteRange | undefined;
}

/**
 * Sets a terminal line's facts on a turn; a completion never turns an interrupted or failed turn back into a completed one.
 *
 * @internal
 */
export function applyTerminal(t: Pick<ProjectedTurn, keyof TurnTerminal>, update: TurnTerminal): void {
  const { status, ...rest } = update;
  if (status !== 'completed' || t.status === 'completed' || t.status === 'inProgress') t.status = status;
  if (rest.error !== undefined) t.error = rest.error;
  if (rest.completedAtMs !== undefined) t.completedAtMs = rest.completedAtMs;
  if (rest.durationMs !== undefined) t.durationMs = rest.durationMs;
}

function completion(p: JsonObject): TurnTerminal {
  const error = turnError(p.error);
  return {
    status: error ? 'failed' : 'completed',
    error,
    completedAtMs: secondsToMs(p.completed_at),
    durationMs: num(p.duration_ms),
  };
}

/**
 * Collects finished turns (with their items) in memory: the sink of `buildTurns`.
 *
 * @internal
 */
export class TurnList implements TurnSink {
  readonly turns: ProjectedTurn[] = [];

  finished(turn: ProjectedTurn): void {
    this.turns.push(turn);
  }

  updateFinished(turnId: string, update: TurnTerminal): boolean {
    const t = this.turns.find((x) => x.turnId === turnId);
    if (!t) return false;
    applyTerminal(t, update);
    return true;
  }

  rollback(n: number): number {
    this.turns.splice(Math.max(0, this.turns.length - n));
    return this.turns.reduce((sum, t) => sum + t.itemCount, 0);
  }
}

/**
 * Every turn of a history, with items (the open turn last, still `inProgress` if unterminated).
 *
 * @internal
 */
export function buildTurns(items: Iterable<RolloutItem>): ProjectedTurn[] {
  const list = new TurnList();
  const p = new TurnProjector(list, { keepItems: true });
  for (const item of items) p.observe(item);
  p.finish();
  return list.turns;
}
