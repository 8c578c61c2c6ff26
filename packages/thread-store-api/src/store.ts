import type { ItemPage, ListItemsParams, ListTurnsParams, TurnPage } from './history-types.js';
import type { UpdateThreadMetadataParams } from './patch.js';
import type { RolloutItem } from './rollout-item.js';
import type { ThreadId } from './thread-id.js';
import type {
  AppendItemsParams,
  ArchiveThreadParams,
  CreateThreadParams,
  DeleteThreadParams,
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
  readonly capabilities: ThreadStoreCapabilities;

  createThread(params: CreateThreadParams): Promise<void>;
  resumeThread(params: ResumeThreadParams): Promise<void>;
  /** Raw history append; the persistence policy is applied; never derives metadata. */
  appendItems(params: AppendItemsParams): Promise<void>;
  persistThread(threadId: ThreadId): Promise<void>;
  flushThread(threadId: ThreadId): Promise<void>;
  shutdownThread(threadId: ThreadId): Promise<void>;
  discardThread(threadId: ThreadId): Promise<void>;

  /** The history in replay order, streamed; errors surface on the first iteration step. */
  loadHistory(params: LoadHistoryParams): AsyncIterable<RolloutItem>;
  readThread(params: ReadThreadParams): Promise<StoredThreadWithHistory>;
  /** Local stores only; others reject with `unsupported`. */
  readThreadByRolloutPath(params: ReadThreadByRolloutPathParams): Promise<StoredThreadWithHistory>;
  listThreads(params: ListThreadsParams): Promise<ThreadPage>;
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
  archiveThread(params: ArchiveThreadParams): Promise<void>;
  unarchiveThread(params: ArchiveThreadParams): Promise<StoredThread>;
  deleteThread(params: DeleteThreadParams): Promise<void>;

  /** Flushes and closes live writers and releases every resource. */
  close(): Promise<void>;
}

/** Collects a thread's whole history into an array. */
export async function loadHistoryItems(store: ThreadStore, params: LoadHistoryParams): Promise<RolloutItem[]> {
  return collectHistory(store.loadHistory(params));
}

export async function collectHistory(history: AsyncIterable<RolloutItem> | undefined): Promise<RolloutItem[]> {
  const out: RolloutItem[] = [];
  if (!history) return out;
  for await (const item of history) out.push(item);
  return out;
}
