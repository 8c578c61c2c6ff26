import type { HistoryMode, MemoryMode, RolloutItem } from './rollout-item.js';
import type { SessionSource, SessionSourceFilter } from './session-source.js';
import type { ThreadId } from './thread-id.js';

export interface GitInfo {
  sha: string | null;
  branch: string | null;
  originUrl: string | null;
}

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

export interface ThreadPersistenceMetadata {
  /** Working directory of the thread; required by stores that keep files. */
  cwd: string;
  modelProvider: string;
  memoryMode?: MemoryMode;
}

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
}

export interface ResumeThreadParams {
  threadId: ThreadId;
  /** Allow resuming an archived thread (it stays archived). */
  includeArchived?: boolean;
  /** Applies to future writes only; never overrides facts found in the history. */
  metadata?: Partial<ThreadPersistenceMetadata>;
}

export interface AppendItemsParams {
  threadId: ThreadId;
  items: readonly RolloutItem[];
}

export interface LoadHistoryParams {
  threadId: ThreadId;
  includeArchived?: boolean;
}

export interface ReadThreadParams {
  threadId: ThreadId;
  includeArchived?: boolean;
  includeHistory?: boolean;
}

export interface ReadThreadByRolloutPathParams {
  rolloutPath: string;
  includeArchived?: boolean;
  includeHistory?: boolean;
}

export type ThreadSortKey = 'createdAt' | 'updatedAt' | 'recencyAt';
export type SortDirection = 'asc' | 'desc';

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
}

export interface ThreadPage {
  items: StoredThread[];
  /** Continues after the last item; null when there is nothing more. */
  nextCursor: string | null;
  /** Fetches the page before the first item (same sort); null on the first page. */
  backwardsCursor: string | null;
}

export interface SearchThreadsParams extends Omit<ListThreadsParams, 'searchTerm'> {
  /** Required: text to find in user and agent messages. */
  searchTerm: string;
}

export interface ThreadSearchResult {
  thread: StoredThread;
  /** The matching text with some context around it. */
  snippet: string;
}

export interface ThreadSearchPage {
  items: ThreadSearchResult[];
  nextCursor: string | null;
  backwardsCursor: string | null;
}

export interface ArchiveThreadParams {
  threadId: ThreadId;
}

export interface DeleteThreadParams {
  threadId: ThreadId;
}

export interface ThreadStoreCapabilities {
  /** Threads have rollout files on this machine (rolloutPath, readThreadByRolloutPath). */
  readonly localPaths: boolean;
  /** searchThreads searches message content. */
  readonly contentSearch: boolean;
}

export const DEFAULT_PAGE_SIZE = 25;
export const MAX_PAGE_SIZE = 1000;
