import type { ItemPage, ListItemsParams, ListTurnsParams, TurnPage } from './history-types.js';
import type { UpdateThreadMetadataParams } from './patch.js';
import type { RolloutItem } from './rollout-item.js';
import type { ThreadId } from './thread-id.js';
import type {
  AppendItemsParams,
  ArchiveThreadParams,
  CountThreadsParams,
  CreateThreadParams,
  DeleteThreadParams,
  ListSegmentsParams,
  ListThreadsParams,
  LoadHistoryParams,
  ReadThreadByRolloutPathParams,
  ReadThreadParams,
  ResumeThreadParams,
  SearchThreadsParams,
  StoredThread,
  StoredThreadWithHistory,
  ThreadPage,
  ThreadSearchPage,
  ThreadSegment,
  ThreadStoreCapabilities,
} from './types.js';

/**
 * The storage boundary for threads. Every method rejects with a `ThreadStoreError`; a thread that
 * does not exist is `not_found` in every method.
 *
 * Live writers: `createThread` / `resumeThread` open the one live writer a thread may have
 * (a second is `conflict`). Creating writes nothing; the first `persistThread`, or a flush with
 * items appended, materializes the thread. `flushThread` returns once appended items are durable
 * and readable. `shutdownThread` flushes and closes; shutting down a thread that never got an
 * item leaves no trace. `discardThread` drops unflushed items, keeps what is durable, and makes
 * later calls on that writer fail with `not_found`.
 */
export interface ThreadStore {
  /** What this store can do beyond the common contract. */
  readonly capabilities: ThreadStoreCapabilities;

  /**
   * Opens the live writer of a new thread. Nothing is written until the first persist or flush with
   * items; an existing thread id is `conflict`.
   */
  createThread(params: CreateThreadParams): Promise<void>;
  /**
   * Opens the live writer of an existing thread to append to it; `not_found` if it does not exist,
   * `conflict` if another writer holds it.
   */
  resumeThread(params: ResumeThreadParams): Promise<void>;
  /** Raw history append; the persistence policy is applied; never derives metadata. */
  appendItems(params: AppendItemsParams): Promise<void>;
  /** Materializes a created thread on storage even before any item is appended. */
  persistThread(threadId: ThreadId): Promise<void>;
  /** Returns once every item appended so far is durable and visible to readers. */
  flushThread(threadId: ThreadId): Promise<void>;
  /** Flushes and closes the live writer; a thread that never got an item leaves no trace. */
  shutdownThread(threadId: ThreadId): Promise<void>;
  /**
   * Drops unflushed items and closes the writer without writing (for a session that failed to
   * start); durable items stay.
   */
  discardThread(threadId: ThreadId): Promise<void>;

  /** The history in replay order, streamed; errors surface on the first iteration step. */
  loadHistory(params: LoadHistoryParams): AsyncIterable<RolloutItem>;
  /**
   * Optional: the same history as each item's JSON text as the store keeps it (a rollout line, a
   * stored row), so a server can send it on without re-serialising it. `JSON.parse` of each text
   * equals the item `loadHistory` yields at the same position; errors are the same.
   */
  loadHistoryJson?(params: LoadHistoryParams): AsyncIterable<string>;
  /**
   * Optional: the thread's rollouts, oldest first (see `ThreadSegment`); one for a thread that was
   * never reverted. Stores that offer it keep segments: `resumeThread` with `segment` and
   * `loadHistory` with `rolloutId`.
   */
  listSegments?(params: ListSegmentsParams): Promise<ThreadSegment[]>;
  /** A thread's summary, and its history when `includeHistory` is set. */
  readThread(params: ReadThreadParams): Promise<StoredThreadWithHistory>;
  /** Local stores only; others reject with `unsupported`. */
  readThreadByRolloutPath(params: ReadThreadByRolloutPathParams): Promise<StoredThreadWithHistory>;
  /** One page of threads, filtered and sorted; pass `nextCursor` or `backwardsCursor` back to move. */
  listThreads(params: ListThreadsParams): Promise<ThreadPage>;
  /**
   * How many threads `listThreads` would return across all its pages with the same filters (an
   * indexed count: it reads no thread).
   */
  countThreads(params: CountThreadsParams): Promise<number>;
  /** Searches message content; an empty term is `invalid_request`. */
  searchThreads(params: SearchThreadsParams): Promise<ThreadSearchPage>;
  /**
   * A page of the thread's turns (newest first by default), legacy and paginated histories alike;
   * a fork's inherited turns are part of it. Cursors are keyset-based: pages stay exact while the
   * thread grows. A cursor of another thread, kind, direction or store is `invalid_request`.
   */
  listTurns(params: ListTurnsParams): Promise<TurnPage>;
  /** A page of the thread's items (oldest first by default), of the whole thread or of one turn. */
  listItems(params: ListItemsParams): Promise<ItemPage>;

  /** Applies a literal patch completely or not at all, and returns the updated thread. */
  updateThreadMetadata(params: UpdateThreadMetadataParams): Promise<StoredThread>;
  /** Moves a thread to the archived collection. */
  archiveThread(params: ArchiveThreadParams): Promise<void>;
  /** Moves an archived thread back to the active collection and returns it. */
  unarchiveThread(params: ArchiveThreadParams): Promise<StoredThread>;
  /** Deletes a thread and its history for good. */
  deleteThread(params: DeleteThreadParams): Promise<void>;

  /** Flushes and closes live writers and releases every resource. */
  close(): Promise<void>;
}

/** Collects a thread's whole history into an array. */
export async function loadHistoryItems(store: ThreadStore, params: LoadHistoryParams): Promise<RolloutItem[]> {
  return collectHistory(store.loadHistory(params));
}

/**
 * Collects a history stream (e.g. `StoredThreadWithHistory.history`) into an array; `undefined`
 * gives `[]`.
 */
export async function collectHistory(history: AsyncIterable<RolloutItem> | undefined): Promise<RolloutItem[]> {
  const out: RolloutItem[] = [];
  if (!history) return out;
  for await (const item of history) out.push(item);
  return out;
}
