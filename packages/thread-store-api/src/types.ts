import type { HistoryBase } from './history-base.js';
import type { HistoryMode, MemoryMode, RolloutItem, SessionMetaItem } from './rollout-item.js';
import type { SessionSource, SessionSourceFilter } from './session-source.js';
import type { ThreadId } from './thread-id.js';

/** The git state of a thread's working directory when it started. */
export interface GitInfo {
  sha: string | null;
  branch: string | null;
  originUrl: string | null;
}

/** Token counts of a thread, as the model reported them last. */
export interface TokenUsage {
  inputTokens: number;
  cachedInputTokens: number;
  outputTokens: number;
  reasoningOutputTokens: number;
  totalTokens: number;
}

/** A thread's summary, as read, listed, updated and unarchived. Times carry milliseconds. */
export interface StoredThread {
  threadId: ThreadId;
  /** Shared by a root thread and all of its sub-agents; equals threadId for root threads. */
  sessionId: string;
  forkedFromId: ThreadId | null;
  parentThreadId: ThreadId | null;
  /** Usually the first user message; `''` when the thread has none. */
  preview: string;
  /** The user-given name, or null. */
  name: string | null;
  /** Never empty: falls back to the store's default provider. */
  modelProvider: string;
  model: string | null;
  reasoningEffort: string | null;
  createdAt: Date;
  updatedAt: Date;
  /** Product recency: moves forward on turn starts only. */
  recencyAt: Date;
  archivedAt: Date | null;
  /** `''` when unknown. */
  cwd: string;
  cliVersion: string;
  source: SessionSource;
  threadSource: string | null;
  agentNickname: string | null;
  agentRole: string | null;
  agentPath: string | null;
  gitInfo: GitInfo | null;
  approvalMode: string | null;
  sandboxPolicy: unknown;
  tokenUsage: TokenUsage | null;
  firstUserMessage: string | null;
  historyMode: HistoryMode;
  memoryMode: MemoryMode;
  /** Absolute path of the rollout file: local stores only (always the `.jsonl` form). */
  rolloutPath: string | null;
}

/** A thread with its history, when `includeHistory` was asked for. The iterable is one-shot. */
export interface StoredThreadWithHistory extends StoredThread {
  history?: AsyncIterable<RolloutItem>;
}

/** What a store needs to know about a thread to place and index it. */
export interface ThreadPersistenceMetadata {
  /** Working directory of the thread; required by stores that keep files. */
  cwd: string;
  modelProvider: string;
  memoryMode?: MemoryMode;
}

/** Arguments of `ThreadStore.createThread`. */
export interface CreateThreadParams {
  threadId: ThreadId;
  /** Defaults to threadId. */
  sessionId?: string;
  forkedFromId?: ThreadId | null;
  parentThreadId?: ThreadId | null;
  source: SessionSource;
  threadSource?: string | null;
  /** The client's name, e.g. `skein` or `codex_cli_rs`. */
  originator?: string;
  cliVersion?: string;
  /** Written to `session_meta.base_instructions`. */
  baseInstructions?: unknown;
  dynamicTools?: unknown[];
  gitInfo?: GitInfo | null;
  /**
   * The rollout format: `paginated` (what Codex 0.169 writes) or `legacy`. Absent: the store's
   * default. Stores that write only one format reject the other with `unsupported`.
   */
  historyMode?: HistoryMode;
  /**
   * Fork by reference: the new thread's history begins with the history of `threadId` up to the
   * end of its turn number `turns` (1-based; all of it when absent), which the new thread points
   * at instead of copying (Codex's paginated `history_base`). Stores that cannot reference a
   * parent reject it with `unsupported`; the caller then copies the history into the fork.
   */
  forkBase?: { threadId: ThreadId; turns?: number };
  /** Creation time (defaults to now). */
  createdAt?: Date;
  metadata: ThreadPersistenceMetadata;
  /**
   * The thread's `session_meta` item exactly as another store recorded it, written as the first
   * line instead of the one the store would make from these parameters (moving a thread between
   * stores without changing a byte of it). Its `payload.id` must be `threadId`; a payload with
   * `history_mode: "paginated"` makes the thread paginated where the store writes that format. The
   * other parameters still describe the thread to the store and should agree with it.
   *
   * A payload with `history_base` (see `HistoryBase`; it needs `history_mode: "paginated"`)
   * makes the thread a fork by reference with exactly that base, as Codex wrote it: the store
   * keeps the reference, not a copy; the items appended afterwards are the thread's own (a
   * paginated store numbers them from `end_ordinal_exclusive`); its history reads as the base's
   * items up to the one numbered `end_ordinal_exclusive - 1`, then its own. The base must already
   * be in the store with that item (a store with files also checks that the base's line ends at
   * `end_byte_offset`); otherwise the call is `invalid_request`. A store that cannot keep a
   * reference rejects it with `unsupported`; the caller then copies the inherited items instead.
   * Not with `forkBase`.
   */
  sessionMeta?: SessionMetaItem;
}

/** Arguments of `ThreadStore.resumeThread`. */
export interface ResumeThreadParams {
  threadId: ThreadId;
  /** Allow resuming an archived thread (it stays archived). */
  includeArchived?: boolean;
  /** Applies to future writes only; never overrides facts found in the history. */
  metadata?: Partial<ThreadPersistenceMetadata>;
  /**
   * Starts a new segment of the thread (what Codex's `thread/revert` does; see `ThreadSegment`):
   * the writer's items go to the new segment, whose first line is `sessionMeta` as given. Stores
   * without `listSegments` reject it with `unsupported`. See `NewSegment` for the rules.
   */
  segment?: NewSegment;
}

/**
 * One rollout of a paginated thread, oldest first in `ThreadStore.listSegments`. A thread's first
 * rollout has the thread's id as its rollout id. Codex's `thread/revert` does not truncate a
 * paginated thread: it starts a new segment, a rollout of its own (its file is
 * `rollout-<stamp>-<thread id>_<rollout id>.jsonl`) whose `session_meta` has the thread's id and a
 * `history_base` naming an earlier rollout of the thread and the cut (the reverted turn's start).
 * The thread then reads as its newest segment's history (its base's items up to the cut, then its
 * own), and appends go to the newest segment. A fork's `history_base.thread_id` names a rollout,
 * so a fork of a reverted thread names the segment it was cut from.
 */
export interface ThreadSegment {
  /** The rollout's id: the thread id for its first rollout, a new id for each later segment. */
  rolloutId: ThreadId;
  /** The rollout's `history_base` (a later segment always has one; a fork's first rollout too). */
  historyBase: HistoryBase | null;
}

/** Arguments of `ThreadStore.listSegments`. */
export interface ListSegmentsParams {
  threadId: ThreadId;
  includeArchived?: boolean;
}

/**
 * A new segment for `ResumeThreadParams.segment`. `sessionMeta` must be a paginated
 * `session_meta` whose `payload.id` is the thread's id, with a `history_base` whose `thread_id` is
 * one of the thread's rollouts (not a later segment's own id) and whose cut exists there
 * (`invalid_request` otherwise; a legacy thread is `invalid_request` too). `rolloutId` must be a
 * new id that sorts after the thread's id and every rollout id it has (the newest segment is the
 * one with the greatest id, as in a Codex home; a UUIDv7 made now qualifies): an id that sorts
 * before is `invalid_request`, the id of a thread or of a rollout the store holds is `conflict`. Like `createThread`,
 * nothing is written until the first `persistThread` or flush with items; a writer shut down
 * before that leaves no segment.
 */
export interface NewSegment {
  rolloutId: ThreadId;
  sessionMeta: SessionMetaItem;
}

/** Arguments of `ThreadStore.appendItems`. */
export interface AppendItemsParams {
  threadId: ThreadId;
  items: readonly RolloutItem[];
}

/** Arguments of `ThreadStore.loadHistory`. */
export interface LoadHistoryParams {
  threadId: ThreadId;
  includeArchived?: boolean;
  /**
   * One rollout's own items instead of the thread's history: the lines of that segment as stored,
   * from its `session_meta` on, without what its `history_base` inherits (see `ThreadSegment`). A
   * rollout id that is not one of the thread's is `not_found`; stores without `listSegments` reject
   * it with `unsupported`.
   */
  rolloutId?: ThreadId;
}

/** Arguments of `ThreadStore.readThread`. */
export interface ReadThreadParams {
  threadId: ThreadId;
  includeArchived?: boolean;
  includeHistory?: boolean;
}

/** Arguments of `ThreadStore.readThreadByRolloutPath`. */
export interface ReadThreadByRolloutPathParams {
  rolloutPath: string;
  includeArchived?: boolean;
  includeHistory?: boolean;
}

/** The time a thread list is sorted by. */
export type ThreadSortKey = 'createdAt' | 'updatedAt' | 'recencyAt';
/** Sort order of a thread list. */
export type SortDirection = 'asc' | 'desc';

/**
 * Where a thread listing starts: a position in the listing's own order (its `sortKey` and
 * `sortDirection`), given as an instant of the sort key and optionally a thread id.
 *
 * The listing holds the threads whose sort time lies beyond `at` in the listing's direction
 * (later for `asc`, earlier for `desc`). Threads whose sort time is exactly `at`:
 * - without `threadId`: all of them when `inclusive`, none otherwise;
 * - with `threadId`: those whose id comes after `threadId` in the listing's order (ids break
 *   ties in the direction of the listing), plus the thread `threadId` itself when `inclusive`.
 *   This is the keyset position a cursor encodes, for clients that keep (time, id) positions.
 *
 * Times compare at millisecond precision. A start is a filter like the others: cursors of a
 * started listing continue within it and are tied to it (reusing one with another start, or
 * none, is `invalid_request`), and its backwards cursors stop at the start.
 */
export interface ListStart {
  /** The instant of the sort key where the listing starts; a valid Date. */
  at: Date;
  /** Whether the position itself is part of the listing (see above). Defaults to true. */
  inclusive?: boolean;
  /** Tie-breaker among threads whose sort time is exactly `at`. */
  threadId?: ThreadId | null;
}

/** Arguments of `ThreadStore.listThreads`: every field is optional. */
export interface ListThreadsParams {
  /** 1..MAX_PAGE_SIZE; defaults to DEFAULT_PAGE_SIZE. */
  pageSize?: number;
  cursor?: string | null;
  /** Defaults to `createdAt`. */
  sortKey?: ThreadSortKey;
  /** Defaults to `desc`. */
  sortDirection?: SortDirection;
  /** Absent or empty: the interactive sources (DEFAULT_LIST_SOURCES). */
  allowedSources?: readonly SessionSourceFilter[];
  /** Absent: the store's default provider only. Empty: every provider. */
  modelProviders?: readonly string[] | null;
  /** Absent: every cwd. Empty: nothing. */
  cwdFilters?: readonly string[] | null;
  /** `true` lists the archived collection instead of the active one. */
  archived?: boolean;
  /** Case-insensitive substring of the name or preview. */
  searchTerm?: string | null;
  /** Starts the listing at a time of its sort key (see ListStart); absent: at its beginning. */
  start?: ListStart | null;
}

/**
 * Arguments of `ThreadStore.countThreads`: the filters of `listThreads` without its paging and
 * order (`pageSize`, `cursor`, `sortKey`, `sortDirection` and `start`, a position in that order,
 * are ignored when present).
 */
export type CountThreadsParams = Omit<ListThreadsParams, 'pageSize' | 'cursor' | 'sortKey' | 'sortDirection' | 'start'>;

/** One page of `ThreadStore.listThreads`. */
export interface ThreadPage {
  items: StoredThread[];
  /** Continues after the last item; null when there is nothing more. */
  nextCursor: string | null;
  /** Fetches the page before the first item (same sort); null on the first page. */
  backwardsCursor: string | null;
}

/** Arguments of `ThreadStore.searchThreads`: the list filters plus the text to find. */
export interface SearchThreadsParams extends Omit<ListThreadsParams, 'searchTerm'> {
  /** Required: text to find in user and agent messages. */
  searchTerm: string;
}

/** A thread found by `ThreadStore.searchThreads`, with where the text matched. */
export interface ThreadSearchResult {
  thread: StoredThread;
  /** The matching text with some context around it. */
  snippet: string;
}

/** One page of `ThreadStore.searchThreads`; cursors work as in `ThreadPage`. */
export interface ThreadSearchPage {
  items: ThreadSearchResult[];
  nextCursor: string | null;
  backwardsCursor: string | null;
}

/** Arguments of `ThreadStore.archiveThread` and `ThreadStore.unarchiveThread`. */
export interface ArchiveThreadParams {
  threadId: ThreadId;
}

/** Arguments of `ThreadStore.deleteThread`. */
export interface DeleteThreadParams {
  threadId: ThreadId;
}

/** What a store can do beyond the common contract; code that needs one checks it first. */
export interface ThreadStoreCapabilities {
  /** Threads have rollout files on this machine (rolloutPath, readThreadByRolloutPath). */
  readonly localPaths: boolean;
  /** searchThreads searches message content. */
  readonly contentSearch: boolean;
}

/** Page size of `listThreads` and `searchThreads` when none is given. */
export const DEFAULT_PAGE_SIZE = 25;
/** The largest page size a store accepts; more is `invalid_request`. */
export const MAX_PAGE_SIZE = 1000;
