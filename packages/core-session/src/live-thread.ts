import {
  applyPatch,
  collectHistory,
  isObject,
  isPersistedRolloutItem,
  isThreadStoreError,
  mergePatches,
  parseThreadId,
  ThreadStoreError,
  validatePatch,
} from '@skein/thread-store-api';
import type {
  CreateThreadParams,
  ResumeThreadParams,
  RolloutItem,
  StoredThread,
  StoredThreadWithHistory,
  ThreadId,
  ThreadMetadataPatch,
  ThreadStore,
} from '@skein/thread-store-api';
import { DEFAULT_TOUCH_WINDOW_MS, ThreadMetadataSync } from './internal/metadata-sync.js';
import { collectGitInfo } from './internal/git-info.js';
import { MetadataWorker } from './internal/metadata-worker.js';
import { sessionMetaItem, storedThreadFromHistory } from './internal/session-meta.js';

/** Options of `LiveThread.create` and `LiveThread.resume`. */
export interface LiveThreadOptions {
  /** Clock for derived timestamps (tests inject one). Default: `() => new Date()`. */
  now?: () => Date;
  /**
   * `updatedAt` touches from items that carry no new facts are written at most once per window.
   * Default 5000 ms.
   */
  touchWindowMs?: number;
  /**
   * Read git info (commit, branch, origin URL) from `metadata.cwd` when the create params carry
   * none (`gitInfo: undefined`). Default true; pass `gitInfo: null` to record none.
   */
  collectGitInfo?: boolean;
}

/**
 * Arguments of `LiveThread.create`: the store's create parameters, and whether the thread is
 * ephemeral.
 */
export interface LiveThreadCreateParams extends CreateThreadParams {
  /** An ephemeral thread never touches the store and has no path; it is readable while loaded. */
  ephemeral?: boolean;
}

/** Arguments of `LiveThread.resume`. */
export interface LiveThreadResumeParams extends ResumeThreadParams {
  /** The thread's history when the caller already has it; otherwise it is loaded from the store. */
  history?: readonly RolloutItem[];
}

type State = 'open' | 'shutdown' | 'discarded';

/**
 * The session-owned persistence handle of one active thread. Appends carry history only; the
 * metadata they imply (preview, title, cwd, model, token usage, timestamps) is derived here and
 * written through `updateThreadMetadata` by a background worker, so an append returns as soon as
 * the store has accepted the history. `flush`, `persist`, `shutdown` and `discard` are barriers
 * that wait for metadata in flight.
 */
export class LiveThread {
  private state: State = 'open';
  private readonly worker: MetadataWorker;
  /** Ephemeral threads keep their whole history here, starting with a session_meta line. */
  private readonly memory: RolloutItem[] | null;
  private memoryPatch: ThreadMetadataPatch = {};
  private memoryUpdatedAt: Date;
  /** The history read when the thread was resumed (under its writer lock); empty for a new thread. */
  resumedHistory: readonly RolloutItem[] = [];

  private constructor(
    readonly store: ThreadStore,
    readonly threadId: ThreadId,
    private readonly sync: ThreadMetadataSync,
    private readonly now: () => Date,
    readonly ephemeral: boolean,
    private readonly defaultProvider: string,
    memoryStart: RolloutItem[] | null,
  ) {
    this.memory = memoryStart;
    this.memoryUpdatedAt = now();
    // Derived updates always include archived threads: a live archived thread stays archived.
    this.worker = new MetadataWorker(sync, async (patch) => {
      await store.updateThreadMetadata({ threadId, patch, includeArchived: true });
    });
  }

  /** Opens the live writer of a new thread. Nothing is written until the first append or persist. */
  static async create(
    store: ThreadStore,
    params: LiveThreadCreateParams,
    options: LiveThreadOptions = {},
  ): Promise<LiveThread> {
    const now = options.now ?? (() => new Date());
    const window = options.touchWindowMs ?? DEFAULT_TOUCH_WINDOW_MS;
    requireParams(params, 'LiveThread.create');
    const threadId = parseThreadId(params.threadId);
    if (
      !isObject(params.metadata) ||
      typeof params.metadata.modelProvider !== 'string' ||
      params.metadata.modelProvider === ''
    )
      throw ThreadStoreError.invalidRequest('metadata.modelProvider must be a non-empty string');
    const { ephemeral = false, ...storeParams } = params;
    // One creation time for the store's session_meta and the derived createdAt.
    const full = { ...storeParams, threadId, createdAt: params.createdAt ?? now() };
    if (
      full.gitInfo === undefined &&
      options.collectGitInfo !== false &&
      typeof full.metadata?.cwd === 'string' &&
      full.metadata.cwd !== ''
    ) {
      const git = await collectGitInfo(full.metadata.cwd);
      if (git) full.gitInfo = git;
    }
    const sync = ThreadMetadataSync.forCreate(full, now, window);
    if (ephemeral) {
      return new LiveThread(store, threadId, sync, now, true, full.metadata.modelProvider, [sessionMetaItem(full)]);
    }
    await store.createThread(full);
    return new LiveThread(store, threadId, sync, now, false, full.metadata.modelProvider, null);
  }

  /**
   * Reopens the live writer of a stored thread. The writer lock is taken first and the history is
   * loaded after it (unless given), so no other writer can append between the read and the
   * first append. The metadata the history implies is held back until the first append.
   */
  static async resume(
    store: ThreadStore,
    params: LiveThreadResumeParams,
    options: LiveThreadOptions = {},
  ): Promise<LiveThread> {
    const now = options.now ?? (() => new Date());
    const window = options.touchWindowMs ?? DEFAULT_TOUCH_WINDOW_MS;
    requireParams(params, 'LiveThread.resume');
    const threadId = parseThreadId(params.threadId);
    if (params.history !== undefined && !Array.isArray(params.history))
      throw ThreadStoreError.invalidRequest('history must be an array of rollout items');
    const { history: given, ...resumeParams } = params;
    await store.resumeThread({ ...resumeParams, threadId });
    let history: readonly RolloutItem[];
    try {
      history =
        given ??
        (await collectHistory(
          store.loadHistory({
            threadId,
            ...(params.includeArchived !== undefined ? { includeArchived: params.includeArchived } : {}),
          }),
        ));
    } catch (error) {
      // The writer was opened for this resume only: a history that cannot be read closes it again.
      await store.discardThread(threadId).catch(() => undefined);
      throw error;
    }
    const sync = ThreadMetadataSync.forResume(threadId, history, now, window);
    const live = new LiveThread(store, threadId, sync, now, false, params.metadata?.modelProvider ?? '', null);
    live.resumedHistory = history;
    return live;
  }

  /** Whether the writer is still open (not shut down or discarded). */
  get isOpen(): boolean {
    return this.state === 'open';
  }

  /** Whether the metadata worker is writing in the background right now. */
  get metadataWorkerRunning(): boolean {
    return this.worker.running;
  }

  private ensureOpen(): void {
    if (this.state !== 'open') throw ThreadStoreError.notFound(this.threadId);
  }

  /**
   * Appends raw items (the store applies the persistence policy) and queues the metadata they
   * imply. Returns once the store has accepted the history; metadata is written in the background.
   */
  async appendItems(items: readonly RolloutItem[]): Promise<void> {
    this.ensureOpen();
    if (items.length === 0) return;
    // What a store keeps of either format (a paginated thread's messages are `item_completed` items).
    const canonical = items.filter(
      (item) => isPersistedRolloutItem(item, 'legacy') || isPersistedRolloutItem(item, 'paginated'),
    );
    if (this.memory) {
      const stamp = this.now().toISOString();
      for (const item of canonical) this.memory.push(item.timestamp ? item : { ...item, timestamp: stamp });
      this.memoryUpdatedAt = this.now();
      return;
    }
    await this.store.appendItems({ threadId: this.threadId, items });
    if (canonical.length === 0) return;
    if (this.sync.observeAppended(canonical)) this.worker.kick();
  }

  /** Materializes the thread (session_meta on storage) and writes even a held-back create patch. */
  async persist(): Promise<void> {
    this.ensureOpen();
    if (this.memory) return;
    const target = this.sync.generation;
    await this.store.persistThread(this.threadId);
    await this.worker.barrier(true, target);
  }

  /** Makes appended items durable and waits for the metadata merged before this call. */
  async flush(): Promise<void> {
    this.ensureOpen();
    if (this.memory) return;
    // The barrier covers what was merged when flush was called, not what arrives while it waits.
    const target = this.sync.generation;
    await this.store.flushThread(this.threadId);
    await this.worker.barrier(false, target);
  }

  /**
   * Writes pending metadata (unless still held back) and closes the writer. A thread that never
   * got an item leaves no trace. Later calls fail with `not_found`.
   */
  async shutdown(): Promise<void> {
    this.ensureOpen();
    this.state = 'shutdown';
    if (this.memory) return;
    let failure: { error: unknown } | null = null;
    try {
      await this.worker.barrier(false);
    } catch (error) {
      failure = { error };
    }
    await this.store.shutdownThread(this.threadId);
    if (failure) throw failure.error;
  }

  /** Drops unflushed items and closes the writer once metadata in flight has settled. Idempotent. */
  async discard(): Promise<void> {
    if (this.state === 'discarded') return;
    const wasOpen = this.state === 'open';
    this.state = 'discarded';
    if (this.memory || !wasOpen) return;
    await this.worker.idle();
    this.sync.clear();
    await this.store.discardThread(this.threadId);
  }

  /** The durable history (for ephemeral threads, what is loaded in memory). */
  loadHistory(includeArchived = true): AsyncIterable<RolloutItem> {
    if (this.memory) return iterate([...this.memory]);
    return this.store.loadHistory({ threadId: this.threadId, includeArchived });
  }

  /** The thread as the store has it (an ephemeral one from memory), with its history when asked for. */
  async readThread(
    options: { includeHistory?: boolean; includeArchived?: boolean } = {},
  ): Promise<StoredThreadWithHistory> {
    if (this.memory) {
      const base = storedThreadFromHistory(this.threadId, this.memory, this.defaultProvider, this.memoryUpdatedAt);
      const thread: StoredThreadWithHistory = applyPatch(base, this.memoryPatch);
      if (options.includeHistory) thread.history = iterate([...this.memory]);
      return thread;
    }
    return this.store.readThread({
      threadId: this.threadId,
      includeArchived: options.includeArchived ?? true,
      includeHistory: options.includeHistory ?? false,
    });
  }

  /**
   * Applies an explicit patch after writing whatever derived metadata is pending (even held back,
   * since an explicit update materializes the thread anyway).
   */
  async updateMetadata(patch: ThreadMetadataPatch): Promise<StoredThread> {
    this.ensureOpen();
    validatePatch(patch);
    if (this.memory) {
      this.memoryPatch = mergePatches(this.memoryPatch, patch);
      this.memoryUpdatedAt = this.now();
      return this.readThread();
    }
    await this.worker.barrier(true);
    return this.store.updateThreadMetadata({ threadId: this.threadId, patch, includeArchived: true });
  }

  /**
   * The rollout file's path: null for ephemeral threads, stores without local paths, and threads
   * not materialized yet.
   */
  async localRolloutPath(): Promise<string | null> {
    if (this.memory || !this.store.capabilities.localPaths) return null;
    try {
      return (await this.store.readThread({ threadId: this.threadId, includeArchived: true })).rolloutPath;
    } catch (error) {
      if (isThreadStoreError(error, 'not_found')) return null;
      throw error;
    }
  }

  /**
   * The rollout file's path for callers that need one (materializing the thread if needed).
   * Fails with `unsupported` for ephemeral threads and stores without local files.
   */
  async requireLocalRolloutPath(): Promise<string> {
    if (this.memory)
      throw ThreadStoreError.unsupported(
        'a rollout path',
        `thread ${this.threadId} is ephemeral and is never written to a file`,
      );
    requireLocalPaths(this.store, 'a rollout path');
    let path = await this.localRolloutPath();
    if (path === null && this.isOpen) {
      await this.persist();
      path = await this.localRolloutPath();
    }
    if (path === null) throw ThreadStoreError.notFound(this.threadId);
    return path;
  }
}

function requireParams(params: unknown, what: string): void {
  if (!isObject(params)) throw ThreadStoreError.invalidRequest(`${what} needs a params object`);
}

/** Throws `unsupported` when `store` keeps no files on this machine. */
export function requireLocalPaths(store: ThreadStore, operation: string): void {
  if (!store.capabilities.localPaths)
    throw ThreadStoreError.unsupported(
      operation,
      'this thread store is remote and has no rollout files on this machine; address threads by id instead',
    );
}

async function* iterate(items: readonly RolloutItem[]): AsyncIterable<RolloutItem> {
  yield* items;
}

/**
 * Guards a live thread during session start-up: disposing it while still armed discards the
 * writer (so a failed start-up leaves no live writer behind); `commit()` disarms it.
 *
 * ```ts
 * await using guard = new LiveThreadInitGuard(await LiveThread.create(store, params));
 * await configureEverythingElse();
 * const thread = guard.commit();
 * ```
 */
export class LiveThreadInitGuard implements AsyncDisposable {
  private armed: LiveThread | null;

  constructor(thread: LiveThread | null) {
    this.armed = thread;
  }

  get thread(): LiveThread | null {
    return this.armed;
  }

  /** Disarms the guard and hands the thread over. */
  commit(): LiveThread {
    const t = this.armed;
    if (!t) throw ThreadStoreError.invalidRequest('the init guard holds no thread (already committed or discarded)');
    this.armed = null;
    return t;
  }

  /** Discards the guarded writer; errors are swallowed because start-up already failed. */
  async discard(): Promise<void> {
    const t = this.armed;
    this.armed = null;
    if (!t) return;
    try {
      await t.discard();
    } catch {
      // The start-up error is the one worth reporting; a failed cleanup must not mask it.
    }
  }

  /** Discards the thread (`await using`): see `discard`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.discard();
  }
}
