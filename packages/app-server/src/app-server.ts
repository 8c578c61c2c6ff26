import { homedir } from 'node:os';
import path from 'node:path';
import {
  DEFAULT_ITEM_PAGE_SIZE,
  DEFAULT_TURN_PAGE_SIZE,
  isThreadStoreError,
  MAX_HISTORY_PAGE_SIZE,
  ThreadStoreError,
} from '@skein/thread-store-api';
import type {
  ListThreadsParams,
  SessionSourceFilter,
  SessionSourceKind,
  StoredThread,
  ThreadId,
  ThreadStore,
} from '@skein/thread-store-api';
import type { ModelClient, UserInput } from '@skein/core-session';
import type { CodexThread, ThreadManager } from '@skein/thread-manager';
import type { Thread } from './gen/protocol/v2/Thread.js';
import type { ThreadSourceKind } from './gen/protocol/v2/ThreadSourceKind.js';
import type { Turn } from './gen/protocol/v2/Turn.js';
import {
  invalidRequest,
  RpcConnection,
  RpcError,
  RPC_METHOD_NOT_FOUND,
  unsupportedParam,
} from './internal/json-rpc.js';
import type { MessageSink } from './internal/json-rpc.js';
import { protocolPage } from './internal/history-cursors.js';
import {
  anchorMatches,
  codexBackwardsCursor,
  codexNextCursor,
  parseCodexListCursor,
  startOf,
} from './internal/list-cursors.js';
import { LoadedThread } from './internal/loaded-thread.js';
import { optBool, optCount, optEnum, optString, optStrings, paramsObject, threadIdParam } from './internal/params.js';
import { wireItemEntry, wireThread, wireTurn } from './internal/protocol-json.js';
import type { ThreadContext } from './internal/protocol-json.js';

/** Options of `AppServer`. */
export interface AppServerOptions {
  /** The thread manager whose store and model the server serves; the server owns its loaded threads. */
  manager: ThreadManager;
  /**
   * Reported as `codexHome` by `initialize`: the local home the store reads, or for a remote store
   * the home whose settings this process would use. Default `$CODEX_HOME`, else `~/.codex`.
   */
  codexHome?: string;
  /** The server's name and version in `initialize`'s `userAgent`. Default `skein-app-server/0.0.0`. */
  userAgent?: string;
  /** Working directory of a `thread/start` that names none. Default: the process's. */
  defaultCwd?: string;
  /** The CLI version recorded on threads the server starts (as the manager's defaults record it). */
  cliVersion?: string;
  /** The model turns run with, as `model/list` describes it (the manager's model client). Absent: none listed. */
  model?: ModelClient;
  /** Context window reported in `thread/tokenUsage/updated`. Default: unknown (null). */
  modelContextWindow?: number | null;
}

/** Something that delivers a client's messages to the server: one transport connection. */
export interface AppServerConnection {
  /** Hands one message (a JSON text) from the client to the server. */
  receive(text: string): void;
  /** Tells the server that the client has gone. */
  closed(): void;
  /** Resolves once every request received so far has been answered. */
  drained(): Promise<void>;
}

const SOURCE_KINDS: Record<ThreadSourceKind, SessionSourceKind> = {
  cli: 'cli',
  vscode: 'vscode',
  exec: 'exec',
  appServer: 'mcp',
  subAgent: 'subagent',
  subAgentReview: 'subagent_review',
  subAgentCompact: 'subagent_compact',
  subAgentThreadSpawn: 'subagent_thread_spawn',
  subAgentOther: 'subagent_other',
  unknown: 'unknown',
};

const SORT_KEYS = { created_at: 'createdAt', updated_at: 'updatedAt', recency_at: 'recencyAt' } as const;
/** Codex's largest `thread/list` page. */
const MAX_LIST_LIMIT = 100;
const DEFAULT_LIST_LIMIT = 25;
/** How a store's own list cursor begins (see the api's cursor.ts). */
const STORE_LIST_CURSOR_PREFIX = 'sk1.';
/** How many threads' originators the server remembers. */
const ORIGINATOR_CACHE = 100_000;

type Handler = (conn: RpcConnection, p: Record<string, unknown>) => Promise<unknown>;

/**
 * Codex's app-server protocol (v2, as Codex 0.169 speaks it) over a `ThreadManager` and its
 * `ThreadStore`: thread listing, reading, paging, lifecycle and turns, with the notifications a
 * client needs to follow a thread. Transports hand it connections (`connect`).
 */
export class AppServer {
  private readonly manager: ThreadManager;
  private readonly store: ThreadStore;
  private readonly loaded = new Map<ThreadId, LoadedThread>();
  /** One LoadedThread per CodexThread, so one consumer reads its events. */
  private readonly wrappers = new WeakMap<CodexThread, LoadedThread>();
  /** Threads being shut down because nobody follows them; a resume waits for the end. */
  private readonly unloading = new Map<ThreadId, Promise<void>>();
  private readonly connections = new Set<RpcConnection>();
  private readonly initialized = new WeakMap<RpcConnection, { clientName: string }>();
  private readonly handlers: Record<string, Handler>;
  /** Originators already read, by thread (the oldest entry goes first when it is full). */
  private readonly originators = new Map<ThreadId, string>();
  private closing: Promise<void> | null = null;

  constructor(private readonly options: AppServerOptions) {
    if (typeof options !== 'object' || options === null || typeof options.manager !== 'object')
      throw ThreadStoreError.invalidRequest('AppServer needs a ThreadManager (options.manager)');
    this.manager = options.manager;
    this.store = options.manager.store;
    this.handlers = {
      'thread/list': (_c, p) => this.threadList(p),
      'thread/read': (_c, p) => this.threadRead(p),
      'thread/turns/list': (_c, p) => this.turnsList(p),
      'thread/items/list': (_c, p) => this.itemsList(p),
      'thread/start': (c, p) => this.threadStart(c, p),
      'thread/resume': (c, p) => this.threadResume(c, p),
      'thread/fork': (c, p) => this.threadFork(c, p),
      'thread/archive': (_c, p) => this.threadArchive(p),
      'thread/unarchive': (_c, p) => this.threadUnarchive(p),
      'thread/delete': (_c, p) => this.threadDelete(p),
      'thread/name/set': (_c, p) => this.threadNameSet(p),
      'thread/metadata/update': (_c, p) => this.metadataUpdate(p),
      'thread/loaded/list': (_c, p) => Promise.resolve(this.loadedList(p)),
      'thread/unsubscribe': (c, p) => this.unsubscribe(c, p),
      'turn/start': (c, p) => this.turnStart(c, p),
      'turn/interrupt': (_c, p) => Promise.resolve(this.turnInterrupt(p)),
      // Start-up calls of Codex's clients outside the thread API: true and empty answers.
      'account/read': () =>
        Promise.resolve({ account: null, userId: null, requiresOpenaiAuth: false, workspaceRouting: null }),
      'hooks/list': (_c, p) =>
        Promise.resolve({ data: cwdsOf(p).map((cwd) => ({ cwd, hooks: [], warnings: [], errors: [] })) }),
      'skills/list': (_c, p) => Promise.resolve({ data: cwdsOf(p).map((cwd) => ({ cwd, skills: [], errors: [] })) }),
      'thread/goal/get': (_c, p) => {
        threadIdParam(p);
        return Promise.resolve({ goal: null });
      },
      'thread/backgroundTerminals/list': (_c, p) => {
        threadIdParam(p);
        return Promise.resolve({ data: [], nextCursor: null });
      },
      'model/list': () => Promise.resolve({ data: this.modelList(), nextCursor: null }),
      // The settings turns run with here; everything else is unset (Skein reads no Codex config).
      'config/read': () =>
        Promise.resolve({
          config: {
            model: this.options.model?.model ?? null,
            model_provider: this.options.model?.provider ?? null,
            approval_policy: 'never',
            sandbox_mode: 'read-only',
          },
          origins: {},
          layers: null,
        }),
      'collaborationMode/list': () => Promise.resolve({ data: [] }),
      'configRequirements/read': () => Promise.resolve({ supportsIndependentSpeedModes: false, requirements: null }),
    };
  }

  /** The one model this server runs turns with, in the protocol's `Model` shape. */
  private modelList(): unknown[] {
    const m = this.options.model;
    if (!m) return [];
    return [
      {
        id: m.model,
        model: m.model,
        upgrade: null,
        upgradeInfo: null,
        availabilityNux: null,
        displayName: m.model,
        description: `The model skein app-server runs turns with (provider ${m.provider}).`,
        modelSpecialty: null,
        hidden: false,
        // Skein sends no reasoning settings to the model.
        supportedReasoningEfforts: [{ reasoningEffort: 'none', description: 'No reasoning settings are sent' }],
        defaultReasoningEffort: 'none',
        inputModalities: ['text', 'image'],
        supportsPersonality: false,
        multiAgentVersion: null,
        additionalSpeedTiers: [],
        serviceTiers: [],
        defaultServiceTier: null,
        availableAccessPrograms: null,
        isDefault: true,
      },
    ];
  }

  /** The store the server serves. */
  get threadStore(): ThreadStore {
    return this.store;
  }

  /** Opens a connection that writes to `sink`; the transport feeds it the client's messages. */
  connect(sink: MessageSink): AppServerConnection {
    const conn = new RpcConnection(
      sink,
      (c, method, params) => this.dispatch(c, method, params),
      (c, method) => {
        // `initialized` and other client notifications need no answer.
        void c;
        void method;
      },
    );
    this.connections.add(conn);
    conn.onClose(() => this.dropConnection(conn));
    return { receive: (text) => conn.receive(text), closed: () => conn.markClosed(), drained: () => conn.drained() };
  }

  /** Closes every connection and shuts down every loaded thread (their turns end first). */
  close(): Promise<void> {
    this.closing ??= (async () => {
      for (const c of [...this.connections]) c.close();
      const threads = [...this.loaded.values()];
      this.loaded.clear();
      await Promise.all(threads.map((t) => t.thread.shutdown()));
      await Promise.all(threads.map((t) => t.pump.catch(() => undefined)));
    })();
    return this.closing;
  }

  private async dispatch(conn: RpcConnection, method: string, params: unknown): Promise<unknown> {
    if (method === 'initialize') return this.initialize(conn, params);
    if (!this.initialized.has(conn)) throw invalidRequest('Not initialized');
    const handler = Object.hasOwn(this.handlers, method) ? this.handlers[method] : undefined;
    if (!handler)
      throw new RpcError(RPC_METHOD_NOT_FOUND, `${method} is not supported by skein app-server`, {
        skeinCode: 'unsupported',
      });
    return handler(conn, paramsObject(params));
  }

  private initialize(conn: RpcConnection, params: unknown): unknown {
    if (this.initialized.has(conn)) throw invalidRequest('Already initialized');
    const p = paramsObject(params);
    const info = p.clientInfo as { name?: unknown } | undefined;
    const clientName = typeof info?.name === 'string' && info.name !== '' ? info.name : 'skein_app_server_client';
    this.initialized.set(conn, { clientName });
    const platformOs =
      process.platform === 'darwin' ? 'macos' : process.platform === 'win32' ? 'windows' : process.platform;
    return {
      userAgent: this.options.userAgent ?? 'skein-app-server/0.0.0',
      codexHome: this.options.codexHome ?? defaultCodexHome(),
      platformFamily: process.platform === 'win32' ? 'windows' : 'unix',
      platformOs,
    };
  }

  private dropConnection(conn: RpcConnection): void {
    this.connections.delete(conn);
    for (const t of this.loaded.values()) {
      if (!t.subscribers.delete(conn)) continue;
      if (t.subscribers.size === 0) this.unload(t);
    }
  }

  /** Unloads a thread nobody follows any more; a running turn finishes first. */
  private unload(t: LoadedThread): void {
    if (this.loaded.get(t.thread.threadId) === t) this.loaded.delete(t.thread.threadId);
    const id = t.thread.threadId;
    const done = t.thread.shutdown().then(() => {
      if (this.unloading.get(id) === done) this.unloading.delete(id);
      for (const c of this.connections) c.notify('thread/closed', { threadId: t.threadId });
    });
    this.unloading.set(id, done);
  }

  private broadcast(method: string, params: unknown): void {
    for (const c of this.connections) if (this.initialized.has(c)) c.notify(method, params);
  }

  private loadedThread(threadId: ThreadId): LoadedThread | undefined {
    const t = this.loaded.get(threadId);
    if (t && t.thread.isShutDown) {
      this.loaded.delete(threadId);
      return undefined;
    }
    return t;
  }

  private adopt(thread: CodexThread, conn: RpcConnection): LoadedThread {
    let t = this.loadedThread(thread.threadId);
    if (!t || t.thread !== thread) {
      t = this.wrappers.get(thread);
    }
    if (!t) {
      t = new LoadedThread(thread, this.store, this.options.modelContextWindow ?? null, this.options.cliVersion ?? '');
      this.wrappers.set(thread, t);
    }
    this.loaded.set(thread.threadId, t);
    t.subscribers.add(conn);
    return t;
  }

  // ---- reading -------------------------------------------------------------------------------

  /**
   * The originator in the thread's `session_meta` (its first history item), or null. It never
   * changes, so it is read once per thread and remembered (up to ORIGINATOR_CACHE threads).
   */
  private async originatorOf(threadId: ThreadId): Promise<string | null> {
    const known = this.originators.get(threadId);
    if (known !== undefined) return known;
    try {
      return await this.rememberOriginator(threadId, this.store.loadHistory({ threadId, includeArchived: true }));
    } catch (error) {
      if (!isThreadStoreError(error, 'not_found')) throw error;
      return null;
    }
  }

  /** Reads the originator from the first item of `history` (and stops reading), remembering it. */
  private async rememberOriginator(threadId: ThreadId, history: AsyncIterable<unknown>): Promise<string | null> {
    let found: string | null = null;
    for await (const item of history) {
      const payload = (item as { type?: unknown; payload?: { originator?: unknown } }).payload;
      const first = (item as { type?: unknown }).type === 'session_meta' ? payload?.originator : undefined;
      found = typeof first === 'string' ? first : null;
      break;
    }
    if (found !== null) {
      if (this.originators.size >= ORIGINATOR_CACHE) this.originators.delete(this.originators.keys().next().value!);
      this.originators.set(threadId, found);
    }
    return found;
  }

  /** `originator`: already read with the thread (see storedThread); absent: read here. */
  private async context(
    t: StoredThread,
    turns: Turn[] = [],
    originator?: string | null | undefined,
  ): Promise<ThreadContext> {
    const live = this.loadedThread(t.threadId);
    const ephemeral = live?.thread.session.ephemeral ?? false;
    const recorded = ephemeral ? null : originator !== undefined ? originator : await this.originatorOf(t.threadId);
    return {
      status: live ? live.status : { type: 'notLoaded' },
      ephemeral,
      originator: recorded ?? (live ? (this.initializedNameOf(live) ?? null) : null),
      canAcceptDirectInput: live ? true : null,
      turns,
    };
  }

  private initializedNameOf(t: LoadedThread | undefined): string | undefined {
    for (const c of t?.subscribers ?? []) return this.initialized.get(c)?.clientName;
    return undefined;
  }

  /** Every turn of a thread, oldest first, in full, read page by page. */
  private async allTurns(threadId: ThreadId): Promise<Turn[]> {
    const out: Turn[] = [];
    let cursor: string | null = null;
    do {
      const page = await this.store.listTurns({
        threadId,
        includeArchived: true,
        sortDirection: 'asc',
        itemsView: 'full',
        pageSize: 1000,
        ...(cursor !== null ? { cursor } : {}),
      });
      out.push(...page.turns.map(wireTurn));
      cursor = page.nextCursor;
    } while (cursor !== null);
    return out;
  }

  private async storedThread(threadId: ThreadId): Promise<StoredThread> {
    return (await this.storedWithOriginator(threadId, false)).stored;
  }

  /**
   * A thread's summary and, with `withOriginator`, its originator read in the same store call
   * (the first item of the history the read opens), so a `thread/read` locates the thread once.
   */
  private async storedWithOriginator(
    threadId: ThreadId,
    withOriginator: boolean,
  ): Promise<{ stored: StoredThread; originator?: string | null | undefined }> {
    const live = this.loadedThread(threadId);
    if (live) {
      try {
        return { stored: await live.thread.readThread() };
      } catch (error) {
        // Started here and not written yet (lazy persistence): what the session knows of it.
        if (isThreadStoreError(error, 'not_found')) return { stored: unwrittenThread(live) };
        throw error;
      }
    }
    const known = this.originators.get(threadId);
    const includeHistory = withOriginator && known === undefined;
    let stored;
    try {
      stored = await this.store.readThread({ threadId, includeArchived: true, includeHistory });
    } catch (error) {
      if (isThreadStoreError(error, 'not_found')) throw invalidRequest(`thread not loaded: ${threadId}`);
      throw error;
    }
    const { history, ...summary } = stored;
    if (!withOriginator) return { stored: summary };
    if (!history) return { stored: summary, originator: known };
    try {
      return { stored: summary, originator: await this.rememberOriginator(threadId, history) };
    } catch (error) {
      // Gone between the summary and its first line: no originator, as for a thread never read.
      if (isThreadStoreError(error, 'not_found')) return { stored: summary, originator: null };
      throw error;
    }
  }

  private async wire(threadId: ThreadId, includeTurns: boolean): Promise<Thread> {
    const { stored, originator } = await this.storedWithOriginator(threadId, true);
    const live = this.loadedThread(threadId);
    const turns = includeTurns && !(live?.thread.session.ephemeral ?? false) ? await this.allTurns(threadId) : [];
    const thread = wireThread(stored, await this.context(stored, turns, originator));
    // Codex 0.169 reads a legacy-mode thread without its turns differently: it reports no thread
    // source (its state database holds none for such threads) and its creation time as updatedAt
    // (with turns, and in thread/list, updatedAt is the last write, as Skein reports it).
    if (stored.historyMode === 'legacy' && !includeTurns) {
      thread.threadSource = null;
      thread.updatedAt = thread.createdAt;
    }
    return thread;
  }

  private async threadList(p: Record<string, unknown>): Promise<unknown> {
    const empty = { data: [], readStates: {}, nextCursor: null, backwardsCursor: null };
    const sortKeyName = optEnum(p, 'sortKey', ['created_at', 'updated_at', 'recency_at', 'section_position']);
    const sectionId = optString(p, 'sectionId');
    if (sortKeyName === 'section_position' && sectionId === undefined)
      throw invalidRequest('section-position sorting requires a section filter');
    const sortDirection = optEnum(p, 'sortDirection', ['asc', 'desc']);
    const limit = optCount(p, 'limit');
    const originators = optStrings(p, 'originators');
    if (originators !== undefined && originators.length > 0)
      throw unsupportedParam('originator filtering is not supported by skein app-server');
    for (const key of ['parentThreadId', 'ancestorThreadId'] as const)
      if (optString(p, key) !== undefined)
        throw unsupportedParam(`${key} filtering is not supported by skein app-server`);
    optBool(p, 'useStateDbOnly');
    optBool(p, 'currentAccountOnly');
    optBool(p, 'includeAttachedThreads');
    // Skein keeps no sections, projects or attached threads: no thread is in any of them.
    if (
      sectionId !== undefined ||
      optString(p, 'projectId') !== undefined ||
      optString(p, 'attachedToThreadId') !== undefined
    )
      return empty;
    // Codex serves at least one thread per page.
    const pageSize = Math.max(1, Math.min(limit ?? DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT));
    const params: ListThreadsParams = {
      pageSize,
      sortKey: sortKeyName === undefined || sortKeyName === 'section_position' ? 'createdAt' : SORT_KEYS[sortKeyName],
    };
    if (sortDirection !== undefined) params.sortDirection = sortDirection;
    const cursor = optString(p, 'cursor');
    const kinds = optStrings(p, 'sourceKinds');
    if (kinds !== undefined) {
      const mapped: SessionSourceFilter[] = [];
      for (const k of kinds) {
        const kind = (SOURCE_KINDS as Record<string, SessionSourceKind | undefined>)[k];
        if (kind === undefined)
          throw invalidRequest(
            `Invalid request: unknown variant \`${k}\`, expected one of ${Object.keys(SOURCE_KINDS)
              .map((s) => `\`${s}\``)
              .join(', ')}`,
          );
        mapped.push(kind);
      }
      params.allowedSources = mapped;
    }
    const providers = optStrings(p, 'modelProviders');
    if (providers !== undefined) params.modelProviders = providers;
    const cwd = p.cwd;
    if (typeof cwd === 'string') params.cwdFilters = [cwd];
    else if (cwd !== undefined && cwd !== null) {
      const list = optStrings(p, 'cwd');
      if (list !== undefined) params.cwdFilters = list;
    }
    const archived = optBool(p, 'archived');
    if (archived !== undefined) params.archived = archived;
    const searchTerm = optString(p, 'searchTerm');
    if (searchTerm !== undefined) params.searchTerm = searchTerm;
    const excluded = new Set(optStrings(p, 'excludedThreadIds') ?? []);
    if (cursor !== undefined) await this.applyListCursor(params, cursor);
    let page;
    try {
      page = await this.store.listThreads(params);
    } catch (error) {
      if (isThreadStoreError(error, 'invalid_request') && cursor !== undefined && /cursor/i.test(error.message))
        throw invalidRequest(`invalid cursor: ${cursor}`);
      throw error;
    }
    const kept = page.items.filter((t) => !excluded.has(t.threadId));
    // Excluded threads do not shorten the page: the next ones fill it, read from the store's cursor.
    while (kept.length < pageSize && page.nextCursor !== null && page.items.length > 0) {
      page = await this.store.listThreads({ ...params, cursor: page.nextCursor, pageSize: pageSize - kept.length });
      kept.push(...page.items.filter((t) => !excluded.has(t.threadId)));
    }
    // Codex's listing rows come from its state database, which has neither the fork parent nor
    // the thread source: both are null there (thread/read reports them).
    const data = await Promise.all(
      kept.map(async (t) => ({
        ...wireThread(t, await this.context(t)),
        forkedFromId: null,
        threadSource: null,
      })),
    );
    const key = params.sortKey ?? 'createdAt';
    const first = kept[0];
    const last = kept[kept.length - 1];
    // Codex answers `limit: 0` with one thread and no next page.
    const nextCursor = limit === 0 || page.nextCursor === null || !last ? null : codexNextCursor(last, key);
    const backwardsCursor = first ? codexBackwardsCursor(first, key, params.sortDirection ?? 'desc') : null;
    return { data, readStates: {}, nextCursor, backwardsCursor };
  }

  /**
   * Turns a `thread/list` cursor into the store listing it continues: Codex's positions and
   * instants (see list-cursors.ts) become a start; a store cursor, which skein app-server
   * handed out before it wrote Codex's formats, is passed on as it is.
   */
  private async applyListCursor(params: ListThreadsParams, cursor: string): Promise<void> {
    if (cursor.startsWith(STORE_LIST_CURSOR_PREFIX)) {
      params.cursor = cursor;
      return;
    }
    const parsed = parseCodexListCursor(cursor);
    if (parsed === null) throw invalidRequest(`invalid cursor: ${cursor}`);
    const key = params.sortKey ?? 'createdAt';
    const dir = params.sortDirection ?? 'desc';
    let anchorMs: number | undefined;
    if (parsed.kind === 'position' && key === 'createdAt' && parsed.atMs % 1000 === 0) {
      // A whole-second creation position (Codex's file-scan listings write those): the thread's
      // own time places it exactly.
      try {
        const anchor = await this.store.readThread({ threadId: parsed.threadId, includeArchived: true });
        if (anchorMatches(parsed, key, anchor[key].getTime())) anchorMs = anchor[key].getTime();
      } catch (error) {
        if (!isThreadStoreError(error, 'not_found')) throw error;
      }
    }
    params.start = startOf(parsed, dir, anchorMs);
  }

  private async threadRead(p: Record<string, unknown>): Promise<unknown> {
    const threadId = threadIdParam(p);
    const includeTurns = optBool(p, 'includeTurns') ?? false;
    return { thread: await this.wire(threadId, includeTurns), readState: null };
  }

  private async turnsList(p: Record<string, unknown>): Promise<unknown> {
    const threadId = threadIdParam(p);
    const cursor = optString(p, 'cursor');
    const limit = optCount(p, 'limit');
    const sortDirection = optEnum(p, 'sortDirection', ['asc', 'desc']) ?? 'desc';
    const itemsView = optEnum(p, 'itemsView', ['notLoaded', 'summary', 'full']);
    if (limit === 0) return { data: [], nextCursor: null, backwardsCursor: null };
    const page = await this.historyPage(threadId, cursor, () =>
      protocolPage(
        async (c, d, pageSize) => {
          const got = await this.store.listTurns({
            threadId,
            includeArchived: true,
            pageSize,
            sortDirection: d,
            ...(c !== null ? { cursor: c } : {}),
            ...(itemsView !== undefined ? { itemsView } : {}),
          });
          return { entries: got.turns, nextCursor: got.nextCursor, backwardsCursor: got.backwardsCursor };
        },
        cursor,
        sortDirection,
        Math.min(limit ?? DEFAULT_TURN_PAGE_SIZE, MAX_HISTORY_PAGE_SIZE),
        () => invalidRequest(`invalid cursor: ${cursor}`),
      ),
    );
    return { data: page.entries.map(wireTurn), nextCursor: page.nextCursor, backwardsCursor: page.backwardsCursor };
  }

  private async itemsList(p: Record<string, unknown>): Promise<unknown> {
    const threadId = threadIdParam(p);
    const turnId = optString(p, 'turnId');
    const rawCursor = p.cursor;
    if (rawCursor !== undefined && rawCursor !== null && typeof rawCursor !== 'string')
      throw unsupportedParam('item anchors as cursors are not supported by skein app-server; pass a cursor string');
    const cursor = optString(p, 'cursor');
    const limit = optCount(p, 'limit');
    const sortDirection = optEnum(p, 'sortDirection', ['asc', 'desc']) ?? 'asc';
    if (limit === 0) return { data: [], nextCursor: null, backwardsCursor: null };
    let page;
    try {
      page = await this.historyPage(threadId, cursor, () =>
        protocolPage(
          async (c, d, pageSize) => {
            const got = await this.store.listItems({
              threadId,
              includeArchived: true,
              pageSize,
              sortDirection: d,
              ...(turnId !== undefined ? { turnId } : {}),
              ...(c !== null ? { cursor: c } : {}),
            });
            return { entries: got.items, nextCursor: got.nextCursor, backwardsCursor: got.backwardsCursor };
          },
          cursor,
          sortDirection,
          Math.min(limit ?? DEFAULT_ITEM_PAGE_SIZE, MAX_HISTORY_PAGE_SIZE),
          () => invalidRequest(`invalid cursor: ${cursor}`),
        ),
      );
    } catch (error) {
      // Codex answers an unknown turn with an empty page.
      if (
        turnId !== undefined &&
        error instanceof ThreadStoreError &&
        error.code === 'not_found' &&
        /turn/i.test(error.message)
      )
        return { data: [], nextCursor: null, backwardsCursor: null };
      throw error;
    }
    return {
      data: page.entries.map(wireItemEntry),
      nextCursor: page.nextCursor,
      backwardsCursor: page.backwardsCursor,
    };
  }

  /** Runs a history page call, with Codex's messages for an unknown thread and a bad cursor. */
  private async historyPage<T>(threadId: ThreadId, cursor: string | undefined, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      if (isThreadStoreError(error, 'invalid_request') && cursor !== undefined && /cursor/i.test(error.message))
        throw invalidRequest(`invalid cursor: ${cursor}`);
      if (isThreadStoreError(error, 'not_found') && !/turn/i.test(error.message))
        throw invalidRequest(`thread not loaded: ${threadId}`);
      throw error;
    }
  }

  // ---- lifecycle -----------------------------------------------------------------------------

  private sessionResponse(thread: Thread, live: LoadedThread): Record<string, unknown> {
    const s = live.thread.session;
    return {
      thread,
      model: s.model.model,
      modelProvider: s.modelProvider,
      serviceTier: null,
      disabledPluginIds: [],
      cwd: s.cwd,
      runtimeWorkspaceRoots: [],
      instructionSources: [],
      approvalPolicy: 'never',
      approvalsReviewer: 'user',
      sandbox: { type: 'readOnly', networkAccess: false },
      activePermissionProfile: null,
      reasoningEffort: null,
      multiAgentMode: 'explicitRequestOnly',
    };
  }

  private async threadStart(conn: RpcConnection, p: Record<string, unknown>): Promise<unknown> {
    const ephemeral = optBool(p, 'ephemeral') ?? false;
    const historyMode = optEnum(p, 'historyMode', ['legacy', 'paginated']);
    if (historyMode === 'legacy')
      throw unsupportedParam('skein app-server starts paginated threads only (the format Codex 0.169 writes)');
    const cwd = optString(p, 'cwd') ?? this.options.defaultCwd ?? process.cwd();
    const clientName = this.initialized.get(conn)?.clientName ?? 'skein_app_server_client';
    const thread = await this.manager.startThread({
      cwd,
      ephemeral,
      // Codex records threads its app-server starts as vscode threads, originated by the client.
      source: { kind: 'vscode' },
      originator: clientName,
    });
    const live = this.adopt(thread, conn);
    const wired = await this.wire(thread.threadId, false);
    this.broadcast('thread/started', { thread: wired });
    return this.sessionResponse(wired, live);
  }

  private async threadResume(conn: RpcConnection, p: Record<string, unknown>): Promise<unknown> {
    const threadId = threadIdParam(p);
    const rolloutPath = optString(p, 'path');
    if (p.history !== undefined && p.history !== null)
      throw unsupportedParam('resuming from a given history is not supported by skein app-server');
    const excludeTurns = optBool(p, 'excludeTurns') ?? false;
    const initial = p.initialTurnsPage;
    await this.unloading.get(threadId);
    let thread: CodexThread;
    try {
      thread =
        rolloutPath !== undefined
          ? await this.manager.resumeThreadFromRolloutPath(rolloutPath)
          : await this.manager.resumeThread({ threadId });
    } catch (error) {
      if (isThreadStoreError(error, 'not_found')) throw invalidRequest(`no rollout found for thread id ${threadId}`);
      throw error;
    }
    const live = this.adopt(thread, conn);
    conn.notify('thread/status/changed', { threadId, status: live.status });
    const wired = await this.wire(threadId, !excludeTurns && (initial === undefined || initial === null));
    const out = this.sessionResponse(wired, live);
    out.collaborationMode = null;
    out.initialTurnsPage = null;
    out.turnsBackwardsCursor = null;
    out.itemsBackwardsCursor = null;
    if (initial !== undefined && initial !== null) {
      const ip = paramsObject(initial);
      const page = (await this.turnsList({ ...ip, threadId })) as { backwardsCursor: string | null };
      out.initialTurnsPage = page;
      out.turnsBackwardsCursor = page.backwardsCursor;
    }
    return out;
  }

  private async threadFork(conn: RpcConnection, p: Record<string, unknown>): Promise<unknown> {
    const threadId = threadIdParam(p);
    if (optString(p, 'path') !== undefined && !this.store.capabilities.localPaths)
      throw new ThreadStoreError('unsupported', 'forking by rollout path needs a local store; this store has no paths');
    const ephemeral = optBool(p, 'ephemeral') ?? false;
    const lastTurnId = optString(p, 'lastTurnId');
    const beforeTurnId = optString(p, 'beforeTurnId');
    let turns: number | undefined;
    if (lastTurnId !== undefined || beforeTurnId !== undefined) {
      await this.storedThread(threadId);
      const all = await this.allTurns(threadId);
      const wanted = lastTurnId ?? beforeTurnId;
      const index = all.findIndex((t) => t.id === wanted);
      if (index < 0) throw invalidRequest(`turn ${wanted} not found in thread ${threadId}`);
      turns = lastTurnId !== undefined ? index + 1 : index;
    } else {
      await this.storedThread(threadId);
    }
    const fork = await this.manager.forkThread({
      threadId,
      ephemeral,
      includeArchived: true,
      ...(turns !== undefined ? { turns } : {}),
    });
    const live = this.adopt(fork, conn);
    const wired = await this.wire(fork.threadId, !(optBool(p, 'excludeTurns') ?? false));
    this.broadcast('thread/started', { thread: wired });
    return this.sessionResponse(wired, live);
  }

  private async threadArchive(p: Record<string, unknown>): Promise<unknown> {
    const threadId = threadIdParam(p);
    await this.unloadForRemoval(threadId, () => this.store.archiveThread({ threadId }));
    this.broadcast('thread/archived', { threadId });
    return {};
  }

  /**
   * Archive and delete: the thread stops being loaded (its live writer shut down), then `remove`
   * runs; a thread the store does not know is Codex's "no rollout found" error.
   */
  private async unloadForRemoval(threadId: ThreadId, remove: () => Promise<unknown>): Promise<void> {
    const live = this.loadedThread(threadId);
    if (live) {
      this.loaded.delete(threadId);
      await live.thread.shutdown();
    }
    try {
      await remove();
    } catch (error) {
      if (isThreadStoreError(error, 'not_found')) throw invalidRequest(`no rollout found for thread id ${threadId}`);
      throw error;
    }
  }

  private async threadUnarchive(p: Record<string, unknown>): Promise<unknown> {
    const threadId = threadIdParam(p);
    let stored: StoredThread;
    try {
      const current = await this.store.readThread({ threadId, includeArchived: true });
      if (current.archivedAt === null) throw new ThreadStoreError('not_found', `thread ${threadId} is not archived`);
      stored = await this.store.unarchiveThread({ threadId });
    } catch (error) {
      if (isThreadStoreError(error, 'not_found'))
        throw invalidRequest(`no archived rollout found for thread id ${threadId}`);
      throw error;
    }
    this.broadcast('thread/unarchived', { threadId });
    return { thread: wireThread(stored, await this.context(stored)) };
  }

  private async threadDelete(p: Record<string, unknown>): Promise<unknown> {
    const threadId = threadIdParam(p);
    await this.unloadForRemoval(threadId, () => this.store.deleteThread({ threadId }));
    this.originators.delete(threadId);
    this.broadcast('thread/deleted', { threadId });
    return {};
  }

  private async threadNameSet(p: Record<string, unknown>): Promise<unknown> {
    const threadId = threadIdParam(p);
    const name = p.name;
    if (typeof name !== 'string') throw invalidRequest('Invalid request: missing field `name`');
    if (name.trim() === '') throw invalidRequest('thread name must not be empty');
    try {
      await this.manager.updateThreadMetadata(threadId, { name });
    } catch (error) {
      if (isThreadStoreError(error, 'not_found')) throw invalidRequest(`no rollout found for thread id ${threadId}`);
      throw error;
    }
    this.broadcast('thread/name/updated', { threadId, threadName: name });
    return {};
  }

  private async metadataUpdate(p: Record<string, unknown>): Promise<unknown> {
    const threadId = threadIdParam(p);
    if (optString(p, 'projectId') !== undefined)
      throw unsupportedParam('projects are not supported by skein app-server');
    if (optBool(p, 'daybreakEnabled') !== undefined)
      throw unsupportedParam('daybreakEnabled is not supported by skein app-server');
    const git = p.gitInfo;
    if (git !== undefined && git !== null) {
      const g = paramsObject(git);
      const patch: { sha?: string | null; branch?: string | null; originUrl?: string | null } = {};
      for (const key of ['sha', 'branch', 'originUrl'] as const) {
        if (!(key in g)) continue;
        const v = g[key];
        if (v !== null && typeof v !== 'string')
          throw invalidRequest(`Invalid request: \`gitInfo.${key}\` must be a string`);
        patch[key] = v;
      }
      try {
        await this.manager.updateThreadMetadata(threadId, { gitInfo: patch }, { includeArchived: true });
      } catch (error) {
        if (isThreadStoreError(error, 'not_found')) throw invalidRequest(`thread not found: ${threadId}`);
        throw error;
      }
    }
    return { thread: await this.wire(threadId, false) };
  }

  private loadedList(p: Record<string, unknown>): unknown {
    const cursor = optString(p, 'cursor');
    const limit = optCount(p, 'limit');
    const ids = [...this.loaded.values()]
      .filter((t) => !t.thread.isShutDown)
      .map((t) => t.threadId)
      .sort();
    const start = cursor === undefined ? 0 : ids.findIndex((id) => id > cursor);
    const from = start < 0 ? ids.length : start;
    const end = limit === undefined ? ids.length : Math.min(ids.length, from + Math.max(1, limit));
    const data = ids.slice(from, end);
    return { data, nextCursor: end < ids.length ? (data[data.length - 1] ?? null) : null };
  }

  private async unsubscribe(conn: RpcConnection, p: Record<string, unknown>): Promise<unknown> {
    const threadId = threadIdParam(p);
    const live = this.loadedThread(threadId);
    if (!live) return { status: 'notLoaded' };
    if (!live.subscribers.delete(conn)) return { status: 'notSubscribed' };
    if (live.subscribers.size === 0) this.unload(live);
    return Promise.resolve({ status: 'unsubscribed' });
  }

  // ---- turns ---------------------------------------------------------------------------------

  private requireLoaded(threadId: ThreadId): LoadedThread {
    const live = this.loadedThread(threadId);
    if (!live) throw invalidRequest(`thread not found: ${threadId}`);
    return live;
  }

  private async turnStart(conn: RpcConnection, p: Record<string, unknown>): Promise<unknown> {
    const threadId = threadIdParam(p);
    const live = this.requireLoaded(threadId);
    live.subscribers.add(conn);
    const input = userInputs(p.input);
    const clientId = optString(p, 'clientUserMessageId') ?? null;
    const turn = await live.startTurn(input, clientId);
    return { turn };
  }

  private turnInterrupt(p: Record<string, unknown>): unknown {
    const threadId = threadIdParam(p);
    const turnId = optString(p, 'turnId');
    if (turnId === undefined) throw invalidRequest('Invalid request: missing field `turnId`');
    this.requireLoaded(threadId).interrupt(turnId);
    return {};
  }
}

function userInputs(raw: unknown): UserInput[] {
  if (!Array.isArray(raw)) throw invalidRequest('Invalid request: missing field `input`');
  if (raw.length === 0) throw invalidRequest('a turn needs at least one input item');
  return raw.map((i: unknown): UserInput => {
    const o = paramsObject(i);
    switch (o.type) {
      case 'text':
        if (typeof o.text !== 'string') throw invalidRequest('Invalid request: text input needs `text`');
        return { type: 'text', text: o.text };
      case 'image':
        if (typeof o.url !== 'string')
          throw unsupportedParam('image inputs by file id are not supported by skein app-server');
        return { type: 'image', imageUrl: o.url };
      case 'localImage':
        if (typeof o.path !== 'string') throw invalidRequest('Invalid request: localImage input needs `path`');
        return { type: 'local_image', path: o.path };
      default:
        throw unsupportedParam(`${String(o.type)} inputs are not supported by skein app-server`);
    }
  });
}

function cwdsOf(p: Record<string, unknown>): string[] {
  return optStrings(p, 'cwds') ?? [];
}

function defaultCodexHome(): string {
  const env = process.env.CODEX_HOME;
  return env !== undefined && env !== '' ? path.resolve(env) : path.join(homedir(), '.codex');
}

/** A thread started here that has no stored line yet: its summary from the running session. */
function unwrittenThread(live: LoadedThread): StoredThread {
  const s = live.thread.session;
  const now = live.createdAt;
  return {
    threadId: s.threadId,
    sessionId: s.threadId,
    forkedFromId: null,
    parentThreadId: null,
    preview: '',
    name: null,
    modelProvider: s.modelProvider,
    model: s.model.model,
    reasoningEffort: null,
    createdAt: now,
    updatedAt: now,
    recencyAt: now,
    archivedAt: null,
    cwd: s.cwd,
    cliVersion: live.cliVersion,
    source: s.source,
    threadSource: null,
    agentNickname: null,
    agentRole: null,
    agentPath: null,
    gitInfo: null,
    approvalMode: null,
    sandboxPolicy: null,
    tokenUsage: null,
    firstUserMessage: null,
    historyMode: 'paginated',
    memoryMode: 'enabled',
    rolloutPath: null,
  };
}
