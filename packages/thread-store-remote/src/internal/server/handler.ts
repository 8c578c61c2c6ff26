import { create } from '@bufbuild/protobuf';
import { randomUUID } from 'node:crypto';
import type { ConnectRouter, HandlerContext, ServiceImpl } from '@connectrpc/connect';
import { createContextKey } from '@connectrpc/connect';
import type {
  LoadHistoryParams,
  RolloutItem,
  StoredThread,
  ThreadId,
  ThreadStore,
  ThreadStoreErrorCode,
} from '@skein/thread-store-api';
import { isThreadStoreError, parseThreadId, ThreadStoreError } from '@skein/thread-store-api';
import {
  HistoryChunkSchema,
  ListThreadsResponseSchema,
  ServerLimitsSchema,
  ThreadStoreService,
  WriterLeaseSchema,
} from '../../gen/skein/threadstore/v1/thread_store_pb.js';
import { toConnectError } from '../convert/errors.js';
import {
  itemPageToProto,
  listItemsParamsFromProto,
  listTurnsParamsFromProto,
  turnPageToProto,
} from '../convert/history-pages.js';
import { parseJsonBytes } from '../convert/json-bytes.js';
import {
  createParamsFromProto,
  listParamsFromProto,
  resumeParamsFromProto,
  searchParamsFromProto,
} from '../convert/params.js';
import { patchFromProto } from '../convert/patch.js';
import { segmentToProto } from '../convert/segments.js';
import { storedThreadToProto } from '../convert/thread.js';
import { storedThreadFields } from '../convert/thread-wire.js';
import type { AuthOptions } from './auth.js';
import { Authenticator } from './auth.js';
import { historyChunks, itemsAsJson, storedJson } from './history-chunks.js';
import { flushAfterAppend } from './append-flush.js';
import { LeaseTable } from './leases.js';
import type { ServerLimits } from './limits.js';
import { resolveLimits } from './limits.js';
import type { ServerLogger } from './logger.js';
import { resolveLogger } from './logger.js';
import { ServerMetrics } from './metrics.js';
import type { Span } from '@opentelemetry/api';
import { endCallSpan, startCallSpan, withContext } from './tracing.js';
import { CLIENT_ID_HEADER } from '../headers.js';

/** One store for every caller, or a store per tenant (opened on first use, closed by the server). */
export type StoreSource = ThreadStore | ((tenant: string) => ThreadStore | Promise<ThreadStore>);

/** Options of `createThreadStoreHandler`. */
export interface ThreadStoreHandlerOptions {
  /** Default `'none'` (every caller is tenant `default`). */
  auth?: AuthOptions;
  limits?: Partial<ServerLimits>;
  /** Default: one JSON line per call on stderr. `false` silences it. */
  logger?: ServerLogger;
  /** How long a silent client keeps its live writers (default 30 000 ms). */
  leaseMs?: number;
  /** Close the single store given on `close()` (stores from a tenant factory are always closed). */
  ownsStore?: boolean;
  /** Serves the ForkThread call; without it that call is `unsupported`. */
  forkThread?: ForkThreadFn;
}

/**
 * Forks a thread of `store`: a new thread with a copy of the first `turns` turns (every turn when
 * absent). Forking takes a session layer the server package does not have, so its host gives it.
 */
export type ForkThreadFn = (
  store: ThreadStore,
  params: { threadId: ThreadId; turns?: number },
) => Promise<StoredThread>;

/** Connect routes (`connectNodeAdapter({ routes })`, fastify, express) plus their lifecycle. */
export interface ThreadStoreRoutes {
  (router: ConnectRouter): void;
  readonly limits: ServerLimits;
  readonly leaseMs: number;
  /**
   * The refusal for a request's `authorization` header, or undefined when it may proceed: lets a
   * server refuse a caller from its headers alone, before reading (and decompressing) its body.
   */
  refusal(authorization: string | null, path: string): ThreadStoreError | undefined;
  /** Calls being served right now. */
  inFlight(): number;
  /**
   * The Prometheus text exposition of the handler's metrics (calls and latency by method and
   * code, live writers, open streams, calls in flight, index lag, process figures), for a
   * `GET /metrics` route.
   */
  metrics(): Promise<{ contentType: string; body: string }>;
  /**
   * Graceful shutdown: refuse new calls (`unavailable`), wait up to `timeoutMs` for in-flight
   * calls, flush and close every leased live writer, then close the stores the handler owns.
   */
  close(options?: { timeoutMs?: number }): Promise<void>;
}

type CallCode = 'ok' | 'cancelled' | ThreadStoreErrorCode;

interface CallScope {
  store: ThreadStore;
  tenant: string;
  clientId: string | null;
}

const CLIENT_ID_RE = /^[A-Za-z0-9._:-]{1,128}$/;

/** How often a WatchThread call looks at its thread: changes reach the client within this. */
const WATCH_POLL_MS = 250;
/** A watch sends its (unchanged) state at least this often, so idle connections stay open. */
const WATCH_HEARTBEAT_MS = 15_000;

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });

function watchStateToProto(
  thread: StoredThread,
  lastItemOrdinal: number | undefined,
): { lastItemOrdinal?: bigint; updatedAtMs: bigint; name?: string; archivedAtMs?: bigint } {
  return {
    ...(lastItemOrdinal === undefined ? {} : { lastItemOrdinal: BigInt(lastItemOrdinal) }),
    updatedAtMs: BigInt(thread.updatedAt.getTime()),
    ...(thread.name === null ? {} : { name: thread.name }),
    ...(thread.archivedAt === null ? {} : { archivedAtMs: BigInt(thread.archivedAt.getTime()) }),
  };
}

/**
 * The identity of the connection a call came on (set by the server through `contextValues`).
 * A caller that sends no `skein-client-id` is that connection: its writers are leased to it like
 * any client's, so nobody else can append to them and they close when it goes silent.
 */
export const CONNECTION_ID = createContextKey<string | undefined>(undefined, { description: 'skein connection id' });

/**
 * The Connect routes that serve `source` over gRPC, gRPC-Web and Connect, for mounting on any Node
 * HTTP/2 server (`startThreadStoreServer` does that for you).
 */
export function createThreadStoreHandler(
  source: StoreSource,
  options: ThreadStoreHandlerOptions = {},
): ThreadStoreRoutes {
  const limits = resolveLimits(options.limits);
  const log = resolveLogger(options.logger);
  /** Without a logger (`logger: false`) no call's entry is built at all. */
  const logging = options.logger !== false;
  const auth = new Authenticator(options.auth ?? 'none');
  const leaseMs = options.leaseMs ?? 30_000;
  if (!Number.isSafeInteger(leaseMs) || leaseMs < 1)
    throw new RangeError(`leaseMs must be a positive integer, got ${String(leaseMs)}`);
  const leases = new LeaseTable(leaseMs);
  const tenantStores = new Map<string, Promise<ThreadStore>>();
  let inFlight = 0;
  let activeStreams = 0;
  /** History streams being served, per tenant. */
  const tenantStreams = new Map<string, number>();
  const metrics = new ServerMetrics({
    liveWriters: () => leases.count(),
    openStreams: () => activeStreams,
    inFlight: () => inFlight,
    indexLag: () => indexLagOf(typeof source === 'function' ? [...openedStores] : [source]),
  });
  /** Stores of tenants that opened: the index lag is read from them. */
  const openedStores = new Set<ThreadStore>();
  let closing = false;
  let closed: Promise<void> | undefined;
  const idleWaiters = new Set<() => void>();

  const storeFor = (tenant: string): Promise<ThreadStore> => {
    if (typeof source !== 'function') return Promise.resolve(source);
    let p = tenantStores.get(tenant);
    if (!p) {
      p = Promise.resolve()
        .then(() => source(tenant))
        .then((store) => {
          openedStores.add(store);
          return store;
        })
        .catch((e: unknown) => {
          tenantStores.delete(tenant);
          throw isThreadStoreError(e)
            ? e
            : ThreadStoreError.internal(`cannot open the store of tenant ${tenant}: ${(e as Error).message}`, e);
        });
      tenantStores.set(tenant, p);
    }
    return p;
  };

  /** Closes writers whose client went silent, so another client can resume their threads. */
  const closeWriters = async (
    writers: { tenant: string; clientId: string; threadId: string }[],
    why: 'lease_expired' | 'shutdown',
  ): Promise<void> => {
    await Promise.all(
      writers.map(async (w) => {
        try {
          const store = await storeFor(w.tenant);
          await store.shutdownThread(w.threadId as ThreadId);
          if (why === 'lease_expired')
            log({
              event: 'lease_expired',
              time: new Date().toISOString(),
              tenant: w.tenant,
              clientId: w.clientId,
              threadId: w.threadId,
            });
        } catch (e) {
          // Already closed by the store (not_found) is fine; anything else is worth a line.
          if (!isThreadStoreError(e, 'not_found'))
            log({
              event: 'writer_close_failed',
              time: new Date().toISOString(),
              tenant: w.tenant,
              clientId: w.clientId,
              threadId: w.threadId,
              message: (e as Error).message,
            });
        }
      }),
    );
  };

  const sweeper = setInterval(
    () => {
      const expired = leases.sweep();
      if (expired.length > 0) void closeWriters(expired, 'lease_expired');
    },
    Math.max(10, Math.floor(leaseMs / 4)),
  );
  sweeper.unref();

  const begin = (
    ctx: HandlerContext,
  ): { tenant: string | null; clientId: string | null; scope: Promise<CallScope> } => {
    const rawClient = ctx.requestHeader.get(CLIENT_ID_HEADER);
    // No header: the connection's identity, or (mounted without one) an identity of this call
    // alone, so a writer it opens is still leased and expires.
    const clientId =
      rawClient === null
        ? `connection:${ctx.values.get(CONNECTION_ID) ?? randomUUID()}`
        : CLIENT_ID_RE.test(rawClient)
          ? rawClient
          : null;
    let tenant: string | null = null;
    const scope = (async (): Promise<CallScope> => {
      if (closing)
        throw new ThreadStoreError('unavailable', 'the thread store server is shutting down; retry after it restarts');
      if (rawClient !== null && clientId === null)
        throw ThreadStoreError.invalidRequest(`the ${CLIENT_ID_HEADER} header must be 1-128 of A-Z a-z 0-9 . _ : -`);
      tenant = auth.authenticate(ctx.requestHeader.get('authorization'));
      leases.touch(tenant, clientId);
      return { store: await storeFor(tenant), tenant, clientId };
    })();
    return {
      get tenant() {
        return tenant;
      },
      clientId,
      scope,
    };
  };

  const finish = (
    method: string,
    started: number,
    call: { tenant: string | null; clientId: string | null },
    code: CallCode,
    message?: string,
    span?: Span,
  ): void => {
    inFlight -= 1;
    const seconds = (performance.now() - started) / 1000;
    metrics.observe(method, code, seconds);
    if (span) endCallSpan(span, call, code, message);
    if (logging) {
      const entry = {
        event: 'call' as const,
        time: new Date().toISOString(),
        method,
        tenant: call.tenant,
        clientId: call.clientId,
        code,
        durationMs: Math.round(seconds * 1e6) / 1000,
      };
      log(message === undefined ? entry : { ...entry, message });
    }
    if (inFlight === 0) for (const w of idleWaiters) w();
  };

  const unary =
    <Req, Res>(method: string, fn: (req: Req, scope: CallScope, ctx: HandlerContext) => Promise<Res>) =>
    async (req: Req, ctx: HandlerContext): Promise<Res> => {
      inFlight += 1;
      const started = performance.now();
      const traced = startCallSpan(method, ctx);
      const call = begin(ctx);
      try {
        const scope = await call.scope;
        const res = await withContext(traced.context, () => fn(req, scope, ctx));
        finish(method, started, call, 'ok', undefined, traced.span);
        return res;
      } catch (e) {
        const { error, code } = toConnectError(e);
        finish(method, started, call, code, error.rawMessage, traced.span);
        throw error;
      }
    };

  const streaming = <Req, Res>(
    method: string,
    fn: (req: Req, scope: CallScope, signal: AbortSignal) => AsyncGenerator<Res>,
    /** Whether the stream holds one of the `maxConcurrentStreams` history slots. */
    holdsHistorySlot = true,
  ) =>
    async function* (req: Req, ctx: HandlerContext): AsyncGenerator<Res> {
      inFlight += 1;
      const started = performance.now();
      const traced = startCallSpan(method, ctx);
      const call = begin(ctx);
      let counted: string | undefined;
      let ended = false;
      let inner: AsyncGenerator<Res> | undefined;
      const end = (code: CallCode, message?: string): void => {
        if (ended) return;
        ended = true;
        if (counted !== undefined) {
          activeStreams -= 1;
          const left = (tenantStreams.get(counted) ?? 1) - 1;
          if (left > 0) tenantStreams.set(counted, left);
          else tenantStreams.delete(counted);
        }
        finish(method, started, call, code, message, traced.span);
      };
      // A client that goes away mid-stream may leave the response writer waiting for a drain
      // that never comes: end the call here, and release the store's iterator.
      const onAbort = (): void => {
        end('cancelled', 'the client cancelled the stream');
        void inner?.return(undefined).catch(() => undefined);
      };
      ctx.signal.addEventListener('abort', onAbort, { once: true });
      let code: CallCode = 'ok';
      let message: string | undefined;
      try {
        const scope = await call.scope;
        if (holdsHistorySlot) {
          if (activeStreams >= limits.maxConcurrentStreams)
            throw new ThreadStoreError(
              'resource_exhausted',
              `the server is already streaming ${limits.maxConcurrentStreams} histories (its limit); retry shortly`,
            );
          const ofTenant = tenantStreams.get(scope.tenant) ?? 0;
          if (ofTenant >= limits.maxTenantStreams)
            throw new ThreadStoreError(
              'resource_exhausted',
              `this tenant already has ${limits.maxTenantStreams} history streams open (the server's limit per tenant); finish or cancel one, or retry shortly`,
            );
          activeStreams += 1;
          tenantStreams.set(scope.tenant, ofTenant + 1);
          counted = scope.tenant;
        }
        inner = withContext(traced.context, () => fn(req, scope, ctx.signal));
        yield* inner;
      } catch (e) {
        const mapped = toConnectError(e);
        code = mapped.code;
        message = mapped.error.rawMessage;
        throw mapped.error;
      } finally {
        ctx.signal.removeEventListener('abort', onAbort);
        end(code, message);
      }
    };

  /** Writer calls: only the client holding the lease may use a leased writer. */
  const writer = async <T>(scope: CallScope, threadIdRaw: string, fn: (id: ThreadId) => Promise<T>): Promise<T> => {
    const threadId = parseThreadId(threadIdRaw);
    const owner = leases.owner(scope.tenant, threadId);
    if (owner !== undefined && owner !== scope.clientId)
      throw ThreadStoreError.conflict(
        `thread ${threadId} has a live writer held by another client; resume it after that client shuts it down or its lease expires`,
      );
    try {
      return await fn(threadId);
    } catch (e) {
      if (
        isThreadStoreError(e, 'not_found') &&
        scope.clientId !== null &&
        leases.expiredOwner(scope.tenant, threadId) === scope.clientId
      )
        throw new ThreadStoreError(
          'not_found',
          `thread ${threadId} has no live writer: the server closed it after this client's lease expired (no call or heartbeat for ${leaseMs} ms); resume the thread`,
        );
      throw e;
    }
  };

  const leaseMsg = () => create(WriterLeaseSchema, { leaseMs: BigInt(leaseMs) });

  const checkPageSize = (pageSize: number | undefined): void => {
    if (pageSize !== undefined && pageSize > limits.maxPageSize)
      throw ThreadStoreError.invalidRequest(
        `pageSize ${pageSize} is above this server's limit of ${limits.maxPageSize}; ask for smaller pages`,
      );
  };

  /** Filter lists cost the store work per entry: a caller may not send unbounded ones. */
  const checkFilters = (params: {
    allowedSources?: readonly unknown[] | null;
    modelProviders?: readonly string[] | null;
    cwdFilters?: readonly string[] | null;
  }): void => {
    for (const [name, list] of [
      ['allowedSources', params.allowedSources],
      ['modelProviders', params.modelProviders],
      ['cwdFilters', params.cwdFilters],
    ] as const) {
      if (list && list.length > limits.maxFilterValues)
        throw ThreadStoreError.invalidRequest(
          `${name} has ${list.length} entries, above this server's limit of ${limits.maxFilterValues}; filter on fewer values`,
        );
    }
  };

  /**
   * Segments are an optional part of a store: a request that names one (a rollout id, a new
   * segment) to a store without them is `unsupported`, never served as if it named none.
   */
  const requireSegments = (store: ThreadStore, what: string): void => {
    if (!store.listSegments)
      throw ThreadStoreError.unsupported(what, "this server's store does not keep segments of a thread");
  };

  const impl: ServiceImpl<typeof ThreadStoreService> = {
    createThread: unary('CreateThread', async (req, s) => {
      const params = createParamsFromProto(req);
      await writer(s, params.threadId, () => s.store.createThread(params));
      if (s.clientId !== null) leases.acquire(s.tenant, s.clientId, params.threadId);
      return { lease: leaseMsg() };
    }),
    resumeThread: unary('ResumeThread', async (req, s) => {
      if (req.segment) requireSegments(s.store, 'resumeThread with a segment');
      const params = resumeParamsFromProto(req);
      await writer(s, params.threadId, () => s.store.resumeThread(params));
      if (s.clientId !== null) leases.acquire(s.tenant, s.clientId, params.threadId);
      return { lease: leaseMsg() };
    }),
    appendItems: unary('AppendItems', async (req, s) => {
      if (req.itemsJson.length > limits.maxAppendItems)
        throw new ThreadStoreError(
          'resource_exhausted',
          `an append of ${req.itemsJson.length} items is above this server's limit of ${limits.maxAppendItems} per call; split the batch`,
        );
      const items = req.itemsJson.map((b, i) => parseJsonBytes(b, `item ${i}`) as RolloutItem);
      return writer(s, req.threadId, async (threadId) => {
        await s.store.appendItems({ threadId, items });
        return { flushed: req.flush && (await flushAfterAppend(s.store, threadId)) };
      });
    }),
    persistThread: unary('PersistThread', async (req, s) => {
      await writer(s, req.threadId, (id) => s.store.persistThread(id));
      return {};
    }),
    flushThread: unary('FlushThread', async (req, s) => {
      await writer(s, req.threadId, (id) => s.store.flushThread(id));
      return {};
    }),
    shutdownThread: unary('ShutdownThread', async (req, s) => {
      await writer(s, req.threadId, async (id) => {
        try {
          await s.store.shutdownThread(id);
        } finally {
          leases.release(s.tenant, id);
        }
      });
      return {};
    }),
    discardThread: unary('DiscardThread', async (req, s) => {
      await writer(s, req.threadId, async (id) => {
        try {
          await s.store.discardThread(id);
        } finally {
          leases.release(s.tenant, id);
        }
      });
      return {};
    }),
    loadHistory: streaming('LoadHistory', async function* (req, s) {
      const threadId = parseThreadId(req.threadId);
      const params: LoadHistoryParams = { threadId };
      if (req.includeArchived !== undefined) params.includeArchived = req.includeArchived;
      if (req.rolloutId !== undefined) {
        requireSegments(s.store, "loadHistory of one rollout's items");
        params.rolloutId = parseThreadId(req.rolloutId, 'rolloutId');
      }
      // A store that keeps each item's JSON gives it as it is; others are serialised here.
      const history = s.store.loadHistoryJson
        ? storedJson(s.store.loadHistoryJson(params))
        : itemsAsJson(s.store.loadHistory(params));
      const chunks = historyChunks(
        history,
        { maxBytes: limits.historyChunkBytes, maxItems: limits.historyChunkItems },
        Number(req.skipItems),
      );
      for await (const itemsJson of chunks) yield { chunk: create(HistoryChunkSchema, { itemsJson }) };
    }),
    readThread: streaming('ReadThread', async function* (req, s) {
      const threadId = parseThreadId(req.threadId);
      const params = {
        threadId,
        includeHistory: req.includeHistory,
        ...(req.includeArchived === undefined ? {} : { includeArchived: req.includeArchived }),
      };
      const thread = await s.store.readThread(params);
      yield { part: { case: 'thread', value: storedThreadToProto(thread) } };
      if (!req.includeHistory || !thread.history) return;
      const chunks = historyChunks(
        itemsAsJson(thread.history),
        { maxBytes: limits.historyChunkBytes, maxItems: limits.historyChunkItems },
        0,
      );
      for await (const itemsJson of chunks)
        yield { part: { case: 'history', value: create(HistoryChunkSchema, { itemsJson }) } };
    }),
    listThreads: unary('ListThreads', async (req, s, ctx) => {
      const params = listParamsFromProto(req);
      checkPageSize(params.pageSize);
      checkFilters(params);
      const page = await s.store.listThreads(params);
      if (binaryCall(ctx)) {
        // The page's threads written straight to bytes (field 1, `threads`).
        const res = create(ListThreadsResponseSchema);
        if (page.nextCursor !== null) res.nextCursor = page.nextCursor;
        if (page.backwardsCursor !== null) res.backwardsCursor = page.backwardsCursor;
        res.$unknown = storedThreadFields(1, page.items);
        return res;
      }
      const out: { threads: ReturnType<typeof storedThreadToProto>[]; nextCursor?: string; backwardsCursor?: string } =
        {
          threads: page.items.map(storedThreadToProto),
        };
      if (page.nextCursor !== null) out.nextCursor = page.nextCursor;
      if (page.backwardsCursor !== null) out.backwardsCursor = page.backwardsCursor;
      return out;
    }),
    countThreads: unary('CountThreads', async (req, s) => {
      const params = listParamsFromProto(req);
      checkFilters(params);
      const count = await s.store.countThreads(params);
      return { count: BigInt(count) };
    }),
    searchThreads: unary('SearchThreads', async (req, s) => {
      const params = searchParamsFromProto(req);
      checkPageSize(params.pageSize);
      checkFilters(params);
      const page = await s.store.searchThreads(params);
      const out: {
        results: { thread: ReturnType<typeof storedThreadToProto>; snippet: string }[];
        nextCursor?: string;
        backwardsCursor?: string;
      } = {
        results: page.items.map((r) => ({ thread: storedThreadToProto(r.thread), snippet: r.snippet })),
      };
      if (page.nextCursor !== null) out.nextCursor = page.nextCursor;
      if (page.backwardsCursor !== null) out.backwardsCursor = page.backwardsCursor;
      return out;
    }),
    listTurns: unary('ListTurns', async (req, s) => {
      const params = listTurnsParamsFromProto(req);
      checkPageSize(params.pageSize);
      return turnPageToProto(await s.store.listTurns(params));
    }),
    listItems: unary('ListItems', async (req, s) => {
      const params = listItemsParamsFromProto(req);
      checkPageSize(params.pageSize);
      return itemPageToProto(await s.store.listItems(params));
    }),
    forkThread: unary('ForkThread', async (req, s) => {
      const threadId = parseThreadId(req.threadId);
      if (!options.forkThread)
        throw ThreadStoreError.unsupported('forkThread', 'this server was started without a way to fork threads');
      if (req.turns !== undefined && req.turns < 1)
        throw ThreadStoreError.invalidRequest(`a fork keeps at least one turn (got turns ${req.turns})`);
      const thread = await options.forkThread(s.store, {
        threadId,
        ...(req.turns === undefined ? {} : { turns: req.turns }),
      });
      return { thread: storedThreadToProto(thread) };
    }),
    listSegments: unary('ListSegments', async (req, s) => {
      const threadId = parseThreadId(req.threadId);
      requireSegments(s.store, 'listSegments');
      const segments = await s.store.listSegments!({
        threadId,
        ...(req.includeArchived === undefined ? {} : { includeArchived: req.includeArchived }),
      });
      return { segments: segments.map(segmentToProto) };
    }),
    // Polls the one thread (its last item and its metadata, never the rest of the home) and sends
    // its state when it changed. Watches hold no history slot: a page keeps one open per thread view.
    watchThread: streaming(
      'WatchThread',
      async function* (req, s, signal) {
        const threadId = parseThreadId(req.threadId);
        const includeArchived = req.includeArchived ?? false;
        let sent: string | undefined;
        let sentAt = 0;
        while (!signal.aborted && !closing) {
          const thread = await s.store.readThread({ threadId, includeArchived, includeHistory: false });
          const last = await s.store.listItems({ threadId, includeArchived, pageSize: 1, sortDirection: 'desc' });
          const state = watchStateToProto(thread, last.items[0]?.ordinal);
          const key = JSON.stringify(state, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v));
          if (key !== sent || Date.now() - sentAt >= WATCH_HEARTBEAT_MS) {
            sent = key;
            sentAt = Date.now();
            yield state;
          }
          await sleep(WATCH_POLL_MS, signal);
        }
      },
      false,
    ),
    updateThreadMetadata: unary('UpdateThreadMetadata', async (req, s) => {
      const threadId = parseThreadId(req.threadId);
      const patch = patchFromProto(req.patch);
      const params =
        req.includeArchived === undefined
          ? { threadId, patch }
          : { threadId, patch, includeArchived: req.includeArchived };
      return { thread: storedThreadToProto(await s.store.updateThreadMetadata(params)) };
    }),
    archiveThread: unary('ArchiveThread', async (req, s) => {
      await s.store.archiveThread({ threadId: parseThreadId(req.threadId) });
      return {};
    }),
    unarchiveThread: unary('UnarchiveThread', async (req, s) => {
      return { thread: storedThreadToProto(await s.store.unarchiveThread({ threadId: parseThreadId(req.threadId) })) };
    }),
    deleteThread: unary('DeleteThread', async (req, s) => {
      await s.store.deleteThread({ threadId: parseThreadId(req.threadId) });
      return {};
    }),
    heartbeat: unary('Heartbeat', async (_req, s) => {
      if (s.clientId === null) throw ThreadStoreError.invalidRequest(`Heartbeat needs the ${CLIENT_ID_HEADER} header`);
      return { lease: leaseMsg(), liveWriters: leases.liveWriters(s.tenant, s.clientId) };
    }),
    getServerInfo: unary('GetServerInfo', async (_req, s) => {
      return {
        contentSearch: s.store.capabilities.contentSearch,
        lease: leaseMsg(),
        limits: create(ServerLimitsSchema, {
          maxMessageBytes: limits.maxMessageBytes,
          maxPageSize: limits.maxPageSize,
          maxAppendItems: limits.maxAppendItems,
          maxConcurrentStreams: limits.maxConcurrentStreams,
          historyChunkBytes: limits.historyChunkBytes,
          historyChunkItems: limits.historyChunkItems,
        }),
      };
    }),
  };

  const routes = (router: ConnectRouter): void => {
    router.service(ThreadStoreService, impl, { readMaxBytes: limits.maxMessageBytes });
  };

  const close = (opts: { timeoutMs?: number } = {}): Promise<void> => {
    closed ??= (async () => {
      closing = true;
      const timeoutMs = opts.timeoutMs ?? 10_000;
      if (inFlight > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, timeoutMs);
          function done(): void {
            clearTimeout(timer);
            idleWaiters.delete(done);
            resolve();
          }
          idleWaiters.add(done);
        });
      }
      clearInterval(sweeper);
      await closeWriters(leases.drainAll(), 'shutdown');
      const owned: Promise<ThreadStore>[] =
        typeof source === 'function' ? [...tenantStores.values()] : options.ownsStore ? [Promise.resolve(source)] : [];
      await Promise.all(
        owned.map(async (p) => {
          try {
            await (await p).close();
          } catch (e) {
            log({
              event: 'writer_close_failed',
              time: new Date().toISOString(),
              message: `closing a store failed: ${(e as Error).message}`,
            });
          }
        }),
      );
    })();
    return closed;
  };

  const refusal = (authorization: string | null, path: string): ThreadStoreError | undefined => {
    let err: ThreadStoreError;
    if (closing)
      err = new ThreadStoreError('unavailable', 'the thread store server is shutting down; retry after it restarts');
    else {
      try {
        auth.authenticate(authorization);
        return undefined;
      } catch (e) {
        err = isThreadStoreError(e) ? e : ThreadStoreError.internal(String(e));
      }
    }
    // Logged like a call the handler refused.
    inFlight += 1;
    finish(
      path.slice(path.lastIndexOf('/') + 1) || path,
      performance.now(),
      { tenant: null, clientId: null },
      err.code,
      err.message,
    );
    return err;
  };

  return Object.assign(routes, {
    limits,
    leaseMs,
    refusal,
    inFlight: () => inFlight,
    metrics: () => metrics.render(),
    close,
  });
}

/**
 * Whether a call's messages are protobuf binary (gRPC, gRPC-Web, Connect with `application/proto`),
 * rather than JSON: only binary answers may carry fields written ahead as bytes (JSON
 * serialisation does not write a message's `$unknown` entries).
 */
function binaryCall(ctx: HandlerContext): boolean {
  const type = ctx.requestHeader.get('content-type');
  return type !== null && !type.includes('json');
}

/**
 * The index lag of the stores that report one (`LocalThreadStore.indexLag()`): the longest wait
 * and the sum of pending files; undefined when no store reports it.
 */
function indexLagOf(stores: Iterable<ThreadStore>): { seconds: number; pendingFiles: number } | undefined {
  let out: { seconds: number; pendingFiles: number } | undefined;
  for (const store of stores) {
    const read = (store as { indexLag?: unknown }).indexLag;
    if (typeof read !== 'function') continue;
    try {
      const lag = (read as () => { seconds?: unknown; pendingFiles?: unknown } | null).call(store);
      if (!lag || typeof lag.seconds !== 'number' || typeof lag.pendingFiles !== 'number') continue;
      out = {
        seconds: Math.max(out?.seconds ?? 0, lag.seconds),
        pendingFiles: (out?.pendingFiles ?? 0) + lag.pendingFiles,
      };
    } catch {
      // A closed store reports nothing.
    }
  }
  return out;
}
