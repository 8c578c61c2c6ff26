import {
  collectHistory,
  deriveThreadMetadata,
  isThreadStoreError,
  newThreadId,
  parseThreadId,
  ThreadStoreError,
  toThreadStoreError,
} from '@skein/thread-store-api';
import type {
  GitInfo,
  HistoryMode,
  MemoryMode,
  ResponseItemPayload,
  RolloutItem,
  SessionSource,
  StoredThreadWithHistory,
  ThreadId,
  ThreadStore,
  TokenUsage,
} from '@skein/thread-store-api';
import { EventQueue } from './internal/event-queue.js';
import { ItemIds } from './internal/item-ids.js';
import {
  addUsage,
  agentMessageEvent,
  agentMessageItem,
  agentReasoningEvent,
  assistantText,
  conversationFromHistory,
  reasoningCompletedItem,
  reasoningText,
  responseItem,
  taskComplete,
  taskStarted,
  tokenCount,
  turnAborted,
  turnAbortedMarker,
  turnContext,
  userMessageEvent,
  userMessageItem,
  userResponseItem,
} from './internal/turn-items.js';
import { userContent, validateOp } from './internal/user-input.js';
import { LiveThread, LiveThreadInitGuard } from './live-thread.js';
import type { LiveThreadOptions } from './live-thread.js';
import type { ModelClient } from './model-client.js';

/** One piece of user input. */
export type UserInput =
  | { type: 'text'; text: string }
  /** A remote (or data:) image URL. */
  | { type: 'image'; imageUrl: string }
  /** An image file on this machine; sent to the model as a data URL. */
  | { type: 'local_image'; path: string };

/** What a caller asks a session to do. Ops run in submission order. */
export type Op =
  | { type: 'user_turn'; items: readonly UserInput[] }
  /** Aborts every turn submitted before it (running or still queued). */
  | { type: 'interrupt' }
  /** Sets (or, with null, clears) the thread's name. */
  | { type: 'set_name'; name: string | null }
  /** Aborts turns, writes everything and closes the thread; the last op a session takes. */
  | { type: 'shutdown' };

/** An event a session emits while it runs a turn. */
export type SessionEventMsg =
  | { type: 'turn_started'; turnId: string }
  /**
   * The turn's user message is recorded. `itemId` is the id readers of the thread return for it;
   * `atMs` when it was recorded (also its recorded start and completion time in paginated threads).
   */
  | { type: 'user_message'; turnId: string; itemId: string; atMs: number }
  /** `itemId`: the id of the message the delta belongs to (the id `agent_message` reports). */
  | { type: 'agent_message_delta'; turnId: string; delta: string; itemId: string }
  /** `itemId`: the id readers of the thread return for the message. */
  | { type: 'agent_message'; turnId: string; message: string; itemId: string; atMs: number }
  /** `itemId`: the id readers of the thread return for the reasoning item. */
  | { type: 'agent_reasoning'; turnId: string; text: string; itemId: string }
  | { type: 'token_count'; turnId: string; total: TokenUsage | null; last: TokenUsage | null }
  | { type: 'turn_complete'; turnId: string; lastAgentMessage: string | null }
  | { type: 'turn_aborted'; turnId: string | null; reason: 'interrupted' | 'shutdown' }
  | { type: 'thread_name_updated'; name: string | null }
  | { type: 'error'; message: string; code: string; turnId?: string }
  | { type: 'shutdown_complete' };

/** An event and the id of the submission that caused it. */
export interface SessionEvent {
  id: string;
  msg: SessionEventMsg;
}

/** Options every session takes: its store and model, and the thread's defaults. */
export interface SessionOptions {
  store: ThreadStore;
  model: ModelClient;
  /** Working directory recorded on the thread (required to start; resume defaults to the history's). */
  cwd?: string;
  /** Default: the model client's provider (resume: the history's). */
  modelProvider?: string;
  /** Default `{kind:'cli'}`, which Codex lists by default. */
  source?: SessionSource;
  /** Default `skein`. */
  originator?: string;
  /** Recorded as `cli_version`. */
  cliVersion?: string;
  /** System instructions sent with every request and recorded as `base_instructions`. */
  instructions?: string;
  /** Recorded in `turn_context`. Default `never`. */
  approvalPolicy?: string;
  /** Recorded in `turn_context`. Default `{type:'read-only'}`. */
  sandboxPolicy?: unknown;
  reasoningEffort?: string | null;
  /** Clock and touch window for the LiveThread (tests). */
  liveThread?: LiveThreadOptions;
}

/** Options of `Session.start`. */
export interface StartSessionOptions extends SessionOptions {
  threadId?: ThreadId;
  /** Never written to the store; no path; readable while loaded. */
  ephemeral?: boolean;
  forkedFromId?: ThreadId | null;
  parentThreadId?: ThreadId | null;
  threadSource?: string | null;
  gitInfo?: GitInfo | null;
  memoryMode?: MemoryMode;
  /**
   * The rollout format of the new thread (`CreateThreadParams.historyMode`); absent: the store's
   * default. A copy of a legacy thread's history (a legacy fork) is recorded as `legacy`.
   */
  historyMode?: HistoryMode;
  /** Items recorded right after creation (a fork's copied history), then flushed. */
  initialHistory?: readonly RolloutItem[];
  /**
   * A fork by reference (see `CreateThreadParams.forkBase`): the thread is written at once (a fork
   * is never an empty, invisible thread) and its conversation is the parent's prefix.
   */
  forkBase?: { threadId: ThreadId; turns?: number };
}

/** Options of `Session.resume`. */
export interface ResumeSessionOptions extends SessionOptions {
  threadId: ThreadId;
  /** The history when the caller already has it (otherwise loaded from the store). */
  history?: readonly RolloutItem[];
  includeArchived?: boolean;
}

interface PendingTurn {
  id: string;
  items: readonly UserInput[];
  controller: AbortController;
}

const DEFAULT_SANDBOX = { type: 'read-only' };

/**
 * Runs one thread: takes ops in order, talks to the model, records what Codex records for a
 * legacy thread through a LiveThread, and emits events as an async iterable.
 */
export class Session {
  readonly threadId: ThreadId;
  readonly live: LiveThread;
  readonly model: ModelClient;
  readonly cwd: string;
  readonly modelProvider: string;
  readonly source: SessionSource;
  private readonly options: SessionOptions;
  private readonly queue = new EventQueue<SessionEvent>();
  private readonly ops: Array<{ id: string; op: Op }> = [];
  private draining = false;
  private nextId = 0;
  private shutdownRequested = false;
  private finished = false;
  private readonly turns: PendingTurn[] = [];
  private turnChain: Promise<void> = Promise.resolve();
  private conversation: ResponseItemPayload[];
  private totalUsage: TokenUsage | null;
  private readonly now: () => Date;
  /** The thread's format, when the session was told it (a new thread of a given format). */
  private readonly declaredMode: HistoryMode | null;
  /** Known from the first turn on (it needs the thread's format). */
  private itemIds: ItemIds | null = null;
  /** What the thread holds before the session records its first turn (for `itemIds`). */
  private historyBeforeTurns: RolloutItem[] | null;
  private resolveDone!: () => void;
  /** Resolves once the session has shut down. */
  readonly done: Promise<void>;

  private constructor(
    live: LiveThread,
    options: SessionOptions,
    meta: { cwd: string; modelProvider: string; source: SessionSource; historyMode?: HistoryMode },
    history: readonly RolloutItem[],
  ) {
    this.live = live;
    this.threadId = live.threadId;
    this.model = options.model;
    this.options = options;
    this.cwd = meta.cwd;
    this.modelProvider = meta.modelProvider;
    this.source = meta.source;
    this.now = options.liveThread?.now ?? (() => new Date());
    this.conversation = conversationFromHistory(history);
    this.totalUsage = deriveThreadMetadata(history).tokenUsage;
    this.declaredMode = meta.historyMode ?? null;
    this.historyBeforeTurns = [...history];
    this.done = new Promise((resolve) => {
      this.resolveDone = resolve;
    });
  }

  get ephemeral(): boolean {
    return this.live.ephemeral;
  }

  /** Starts a new thread. Nothing is stored until the first turn (lazy persistence). */
  static async start(options: StartSessionOptions): Promise<Session> {
    requireSessionOptions(options, 'Session.start');
    if (typeof options.cwd !== 'string' || options.cwd === '')
      throw ThreadStoreError.invalidRequest('a session needs a cwd (the working directory recorded on the thread)');
    const threadId = options.threadId ? parseThreadId(options.threadId) : newThreadId();
    const modelProvider = options.modelProvider ?? options.model.provider;
    const source = options.source ?? { kind: 'cli' };
    const params: Parameters<typeof LiveThread.create>[1] = {
      threadId,
      source,
      originator: options.originator ?? 'skein',
      metadata: { cwd: options.cwd, modelProvider, ...(options.memoryMode ? { memoryMode: options.memoryMode } : {}) },
      ephemeral: options.ephemeral ?? false,
    };
    if (options.cliVersion !== undefined) params.cliVersion = options.cliVersion;
    if (options.instructions !== undefined) params.baseInstructions = { text: options.instructions };
    if (options.forkedFromId != null) params.forkedFromId = options.forkedFromId;
    if (options.parentThreadId != null) params.parentThreadId = options.parentThreadId;
    if (options.threadSource != null) params.threadSource = options.threadSource;
    if (options.gitInfo != null) params.gitInfo = options.gitInfo;
    if (options.forkBase !== undefined) params.forkBase = options.forkBase;
    if (options.historyMode !== undefined) params.historyMode = options.historyMode;
    await using guard = new LiveThreadInitGuard(await LiveThread.create(options.store, params, options.liveThread));
    let history = options.initialHistory ?? [];
    if (history.length > 0) {
      await guard.thread?.appendItems(history);
      await guard.thread?.flush();
    }
    if (options.forkBase !== undefined && guard.thread) {
      await guard.thread.persist();
      history = await collectHistory(guard.thread.loadHistory());
    }
    const live = guard.commit();
    const meta = {
      cwd: options.cwd,
      modelProvider,
      source,
      ...(options.historyMode ? { historyMode: options.historyMode } : {}),
    };
    return new Session(live, options, meta, history);
  }

  /**
   * Resumes a stored thread; later turns append after its history. The history is read after the
   * thread's writer lock is held, so it is exactly what the next turn follows.
   */
  static async resume(options: ResumeSessionOptions): Promise<Session> {
    requireSessionOptions(options, 'Session.resume');
    const threadId = parseThreadId(options.threadId);
    const metadata: { cwd?: string; modelProvider?: string } = {};
    if (options.cwd !== undefined) metadata.cwd = options.cwd;
    if (options.modelProvider !== undefined) metadata.modelProvider = options.modelProvider;
    const live = await LiveThread.resume(
      options.store,
      {
        threadId,
        metadata,
        ...(options.history !== undefined ? { history: options.history } : {}),
        ...(options.includeArchived !== undefined ? { includeArchived: options.includeArchived } : {}),
      },
      options.liveThread,
    );
    const history = live.resumedHistory;
    const derived = deriveThreadMetadata(history);
    const cwd = options.cwd ?? derived.cwd ?? '';
    const modelProvider = options.modelProvider ?? derived.modelProvider ?? options.model.provider;
    return new Session(live, options, { cwd, modelProvider, source: derived.source ?? { kind: 'unknown' } }, history);
  }

  /** The session's events, in order; the iteration ends after `shutdown_complete`. One consumer. */
  events(): AsyncIterable<SessionEvent> {
    return this.queue;
  }

  /** Queues an op and returns its submission id. After shutdown, ops are `invalid_request`. */
  submit(op: Op): string {
    if (this.shutdownRequested)
      throw ThreadStoreError.invalidRequest(
        `session ${this.threadId} is shut down; start or resume a thread to continue`,
      );
    validateOp(op);
    const id = String(++this.nextId);
    if (op.type === 'shutdown') this.shutdownRequested = true;
    if (op.type === 'user_turn') {
      // Registered at submission so an interrupt submitted right after it covers it.
      this.turns.push({ id, items: op.items, controller: new AbortController() });
    }
    if (op.type === 'interrupt' || op.type === 'shutdown') {
      for (const t of this.turns) t.controller.abort(op.type === 'shutdown' ? 'shutdown' : 'interrupted');
    }
    this.ops.push({ id, op });
    void this.drain();
    return id;
  }

  /** Reads the thread (while loaded, also an ephemeral one). */
  readThread(options: { includeHistory?: boolean } = {}): Promise<StoredThreadWithHistory> {
    return this.live.readThread(options);
  }

  private emit(id: string, msg: SessionEventMsg): void {
    this.queue.push({ id, msg });
  }

  private async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    try {
      for (let next = this.ops.shift(); next; next = this.ops.shift()) {
        await this.handle(next.id, next.op);
      }
    } finally {
      this.draining = false;
    }
  }

  private async handle(id: string, op: Op): Promise<void> {
    switch (op.type) {
      case 'user_turn': {
        const turn = this.turns.find((t) => t.id === id);
        if (!turn) return;
        // Listed until it ends, so interrupts submitted meanwhile abort it.
        this.turnChain = this.turnChain.then(() =>
          this.runTurn(turn).finally(() => {
            this.turns.splice(this.turns.indexOf(turn), 1);
          }),
        );
        return;
      }
      case 'interrupt':
        // Turns were aborted at submission; waiting keeps later ops after the aborted turns.
        await this.turnChain;
        return;
      case 'set_name':
        try {
          await this.live.updateMetadata({ name: op.name });
          this.emit(id, { type: 'thread_name_updated', name: op.name });
        } catch (error) {
          this.emitError(id, error);
        }
        return;
      case 'shutdown':
        await this.turnChain;
        try {
          await this.live.shutdown();
        } catch (error) {
          if (!isThreadStoreError(error, 'not_found')) this.emitError(id, error);
        }
        this.finished = true;
        this.emit(id, { type: 'shutdown_complete' });
        this.queue.close();
        this.resolveDone();
        return;
    }
  }

  private emitError(id: string, error: unknown, turnId?: string): void {
    const e = toThreadStoreError(error, 'session');
    this.emit(id, { type: 'error', message: e.message, code: e.code, ...(turnId !== undefined ? { turnId } : {}) });
  }

  /**
   * The ids of the items this session records (see `ItemIds`). They depend on the thread's
   * format, which a new thread of the store's default format has once it is stored: it is
   * materialized here, at its first turn, which stores it anyway.
   */
  private async ids(): Promise<ItemIds> {
    if (this.itemIds) return this.itemIds;
    let mode = this.live.ephemeral ? 'legacy' : this.declaredMode;
    if (mode === null) {
      try {
        mode = (await this.live.readThread()).historyMode;
      } catch (error) {
        if (!isThreadStoreError(error, 'not_found')) throw error;
        await this.live.persist();
        mode = (await this.live.readThread()).historyMode;
      }
    }
    this.itemIds = new ItemIds(mode, this.historyBeforeTurns ?? []);
    this.historyBeforeTurns = null;
    return this.itemIds;
  }

  /** Appends items to the thread (and follows them for the ids of later items). */
  private async record(items: RolloutItem[]): Promise<void> {
    await this.live.appendItems(items);
    if (this.itemIds) this.itemIds.recorded(items);
    else this.historyBeforeTurns?.push(...items);
  }

  private async runTurn(turn: PendingTurn): Promise<void> {
    const { id, controller } = turn;
    const signal = controller.signal;
    if (signal.aborted) {
      // Cancelled before it started: nothing was recorded, so there is nothing to mark.
      this.emit(id, { type: 'turn_aborted', turnId: null, reason: abortReason(signal) });
      return;
    }
    const turnId = newThreadId();
    const startedAt = this.now();
    const record = (items: RolloutItem[]): Promise<void> => this.record(items);
    this.emit(id, { type: 'turn_started', turnId });
    let lastAgentMessage: string | null = null;
    try {
      const ids = await this.ids();
      // A paginated thread records its messages as Codex 0.169 does, as items that carry their ids.
      const paginated = ids.mode === 'paginated';
      const at = (itemId: string) => ({ threadId: this.threadId, turnId, id: itemId });
      const { content, text, images, localImages } = await userContent(turn.items);
      const userItem = userResponseItem(content);
      const userId = ids.next('user');
      const userAt = this.now().getTime();
      await record([
        taskStarted(turnId, startedAt, this.model.contextWindow ?? null),
        turnContext(turnId, {
          cwd: this.cwd,
          model: this.model.model,
          approvalPolicy: this.options.approvalPolicy ?? 'never',
          sandboxPolicy: this.options.sandboxPolicy ?? DEFAULT_SANDBOX,
          reasoningEffort: this.options.reasoningEffort ?? null,
        }),
        responseItem(userItem),
        paginated
          ? userMessageItem(at(userId), text, images, localImages, userAt)
          : userMessageEvent(text, images, localImages),
      ]);
      this.conversation.push(userItem);
      this.emit(id, { type: 'user_message', turnId, itemId: ids.recordedId(userId), atMs: userAt });

      // The id of each model output, given at its first delta and kept when it is recorded.
      const outputIds = new Map<string, string>();
      const outputId = (kind: 'message' | 'reasoning', modelId: string | null): string => {
        const key = `${kind}:${modelId ?? ''}`;
        let given = outputIds.get(key);
        if (given === undefined) {
          given = ids.next(kind, modelId);
          outputIds.set(key, given);
        }
        return given;
      };
      // Deltas without the model's id belong to the next output of their kind.
      const done = (kind: 'message' | 'reasoning', modelId: string | null): string => {
        const key = outputIds.has(`${kind}:${modelId ?? ''}`) ? `${kind}:${modelId ?? ''}` : `${kind}:`;
        const given = outputIds.get(key) ?? ids.next(kind, modelId);
        outputIds.delete(key);
        return given;
      };
      let lastUsage: TokenUsage | null = null;
      let failure: unknown = null;
      try {
        const request = {
          input: [...this.conversation],
          signal,
          ...(this.options.instructions !== undefined ? { instructions: this.options.instructions } : {}),
        };
        for await (const ev of this.model.stream(request)) {
          if (signal.aborted) break;
          switch (ev.type) {
            case 'output_text_delta':
              this.emit(id, {
                type: 'agent_message_delta',
                turnId,
                delta: ev.delta,
                itemId: outputId('message', ev.itemId),
              });
              break;
            case 'output_item_done': {
              const item = ev.item;
              const said = assistantText(item);
              const thought = reasoningText(item);
              const modelId = typeof item.id === 'string' && item.id !== '' ? item.id : null;
              // Codex records the event before the response item it comes from.
              if (said !== null) {
                lastAgentMessage = said;
                const itemId = done('message', modelId);
                const atMs = this.now().getTime();
                await record([
                  paginated ? agentMessageItem(at(itemId), said, atMs) : agentMessageEvent(said),
                  responseItem(item),
                ]);
                this.emit(id, { type: 'agent_message', turnId, message: said, itemId: ids.recordedId(itemId), atMs });
              } else if (thought !== null) {
                const itemId = done('reasoning', modelId);
                await record([
                  paginated ? reasoningCompletedItem(at(itemId), thought) : agentReasoningEvent(thought),
                  responseItem(item),
                ]);
                this.emit(id, { type: 'agent_reasoning', turnId, text: thought, itemId: ids.recordedId(itemId) });
              } else {
                await record([responseItem(item)]);
              }
              this.conversation.push(item);
              break;
            }
            case 'completed':
              lastUsage = ev.usage;
              break;
            default:
              break;
          }
        }
      } catch (error) {
        failure = error;
      }
      if (signal.aborted) {
        await this.recordAbort(id, turnId, signal);
        return;
      }
      if (failure !== null) {
        this.emitError(id, failure, turnId);
      } else if (lastUsage) {
        this.totalUsage = addUsage(this.totalUsage, lastUsage);
      }
      // A failed call still ends the turn the way Codex ends it: token count, then completion.
      const completedAt = this.now();
      await record([
        tokenCount(this.totalUsage, failure === null ? lastUsage : null, this.model.contextWindow ?? null),
        taskComplete(turnId, lastAgentMessage, startedAt, completedAt),
      ]);
      this.emit(id, { type: 'token_count', turnId, total: this.totalUsage, last: failure === null ? lastUsage : null });
      await this.live.flush();
      this.emit(id, { type: 'turn_complete', turnId, lastAgentMessage });
    } catch (error) {
      // The store refused the history: report it and end the turn without recording more.
      if (signal.aborted) {
        await this.recordAbort(id, turnId, signal).catch(() => undefined);
        return;
      }
      this.emitError(id, error, turnId);
      this.emit(id, { type: 'turn_complete', turnId, lastAgentMessage });
    }
  }

  private async recordAbort(id: string, turnId: string, signal: AbortSignal): Promise<void> {
    const reason = abortReason(signal);
    const marker = turnAbortedMarker();
    try {
      await this.record([responseItem(marker), turnAborted(turnId, 'interrupted')]);
      this.conversation.push(marker);
      await this.live.flush();
    } catch (error) {
      this.emitError(id, error, turnId);
    }
    this.emit(id, { type: 'turn_aborted', turnId, reason });
  }

  /** Whether `shutdown_complete` has been emitted. */
  get isShutDown(): boolean {
    return this.finished;
  }
}

function requireSessionOptions(options: unknown, what: string): void {
  const o = options as Partial<SessionOptions> | null;
  if (typeof o !== 'object' || o === null) throw ThreadStoreError.invalidRequest(`${what} needs an options object`);
  if (typeof o.store !== 'object' || o.store === null) throw ThreadStoreError.invalidRequest(`${what} needs a store`);
  if (typeof o.model !== 'object' || o.model === null || typeof o.model.stream !== 'function')
    throw ThreadStoreError.invalidRequest(`${what} needs a model client (an object with stream())`);
}

function abortReason(signal: AbortSignal): 'interrupted' | 'shutdown' {
  return signal.reason === 'shutdown' ? 'shutdown' : 'interrupted';
}
