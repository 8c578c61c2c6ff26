import type { JsonObject } from './rollout-item.js';
import type { ThreadId } from './thread-id.js';
import type { SortDirection } from './types.js';

/**
 * Turn and item pages: a thread's history seen as turns (one user request and what followed it)
 * and the items inside them, in the shapes of Codex's app-server v2 (`thread/turns/list`,
 * `thread/items/list`). Every store derives them from the rollout items with `TurnProjector`,
 * so a history pages the same way whichever store holds it.
 */

/** `notLoaded`: no items; `summary` (default): first user message and final agent message; `full`: all. */
export type StoredTurnItemsView = 'notLoaded' | 'summary' | 'full';

/**
 * `inProgress` only for the last turn of a thread that has a live writer in this store; a turn
 * with no terminal line otherwise reads as `interrupted` (as Codex's app-server reports it).
 */
export type StoredTurnStatus = 'completed' | 'interrupted' | 'failed' | 'inProgress';

/** Why a turn failed. */
export interface StoredTurnError {
  message: string;
  /** Codex's `codex_error_info` and anything else the terminal line carried about the error. */
  additionalDetails: unknown;
}

/** One item of a turn: the app-server v2 `ThreadItem` JSON (camelCase, e.g. `{"type":"userMessage",…}`). */
export interface StoredThreadItem {
  turnId: string;
  /** The item's id: Codex's id in paginated threads, `item-N` (numbered through the thread) in legacy ones. */
  itemId: string;
  /**
   * Where the item starts in the thread's history: the line ordinal in paginated threads, the
   * index of the history item in legacy ones. Increases through the thread; never reused.
   */
  ordinal: number;
  createdAt: Date | null;
  item: JsonObject;
}

/** One turn of a thread: its status and times, and its items as the requested view shows them. */
export interface StoredTurn {
  turnId: string;
  /** Where the turn starts in the history (same scale as StoredThreadItem.ordinal). */
  ordinal: number;
  status: StoredTurnStatus;
  error: StoredTurnError | null;
  startedAt: Date | null;
  completedAt: Date | null;
  durationMs: number | null;
  itemsView: StoredTurnItemsView;
  items: StoredThreadItem[];
}

/** Arguments of `ThreadStore.listTurns`. */
export interface ListTurnsParams {
  threadId: ThreadId;
  includeArchived?: boolean;
  cursor?: string | null;
  /** 1..MAX_HISTORY_PAGE_SIZE; defaults to DEFAULT_TURN_PAGE_SIZE. */
  pageSize?: number;
  /** Defaults to `desc` (newest turn first), as in Codex. */
  sortDirection?: SortDirection;
  /** Defaults to `summary`. */
  itemsView?: StoredTurnItemsView;
}

/** One page of `ThreadStore.listTurns`; cursors work as in `ThreadPage`. */
export interface TurnPage {
  turns: StoredTurn[];
  nextCursor: string | null;
  backwardsCursor: string | null;
}

/** Arguments of `ThreadStore.listItems`. */
export interface ListItemsParams {
  threadId: ThreadId;
  /** Only the items of this turn (an unknown turn is `not_found`). */
  turnId?: string | null;
  includeArchived?: boolean;
  cursor?: string | null;
  /** 1..MAX_HISTORY_PAGE_SIZE; defaults to DEFAULT_ITEM_PAGE_SIZE. */
  pageSize?: number;
  /** Defaults to `asc` (oldest item first), as in Codex. */
  sortDirection?: SortDirection;
}

/** One page of `ThreadStore.listItems`; cursors work as in `ThreadPage`. */
export interface ItemPage {
  items: StoredThreadItem[];
  nextCursor: string | null;
  backwardsCursor: string | null;
}

/** Page size of `listTurns` when none is given. */
export const DEFAULT_TURN_PAGE_SIZE = 20;
/** Page size of `listItems` when none is given. */
export const DEFAULT_ITEM_PAGE_SIZE = 50;
/** The largest page size `listTurns` and `listItems` accept; more is `invalid_request`. */
export const MAX_HISTORY_PAGE_SIZE = 1000;
