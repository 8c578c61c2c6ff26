import { requireLocalPaths, Session } from '@skein/core-session';
import type {
  LiveThreadOptions,
  ModelClient,
  Op,
  ResumeSessionOptions,
  SessionOptions,
  StartSessionOptions,
} from '@skein/core-session';
import { collectHistory, isThreadStoreError, parseThreadId, ThreadStoreError } from '@skein/thread-store-api';
import type {
  GitInfo,
  RolloutItem,
  SessionSource,
  StoredThread,
  ThreadId,
  ThreadMetadataPatch,
  ThreadStore,
} from '@skein/thread-store-api';
import { CodexThread } from './codex-thread.js';
import { legacyForkItems } from './fork-history.js';

/** Settings every thread of a manager shares unless a call overrides them. */
export interface ThreadDefaults {
  cwd?: string;
  source?: SessionSource;
  originator?: string;
  cliVersion?: string;
  instructions?: string;
  approvalPolicy?: string;
  sandboxPolicy?: unknown;
  reasoningEffort?: string | null;
  modelProvider?: string;
}

/** Options of `ThreadManager`: the store, and defaults for the threads it starts. */
export interface ThreadManagerOptions {
  store: ThreadStore;
  model: ModelClient;
  defaults?: ThreadDefaults;
  /** Clock and touch window for every LiveThread (tests). */
  liveThread?: LiveThreadOptions;
}

export interface StartThreadOptions extends ThreadDefaults {
  threadId?: ThreadId;
  ephemeral?: boolean;
  gitInfo?: GitInfo | null;
  threadSource?: string | null;
  model?: ModelClient;
}

export interface ResumeThreadOptions extends ThreadDefaults {
  threadId: ThreadId | string;
  /** The history when the caller already has it (skips loading it). */
  history?: readonly RolloutItem[];
  includeArchived?: boolean;
  model?: ModelClient;
}

export interface ForkThreadOptions extends ThreadDefaults {
  /** The thread to fork (loaded or stored). */
  threadId: ThreadId | string;
  /** Keep the first `turns` turns; all of them when absent. */
  turns?: number;
  /** The fork's id (default: a new one). */
  newThreadId?: ThreadId;
  ephemeral?: boolean;
  includeArchived?: boolean;
  model?: ModelClient;
}

/**
 * The process-level registry of loaded threads. Starting, resuming and forking load a thread;
 * ops are routed to loaded threads by id; metadata changes go through a loaded thread's
 * LiveThread, or straight to the store for a cold one.
 */
export class ThreadManager {
  readonly store: ThreadStore;
  private readonly model: ModelClient;
  private readonly defaults: ThreadDefaults;
  private readonly liveThread: LiveThreadOptions | undefined;
  private readonly loaded = new Map<ThreadId, CodexThread>();
  /** Resumes in progress, so two resumes of one thread share one handle. */
  private readonly loading = new Map<ThreadId, Promise<CodexThread>>();
  private closed = false;

  constructor(options: ThreadManagerOptions) {
    requireObject(options, 'ThreadManager options');
    if (typeof options.store !== 'object' || options.store === null)
      throw ThreadStoreError.invalidRequest('ThreadManager needs a store');
    if (typeof options.model !== 'object' || options.model === null)
      throw ThreadStoreError.invalidRequest('ThreadManager needs a model client');
    this.store = options.store;
    this.model = options.model;
    this.defaults = options.defaults ?? {};
    this.liveThread = options.liveThread;
  }

  private assertOpen(): void {
    if (this.closed) throw ThreadStoreError.invalidRequest('the thread manager is shut down; create a new one');
  }

  private sessionOptions(o: ThreadDefaults & { model?: ModelClient }): SessionOptions {
    const d = { ...this.defaults, ...stripUndefined(o) };
    const out: SessionOptions = { store: this.store, model: o.model ?? this.model };
    if (d.cwd !== undefined) out.cwd = d.cwd;
    if (d.source !== undefined) out.source = d.source;
    if (d.originator !== undefined) out.originator = d.originator;
    if (d.cliVersion !== undefined) out.cliVersion = d.cliVersion;
    if (d.instructions !== undefined) out.instructions = d.instructions;
    if (d.approvalPolicy !== undefined) out.approvalPolicy = d.approvalPolicy;
    if (d.sandboxPolicy !== undefined) out.sandboxPolicy = d.sandboxPolicy;
    if (d.reasoningEffort !== undefined) out.reasoningEffort = d.reasoningEffort;
    if (d.modelProvider !== undefined) out.modelProvider = d.modelProvider;
    if (this.liveThread) out.liveThread = this.liveThread;
    return out;
  }

  private register(thread: CodexThread): CodexThread {
    this.loaded.set(thread.threadId, thread);
    // A thread that shuts down (by any route) leaves the registry, unless replaced meanwhile.
    void thread.done.then(() => {
      if (this.loaded.get(thread.threadId) === thread) this.loaded.delete(thread.threadId);
    });
    return thread;
  }

  /** Starts a new thread (stored lazily: nothing is written before its first turn). */
  async startThread(options: StartThreadOptions = {}): Promise<CodexThread> {
    this.assertOpen();
    requireObject(options, 'startThread options');
    const start: StartSessionOptions = { ...this.sessionOptions(options) };
    if (options.threadId !== undefined) start.threadId = parseThreadId(options.threadId);
    if (options.ephemeral !== undefined) start.ephemeral = options.ephemeral;
    if (options.gitInfo !== undefined) start.gitInfo = options.gitInfo;
    if (options.threadSource !== undefined) start.threadSource = options.threadSource;
    if (start.threadId && (this.loaded.has(start.threadId) || this.loading.has(start.threadId)))
      throw ThreadStoreError.conflict(`thread ${start.threadId} is already loaded`);
    const session = await Session.start(start);
    return this.register(new CodexThread(session));
  }

  /**
   * Loads a stored thread so it can take turns. A thread already loaded here returns its handle;
   * a thread another process is writing fails with the store's `conflict`.
   */
  async resumeThread(options: ResumeThreadOptions): Promise<CodexThread> {
    this.assertOpen();
    requireObject(options, 'resumeThread options');
    const threadId = parseThreadId(options.threadId);
    const existing = this.loaded.get(threadId);
    if (existing && !existing.isShutDown) return existing;
    const pending = this.loading.get(threadId);
    if (pending) return pending;
    const resume: ResumeSessionOptions = { ...this.sessionOptions(options), threadId };
    // The history decides cwd and provider unless the caller overrides them.
    if (options.cwd === undefined) delete resume.cwd;
    if (options.modelProvider === undefined) delete resume.modelProvider;
    if (options.history !== undefined) resume.history = options.history;
    if (options.includeArchived !== undefined) resume.includeArchived = options.includeArchived;
    const promise = Session.resume(resume).then((session) => this.register(new CodexThread(session)));
    this.loading.set(threadId, promise);
    try {
      return await promise;
    } finally {
      this.loading.delete(threadId);
    }
  }

  /** Resumes the thread stored in a rollout file. Local stores only (`unsupported` otherwise). */
  async resumeThreadFromRolloutPath(
    rolloutPath: string,
    options: Omit<ResumeThreadOptions, 'threadId' | 'history'> = {},
  ): Promise<CodexThread> {
    this.assertOpen();
    requireLocalPaths(this.store, 'resuming a thread from a rollout path');
    const thread = await this.store.readThreadByRolloutPath({
      rolloutPath,
      includeHistory: true,
      ...(options.includeArchived !== undefined ? { includeArchived: options.includeArchived } : {}),
    });
    const history = await collectHistory(thread.history);
    return this.resumeThread({ ...options, threadId: thread.threadId, history });
  }

  /**
   * Forks a thread after its first `turns` turns (all by default) into a new thread that records
   * `forkedFromId`. A paginated parent is referenced where the store can (`history_base`);
   * otherwise its history is copied in Codex's legacy fork shape, and the fork of a legacy
   * parent is itself legacy, as Codex makes it. An unfinished last turn is marked aborted.
   */
  async forkThread(options: ForkThreadOptions): Promise<CodexThread> {
    this.assertOpen();
    requireObject(options, 'forkThread options');
    const parentId = parseThreadId(options.threadId);
    const parent = this.loaded.get(parentId);
    // What the parent has accepted so far, made durable first.
    if (parent && !parent.isShutDown && !parent.session.ephemeral) await parent.session.live.flush();
    if (options.ephemeral !== true && !(parent && parent.session.ephemeral)) {
      const byReference = await this.forkByReference(parentId, options);
      if (byReference) return byReference;
    }
    let history: RolloutItem[];
    if (parent && !parent.isShutDown) {
      history = await collectHistory(parent.session.live.loadHistory());
    } else {
      history = await collectHistory(
        this.store.loadHistory({
          threadId: parentId,
          ...(options.includeArchived !== undefined ? { includeArchived: options.includeArchived } : {}),
        }),
      );
    }
    const items = legacyForkItems(history, options.turns);
    const parentMeta = items[0]?.payload as
      { cwd?: unknown; model_provider?: unknown; history_mode?: unknown } | undefined;
    const start: StartSessionOptions = {
      ...this.sessionOptions(options),
      forkedFromId: parentId,
      initialHistory: items,
    };
    // As in Codex, a fork of a legacy thread is a legacy thread: its copied lines keep the turn
    // boundaries a legacy history has (task_started/task_complete, or each user message in
    // older rollouts), which a paginated rollout would not see.
    if (parentMeta?.history_mode !== 'paginated') start.historyMode = 'legacy';
    this.inheritParentSettings(start, options, parentMeta?.cwd, parentMeta?.model_provider);
    if (options.newThreadId !== undefined) start.threadId = parseThreadId(options.newThreadId);
    if (options.ephemeral !== undefined) start.ephemeral = options.ephemeral;
    const session = await Session.start(start);
    return this.register(new CodexThread(session, parentId));
  }

  /** A fork inherits the parent's cwd and provider unless the caller names others. */
  private inheritParentSettings(
    start: StartSessionOptions,
    options: ForkThreadOptions,
    cwd: unknown,
    modelProvider: unknown,
  ): void {
    if (options.cwd === undefined && typeof cwd === 'string' && cwd !== '') start.cwd = cwd;
    if (options.modelProvider === undefined && typeof modelProvider === 'string' && modelProvider !== '')
      start.modelProvider = modelProvider;
  }

  /**
   * A paginated parent is forked the way Codex forks it: the new thread points at the parent's
   * history (`history_base`) instead of copying it. Null when the parent is legacy or the store
   * cannot reference a parent (`unsupported`): the caller copies the history instead.
   */
  private async forkByReference(parentId: ThreadId, options: ForkThreadOptions): Promise<CodexThread | null> {
    let parent: StoredThread;
    try {
      parent = await this.store.readThread({
        threadId: parentId,
        ...(options.includeArchived !== undefined ? { includeArchived: options.includeArchived } : {}),
      });
    } catch (error) {
      if (isThreadStoreError(error, 'not_found')) return null;
      throw error;
    }
    if (parent.historyMode !== 'paginated') return null;
    const start: StartSessionOptions = {
      ...this.sessionOptions(options),
      forkedFromId: parentId,
      forkBase: { threadId: parentId, ...(options.turns !== undefined ? { turns: options.turns } : {}) },
    };
    this.inheritParentSettings(start, options, parent.cwd, parent.modelProvider);
    if (options.newThreadId !== undefined) start.threadId = parseThreadId(options.newThreadId);
    try {
      const session = await Session.start(start);
      return this.register(new CodexThread(session, parentId));
    } catch (error) {
      if (isThreadStoreError(error, 'unsupported')) return null;
      throw error;
    }
  }

  /** The loaded thread with this id; `not_found` when it is not loaded. */
  getThread(threadId: ThreadId | string): CodexThread {
    const id = parseThreadId(threadId);
    const t = this.loaded.get(id);
    if (!t) throw new ThreadStoreError('not_found', `thread ${id} is not loaded; resume it first`);
    return t;
  }

  /** Takes a thread out of the registry (without shutting it down) and returns it. */
  removeThread(threadId: ThreadId | string): CodexThread | undefined {
    const id = parseThreadId(threadId);
    const t = this.loaded.get(id);
    this.loaded.delete(id);
    return t;
  }

  /** Ids of the loaded threads. */
  listLoaded(): ThreadId[] {
    return [...this.loaded.keys()];
  }

  /** Submits an op to a loaded thread; `not_found` when it is not loaded. */
  routeOp(threadId: ThreadId | string, op: Op): string {
    return this.getThread(threadId).submit(op);
  }

  /**
   * Updates a thread's metadata: through its LiveThread when loaded (so derived metadata is
   * written first and nothing races), straight to the store when cold.
   */
  async updateThreadMetadata(
    threadId: ThreadId | string,
    patch: ThreadMetadataPatch,
    options: { includeArchived?: boolean } = {},
  ): Promise<StoredThread> {
    const id = parseThreadId(threadId);
    const t = this.loaded.get(id);
    if (t && !t.isShutDown) return t.updateMetadata(patch);
    return this.store.updateThreadMetadata({
      threadId: id,
      patch,
      ...(options.includeArchived !== undefined ? { includeArchived: options.includeArchived } : {}),
    });
  }

  /** Shuts every loaded thread down and empties the registry. Later starts fail. */
  async shutdownAll(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.loading.values()]);
    const threads = [...this.loaded.values()];
    this.loaded.clear();
    await Promise.all(threads.map((t) => t.shutdown()));
  }
}

function requireObject(v: unknown, what: string): void {
  if (typeof v !== 'object' || v === null) throw ThreadStoreError.invalidRequest(`${what} must be an object`);
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}
