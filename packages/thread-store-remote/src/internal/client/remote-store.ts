import { randomUUID } from 'node:crypto';
import * as net from 'node:net';
import { isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import * as tls from 'node:tls';
import { clone, create } from '@bufbuild/protobuf';
import type { DescMethodUnary } from '@bufbuild/protobuf';
import { EmptySchema } from '@bufbuild/protobuf/wkt';
import type { CallOptions, Client, Interceptor, Transport } from '@connectrpc/connect';
import { createClient } from '@connectrpc/connect';
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from '@connectrpc/connect-node';
import type {
  AppendItemsParams,
  ArchiveThreadParams,
  CreateThreadParams,
  DeleteThreadParams,
  ItemPage,
  ListItemsParams,
  CountThreadsParams,
  ListSegmentsParams,
  ListThreadsParams,
  ListTurnsParams,
  LoadHistoryParams,
  ReadThreadByRolloutPathParams,
  ReadThreadParams,
  ResumeThreadParams,
  RolloutItem,
  SearchThreadsParams,
  StoredThread,
  StoredThreadWithHistory,
  ThreadId,
  ThreadPage,
  ThreadSearchPage,
  ThreadSegment,
  ThreadStore,
  ThreadStoreCapabilities,
  TurnPage,
  UpdateThreadMetadataParams,
} from '@skein/thread-store-api';
import {
  normalizeListItemsParams,
  normalizeListTurnsParams,
  normalizeCountParams,
  normalizeListParams,
  checkSessionMeta,
  parseThreadId,
  rolloutItemProblem,
  ThreadStoreError,
  validatePatch,
} from '@skein/thread-store-api';
import type {
  ListThreadsRequestSchema,
  ReadThreadResponse,
  ResumeThreadRequest,
} from '../../gen/skein/threadstore/v1/thread_store_pb.js';
import {
  ResumeThreadRequestSchema,
  ThreadStoreService,
  UpdateThreadMetadataRequestSchema,
} from '../../gen/skein/threadstore/v1/thread_store_pb.js';
import { fromConnectError } from '../convert/errors.js';
import {
  itemPageFromProto,
  listItemsParamsToProto,
  listTurnsParamsToProto,
  turnPageFromProto,
} from '../convert/history-pages.js';
import { jsonBytes, parseJsonBytes } from '../convert/json-bytes.js';
import { createParamsToProto, listParamsToProto, resumeParamsToProto, searchParamsToProto } from '../convert/params.js';
import { patchToProto } from '../convert/patch.js';
import { segmentFromProto } from '../convert/segments.js';
import { storedThreadFromProto } from '../convert/thread.js';
import { threadPageFromFields } from '../convert/thread-wire.js';
import {
  CONNECTION_WINDOW_BYTES,
  sessionMemoryMiB,
  STREAM_WINDOW_BYTES,
  WideWindowSessionManager,
} from '../flow-control.js';
import { CLIENT_ID_HEADER } from '../headers.js';
import { AppendFlushPrediction } from './append-flush.js';
import { endsWith, parseEndpoints } from './endpoints.js';
import type { ResolvedRetry, RetryOptions } from './retry.js';
import { backoffMs, resolveRetry, sleep } from './retry.js';
import { StreamSlots } from './stream-slots.js';

/**
 * Options of `RemoteThreadStore`: where the server is, the protocol, credentials, timeouts and
 * retries.
 */
export interface RemoteThreadStoreOptions {
  /**
   * The server's URL, e.g. `http://127.0.0.1:7070` (or `https://…`), or several servers of one
   * fleet (an array, or URLs separated by commas): calls go to the first that answers. A read that
   * fails with `unavailable` is retried on the next server; a live writer whose server fails is
   * resumed on the next one under the lease rules (see `failoverWaitMs`).
   */
  baseUrl: string | readonly string[];
  /**
   * With several servers: how long a writer's failover waits for the failed server's lease on the
   * thread to expire (default: twice the lease the servers report, at least 10 000 ms).
   */
  failoverWaitMs?: number;
  /** Wire protocol (default `grpc`); the server speaks all three. */
  protocol?: 'grpc' | 'connect' | 'grpc-web';
  /** Bearer token sent with every call. */
  token?: string;
  /**
   * Deadline of each unary call, and the longest wait for the next message of a history stream
   * (default 30 000 ms).
   */
  timeoutMs?: number;
  /** Retries of idempotent reads on `unavailable`; `false` disables them. */
  retry?: RetryOptions | false;
  /** Client-side split of large appends (default 1 000 items / 4 MiB per call, under the server's defaults). */
  maxAppendItems?: number;
  maxAppendBytes?: number;
  /**
   * Largest request message the server accepts (default 64 MiB, the server's default; lowered to
   * the server's own limit once `serverInfo()` has been called). A larger request, such as one
   * item above it, is refused with `resource_exhausted` before anything is sent.
   */
  maxMessageBytes?: number;
  /** Whether the server's store searches message content (default true; see `serverInfo()`). */
  contentSearch?: boolean;
  /** Extra trust for TLS, e.g. a self-signed server certificate. */
  tls?: { ca?: string | Buffer; rejectUnauthorized?: boolean };
  /** Client id sent in `skein-client-id` (default: a random UUID per instance). */
  clientId?: string;
  /**
   * History streams (`loadHistory`, `readThread`) this client keeps open at a time (default 32,
   * half of a server's default limit of 64); more wait their turn instead of being refused by the
   * server.
   */
  maxConcurrentHistoryStreams?: number;
}

/**
 * What a server reported about itself: whether its store searches content, its writer lease and its
 * limits.
 */
export interface RemoteServerInfo {
  contentSearch: boolean;
  leaseMs: number;
  limits: {
    maxMessageBytes: number;
    maxPageSize: number;
    maxAppendItems: number;
    maxConcurrentStreams: number;
    historyChunkBytes: number;
    historyChunkItems: number;
  };
}

type Svc = typeof ThreadStoreService;

/** One server of the client's list: its URL, HTTP/2 session and client. */
interface Endpoint {
  url: string;
  session: WideWindowSessionManager;
  client: Client<Svc>;
  transport: Transport;
}

/**
 * ListThreads with its answer decoded as a message without fields: every field stays raw bytes
 * (`$unknown`), and the page's threads are read from them field by field (`threadPageFromFields`)
 * instead of by reflection.
 */
const LIST_THREADS_AS_FIELDS = {
  ...ThreadStoreService.method.listThreads,
  output: EmptySchema,
} as DescMethodUnary<typeof ListThreadsRequestSchema, typeof EmptySchema>;

/** A live writer this client opened: the server holding it, and what it appended since its last flush. */
interface LiveWriter {
  /** The endpoint holding it; -1 while it moves to another. */
  ep: number;
  /** Items (their JSON) appended since the last acknowledged flush. */
  unflushed: Uint8Array[];
  /** A failover under way (concurrent calls on the thread wait for it). */
  moving?: Promise<unknown> | undefined;
  /** Whether its appends carry their flush (see AppendFlushPrediction). */
  prediction: AppendFlushPrediction;
  /** The ResumeThread request that opened it (a failover resumes it the same way); none when created. */
  resumed?: ResumeThreadRequest;
}

/** The server's default `maxMessageBytes`. */
const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

/** The encoded size of an AppendItemsRequest: each field is a tag, a varint length and its bytes. */
function appendMessageBytes(threadId: string, itemsJson: readonly Uint8Array[]): number {
  const field = (len: number): number => 1 + varintBytes(len) + len;
  let n = field(Buffer.byteLength(threadId, 'utf8'));
  for (const b of itemsJson) n += field(b.length);
  return n;
}

function varintBytes(n: number): number {
  let bytes = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    bytes++;
  }
  return bytes;
}

/**
 * A ThreadStore over Connect/gRPC. One HTTP/2 connection per server carries every call; reads
 * are retried with backoff on `unavailable` (on the next server, when it was given several).
 * Live writers this client opens are leased: while it holds any, it sends heartbeats so their
 * servers keep them; with several servers, a writer whose server fails is resumed on another;
 * with one, writes are never retried. `close()` shuts the writers down.
 */
export class RemoteThreadStore implements ThreadStore {
  readonly capabilities: ThreadStoreCapabilities;
  readonly clientId: string;
  private readonly endpoints: Endpoint[];
  /** The endpoint new calls go to; moves on when a call finds its server unreachable. */
  private current = 0;
  private readonly failoverWaitMs: number | undefined;
  private leaseMs = 0;
  private readonly timeoutMs: number;
  private readonly retry: ResolvedRetry;
  private readonly maxAppendItems: number;
  private readonly maxAppendBytes: number;
  private maxMessageBytes: number;
  private readonly historySlots: StreamSlots;
  private readonly live = new Map<ThreadId, LiveWriter>();
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private heartbeatEveryMs = 10_000;
  private closed: Promise<void> | undefined;

  constructor(options: RemoteThreadStoreOptions) {
    const urls = parseEndpoints(options?.baseUrl);
    if (
      options.failoverWaitMs !== undefined &&
      (!Number.isFinite(options.failoverWaitMs) || options.failoverWaitMs < 0)
    )
      throw ThreadStoreError.invalidRequest('failoverWaitMs must be a number of milliseconds >= 0');
    this.failoverWaitMs = options.failoverWaitMs;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.retry = resolveRetry(options.retry);
    this.maxAppendItems = options.maxAppendItems ?? 1000;
    this.maxAppendBytes = options.maxAppendBytes ?? 4 * 1024 * 1024;
    this.maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    if (!Number.isSafeInteger(this.maxMessageBytes) || this.maxMessageBytes < 1024)
      throw ThreadStoreError.invalidRequest(
        `maxMessageBytes must be an integer of at least 1024, got ${String(options.maxMessageBytes)}`,
      );
    const streams = options.maxConcurrentHistoryStreams ?? 32;
    if (!Number.isSafeInteger(streams) || streams < 1)
      throw ThreadStoreError.invalidRequest(
        `maxConcurrentHistoryStreams must be an integer of at least 1, got ${String(options.maxConcurrentHistoryStreams)}`,
      );
    this.historySlots = new StreamSlots(streams);
    this.capabilities = { localPaths: false, contentSearch: options.contentSearch ?? true };
    this.clientId = options.clientId ?? randomUUID();
    this.endpoints = urls.map((u) => this.connect(u, options));
  }

  /** The HTTP/2 session and Connect client of one server. */
  private connect(baseUrl: string, options: RemoteThreadStoreOptions): Endpoint {
    const url = new URL(baseUrl);
    const tlsOptions: { ca?: string | Buffer; rejectUnauthorized?: boolean } = {};
    if (options.tls?.ca !== undefined) tlsOptions.ca = options.tls.ca;
    if (options.tls?.rejectUnauthorized !== undefined) tlsOptions.rejectUnauthorized = options.tls.rejectUnauthorized;
    // Our own socket, so small calls are not held back by Nagle's algorithm.
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
    const createConnection = (): Duplex => {
      const socket =
        url.protocol === 'https:'
          ? tls.connect({
              host,
              port,
              ALPNProtocols: ['h2'],
              ...(isIP(host) ? {} : { servername: host }),
              ...tlsOptions,
            })
          : net.connect({ host, port });
      socket.setNoDelay(true);
      return socket;
    };
    const session = new WideWindowSessionManager(
      baseUrl,
      { pingIntervalMs: 15_000, pingIdleConnection: false, idleConnectionTimeoutMs: 60_000 },
      {
        createConnection,
        settings: { initialWindowSize: STREAM_WINDOW_BYTES },
        maxSessionMemory: sessionMemoryMiB(this.maxMessageBytes, CONNECTION_WINDOW_BYTES),
      },
    );
    const headers: Interceptor = (next) => (req) => {
      req.header.set(CLIENT_ID_HEADER, this.clientId);
      if (options.token !== undefined) req.header.set('authorization', `Bearer ${options.token}`);
      return next(req);
    };
    // No response compression by default: on the LAN or loopback links a store is served over,
    // gzip costs far more CPU than the bytes it saves (items are often already-compact JSON).
    const common = {
      baseUrl,
      httpVersion: '2' as const,
      sessionManager: session,
      interceptors: [headers],
      acceptCompression: [],
      // The framework's own check, for every request: nothing above the limit leaves the client.
      writeMaxBytes: this.maxMessageBytes,
    };
    const protocol = options.protocol ?? 'grpc';
    const transport: Transport =
      protocol === 'connect'
        ? createConnectTransport({ ...common, useBinaryFormat: true })
        : protocol === 'grpc-web'
          ? createGrpcWebTransport({ ...common, useBinaryFormat: true })
          : createGrpcTransport(common);
    return { url: baseUrl, session, client: createClient(ThreadStoreService, transport), transport };
  }

  /** The server calls go to now (the first of the list until one fails). */
  private get baseUrl(): string {
    return this.endpoints[this.current]!.url;
  }

  private get client(): Client<Svc> {
    return this.endpoints[this.current]!.client;
  }

  private get transport(): Transport {
    return this.endpoints[this.current]!.transport;
  }

  /** After a call found endpoint `ep` unreachable: the next calls go to the one after it. */
  private moveOn(ep: number): void {
    if (this.current === ep) this.current = (ep + 1) % this.endpoints.length;
  }

  // ---- plumbing -------------------------------------------------------------------------------

  private ensureOpen(method: string): void {
    if (this.closed)
      throw ThreadStoreError.invalidRequest(`${method} called on a closed RemoteThreadStore; create a new one`);
  }

  private mapError(e: unknown, method: string, baseUrl = this.baseUrl): ThreadStoreError {
    return fromConnectError(e, { baseUrl, method, timeoutMs: this.timeoutMs });
  }

  /** One unary call with a deadline; `idempotent` calls are retried with backoff on `unavailable`. */
  private async call<T>(method: string, idempotent: boolean, fn: (opts: CallOptions) => Promise<T>): Promise<T> {
    this.ensureOpen(method);
    // With several servers, each retry goes to the next one; the whole list is tried at least once.
    const attempts = Math.max(this.retry.maxAttempts, idempotent ? this.endpoints.length : 1);
    for (let attempt = 0; ; attempt++) {
      const ep = this.current;
      try {
        return await fn({ timeoutMs: this.timeoutMs });
      } catch (e) {
        const err = this.mapError(e, method, this.endpoints[ep]!.url);
        if (err.code === 'unavailable') this.moveOn(ep);
        if (!idempotent || err.code !== 'unavailable' || attempt + 1 >= attempts || this.closed) throw err;
        // A server not tried yet is asked at once; a second round backs off.
        if (attempt + 1 >= this.endpoints.length) await sleep(backoffMs(this.retry, attempt));
      }
    }
  }

  /**
   * Pulls a server stream one message at a time. The deadline applies to each wait for a message,
   * not to the whole stream, so a long history is bounded by progress, not by size; stopping
   * early (break, return) cancels the stream on the server.
   */
  private async *pull<T>(method: string, open: (opts: CallOptions) => AsyncIterable<T>): AsyncGenerator<T> {
    // The wait for a slot is not the server's silence: the per-message deadline starts after it.
    const release = await this.historySlots.acquire(this.timeoutMs, method);
    const abort = new AbortController();
    let timedOut = false;
    let it: AsyncIterator<T>;
    try {
      it = open({ signal: abort.signal })[Symbol.asyncIterator]();
    } catch (e) {
      release();
      throw e;
    }
    try {
      for (;;) {
        const timer = setTimeout(() => {
          timedOut = true;
          abort.abort();
        }, this.timeoutMs);
        let r: IteratorResult<T>;
        try {
          r = await it.next();
        } catch (e) {
          if (timedOut)
            throw new ThreadStoreError(
              'unavailable',
              `remote thread store at ${this.baseUrl} sent nothing on ${method} for ${this.timeoutMs} ms; retry`,
              { cause: e },
            );
          throw this.mapError(e, method);
        } finally {
          clearTimeout(timer);
        }
        if (r.done) return;
        yield r.value;
      }
    } finally {
      abort.abort();
      release();
    }
  }

  private track(threadId: ThreadId, leaseMs: bigint | undefined, ep: number, resumed?: ResumeThreadRequest): void {
    this.live.set(threadId, {
      ep,
      unflushed: [],
      prediction: new AppendFlushPrediction(),
      ...(resumed === undefined ? {} : { resumed }),
    });
    if (leaseMs !== undefined && leaseMs > 0n) {
      this.leaseMs = Number(leaseMs);
      this.heartbeatEveryMs = Math.max(10, Math.floor(Number(leaseMs) / 3));
    }
    if (this.heartbeatTimer === undefined) {
      this.heartbeatTimer = setInterval(() => void this.heartbeat(), this.heartbeatEveryMs);
      this.heartbeatTimer.unref();
    }
  }

  private untrack(threadId: ThreadId): void {
    this.live.delete(threadId);
    if (this.live.size === 0 && this.heartbeatTimer !== undefined) {
      clearInterval(this.heartbeatTimer);
      this.heartbeatTimer = undefined;
    }
  }

  /** Renews the leases of this client's live writers, on every server that holds one. */
  private async heartbeat(): Promise<void> {
    const eps = new Set([...this.live.values()].map((w) => w.ep).filter((ep) => ep >= 0));
    await Promise.all(
      [...eps].map(async (ep) => {
        try {
          await this.endpoints[ep]!.client.heartbeat({}, { timeoutMs: this.timeoutMs });
        } catch {
          // The next beat retries; a lease outlives several missed beats.
        }
      }),
    );
  }

  /**
   * A call to the server holding a live writer. When that server is unreachable and the client
   * knows others, the writer is resumed on another one (see `failover`) and the call is made
   * there. `commit` calls (flush, persist, shutdown) may have been applied before the server
   * failed: if the new server's history already ends with what was appended since the last
   * acknowledged flush, nothing is appended twice.
   */
  private async write(
    method: string,
    threadId: ThreadId,
    commit: boolean,
    op: (client: Client<Svc>, o: CallOptions) => Promise<unknown>,
    attempted?: Uint8Array[],
  ): Promise<'done' | 'stored'> {
    this.ensureOpen(method);
    for (let tries = 0; ; tries++) {
      const w = this.live.get(threadId);
      if (w?.moving) await w.moving.catch(() => undefined);
      const ep = w && w.ep >= 0 ? w.ep : this.current;
      try {
        await op(this.endpoints[ep]!.client, { timeoutMs: this.timeoutMs });
        return 'done';
      } catch (e) {
        const err = this.mapError(e, method, this.endpoints[ep]!.url);
        if (err.code !== 'unavailable') throw err;
        this.moveOn(ep);
        if (!w || this.endpoints.length < 2 || this.closed || tries >= this.endpoints.length) throw err;
        if (w.moving) continue; // another call on this thread is moving it: try again after
        const moving = this.failover(threadId, w, ep, err, attempted ?? []);
        w.moving = moving.then(
          () => (w.moving = undefined),
          () => (w.moving = undefined),
        );
        const stored = await moving;
        // The failed server committed the append itself (it flushed before it went away).
        if (stored === 'all') return 'stored';
        if (commit && stored === 'unflushed' && method !== 'ShutdownThread') return 'done';
      }
    }
  }

  /**
   * How a failover resumes a writer: as it was opened. A writer opened with a new segment starts
   * that segment again only if the store does not have it yet (the failed server wrote nothing of
   * it); otherwise it resumes the thread, whose newest segment is then that one.
   */
  private async failoverRequest(threadId: ThreadId, w: LiveWriter, client: Client<Svc>): Promise<ResumeThreadRequest> {
    const opened = w.resumed;
    if (!opened) return resumeParamsToProto({ threadId });
    const segment = opened.segment;
    if (!segment) return opened;
    const listed = await client.listSegments(
      { threadId, ...(opened.includeArchived === undefined ? {} : { includeArchived: opened.includeArchived }) },
      { timeoutMs: this.timeoutMs },
    );
    if (!listed.segments.some((s) => s.rolloutId === segment.rolloutId)) return opened;
    const again = clone(ResumeThreadRequestSchema, opened);
    again.segment = undefined;
    return again;
  }

  /**
   * Resumes a live writer whose server (`failed`) is unreachable on the next server, waiting up
   * to `failoverWaitMs` for the failed server's lease to expire (a resume meanwhile answers
   * `conflict`; the lease's fencing keeps a late write of the failed server out). Then what was
   * appended since the last acknowledged flush is appended again, unless the thread's history
   * already ends with it (a flush whose answer was lost, or a server that flushed its writers as
   * it stopped). `attempted`: the items of a failed append, which that server may also have
   * flushed. Returns what was found stored: `all` (the unflushed items and the attempted ones),
   * `unflushed`, or `none` (the unflushed items were appended again).
   */
  private async failover(
    threadId: ThreadId,
    w: LiveWriter,
    failed: number,
    cause: ThreadStoreError,
    attempted: Uint8Array[],
  ): Promise<'all' | 'unflushed' | 'none'> {
    w.ep = -1; // no heartbeats to the failed server for this writer
    const waitMs = this.failoverWaitMs ?? Math.max(10_000, 2 * this.leaseMs);
    const deadline = performance.now() + waitMs;
    let last: ThreadStoreError = cause;
    for (let attempt = 0; ; attempt++) {
      const ep = this.current === failed ? (failed + 1) % this.endpoints.length : this.current;
      try {
        const client = this.endpoints[ep]!.client;
        await client.resumeThread(await this.failoverRequest(threadId, w, client), { timeoutMs: this.timeoutMs });
        this.current = ep;
        w.ep = ep;
        break;
      } catch (e) {
        last = this.mapError(e, 'ResumeThread', this.endpoints[ep]!.url);
        if (last.code === 'unavailable') this.moveOn(ep);
        else if (last.code !== 'conflict') throw last;
      }
      if (this.closed || performance.now() >= deadline)
        throw new ThreadStoreError(
          'unavailable',
          `the server holding the writer of ${threadId} failed (${cause.message}) and no other server took the writer over within ${Math.round(waitMs)} ms (last answer: ${last.message}); resume the thread again`,
          { cause: last },
        );
      await sleep(Math.min(250, backoffMs(this.retry, attempt)));
    }
    const sent = w.unflushed;
    const all = [...sent, ...attempted];
    if (all.length === 0) return 'none';
    const items = all.map((b) => parseJsonBytes(b, 'an item appended since the last flush') as Record<string, unknown>);
    const tail: unknown[] = [];
    for await (const item of this.loadHistory({ threadId })) {
      tail.push(item);
      if (tail.length > items.length) tail.shift();
    }
    if (attempted.length > 0 && endsWith(tail, items)) {
      w.unflushed = [];
      return 'all';
    }
    if (sent.length > 0 && endsWith(tail, items.slice(0, sent.length))) {
      w.unflushed = [];
      return 'unflushed';
    }
    if (sent.length === 0) return 'none';
    const client = this.endpoints[w.ep]!.client;
    for (let i = 0; i < sent.length; i += this.maxAppendItems)
      await client.appendItems(
        { threadId, itemsJson: sent.slice(i, i + this.maxAppendItems) },
        { timeoutMs: this.timeoutMs },
      );
    return 'none';
  }

  // ---- writers --------------------------------------------------------------------------------

  async createThread(params: CreateThreadParams): Promise<void> {
    // The protocol carries no fork to compute (the caller copies the history instead); a fork's
    // given reference travels in its session_meta, which the server's store checks and keeps.
    if (params?.forkBase !== undefined) {
      if (params.sessionMeta !== undefined) checkSessionMeta(params, parseThreadId(params.threadId));
      throw ThreadStoreError.unsupported('a fork by reference', 'the remote store copies history into forks');
    }
    const req = createParamsToProto(params);
    const ep = this.current;
    const res = await this.call('CreateThread', false, (o) => this.client.createThread(req, o));
    this.track(req.threadId as ThreadId, res.lease?.leaseMs, ep);
  }

  async resumeThread(params: ResumeThreadParams): Promise<void> {
    const req = resumeParamsToProto(params);
    const ep = this.current;
    const res = await this.call('ResumeThread', false, (o) => this.client.resumeThread(req, o));
    this.track(req.threadId as ThreadId, res.lease?.leaseMs, ep, req);
  }

  /**
   * Items travel as their exact JSON. A batch larger than the per-call limits is split into
   * several calls in order; every item is checked before the first call, so a bad item never
   * leaves half a batch appended.
   */
  async appendItems(params: AppendItemsParams): Promise<void> {
    const threadId = parseThreadId(params?.threadId);
    if (!Array.isArray(params.items)) throw ThreadStoreError.invalidRequest('appendItems needs an items array');
    const encoded = params.items.map((item, i) => {
      const problem = rolloutItemProblem(item);
      if (problem !== undefined) throw ThreadStoreError.invalidRequest(`item ${i}: ${problem}`);
      return jsonBytes(item, `item ${i}`);
    });
    // A writer that flushes after every append has its flush carried by the last request.
    const w = this.live.get(threadId);
    const turn = w?.prediction.beginAppend();
    let start = 0;
    do {
      let end = start;
      let bytes = 0;
      while (end < encoded.length && end - start < this.maxAppendItems) {
        const size = encoded[end]!.length;
        if (end > start && bytes + size > this.maxAppendBytes) break;
        bytes += size;
        end++;
      }
      const itemsJson = encoded.slice(start, end);
      const size = appendMessageBytes(threadId, itemsJson);
      if (size > this.maxMessageBytes)
        throw new ThreadStoreError(
          'resource_exhausted',
          `item ${start} is ${encoded[start]!.length} bytes: an AppendItems message of ${size} bytes is above the server's limit of ${this.maxMessageBytes} bytes (maxMessageBytes); nothing ${start === 0 ? 'was' : 'more was'} sent`,
        );
      const flush = turn?.flush === true && end === encoded.length;
      let flushed = false;
      const outcome = await this.write(
        'AppendItems',
        threadId,
        false,
        async (c, o) => {
          flushed = (await c.appendItems({ threadId, itemsJson, flush }, o)).flushed;
        },
        itemsJson,
      );
      // `stored`: a failed server flushed these items before it went away; they are durable.
      // `flushed`: the server flushed everything appended so far, these items included.
      const durable = outcome === 'stored' || (flush && flushed);
      const now = this.live.get(threadId);
      if (!durable) now?.unflushed.push(...itemsJson);
      else if (end === encoded.length && now && turn && now.prediction.flushedBy(turn.seq)) now.unflushed = [];
      start = end;
    } while (start < encoded.length);
  }

  async persistThread(threadId: ThreadId): Promise<void> {
    const id = parseThreadId(threadId);
    await this.write('PersistThread', id, true, (c, o) => c.persistThread({ threadId: id }, o));
    this.flushed(id);
  }

  async flushThread(threadId: ThreadId): Promise<void> {
    const id = parseThreadId(threadId);
    // The last append's answer said everything appended was flushed: nothing is left to do.
    if (this.live.get(id)?.prediction.beginFlush() === true) return;
    await this.write('FlushThread', id, true, (c, o) => c.flushThread({ threadId: id }, o));
    this.flushed(id);
  }

  private flushed(threadId: ThreadId): void {
    const w = this.live.get(threadId);
    if (w) w.unflushed = [];
  }

  async shutdownThread(threadId: ThreadId): Promise<void> {
    const id = parseThreadId(threadId);
    try {
      await this.write('ShutdownThread', id, true, (c, o) => c.shutdownThread({ threadId: id }, o));
      this.untrack(id);
    } catch (e) {
      if ((e as ThreadStoreError).code === 'not_found') this.untrack(id);
      throw e;
    }
  }

  async discardThread(threadId: ThreadId): Promise<void> {
    const id = parseThreadId(threadId);
    try {
      await this.write('DiscardThread', id, false, (c, o) => c.discardThread({ threadId: id }, o));
      this.untrack(id);
    } catch (e) {
      if ((e as ThreadStoreError).code === 'not_found') this.untrack(id);
      throw e;
    }
  }

  // ---- reads ----------------------------------------------------------------------------------

  loadHistory(params: LoadHistoryParams): AsyncIterable<RolloutItem> {
    return this.history(params, 0);
  }

  /**
   * Streams history in chunks. A stream broken by `unavailable` is reopened (with backoff) at
   * the first item not yet delivered.
   */
  private async *history(params: LoadHistoryParams, alreadyDelivered: number): AsyncGenerator<RolloutItem> {
    this.ensureOpen('LoadHistory');
    const threadId = parseThreadId(params?.threadId);
    const rolloutId = params.rolloutId === undefined ? undefined : parseThreadId(params.rolloutId, 'rolloutId');
    let delivered = alreadyDelivered;
    for (let attempt = 0; ; attempt++) {
      const req = {
        threadId,
        skipItems: BigInt(delivered),
        ...(params.includeArchived === undefined ? {} : { includeArchived: params.includeArchived }),
        ...(rolloutId === undefined ? {} : { rolloutId }),
      };
      const ep = this.current;
      try {
        for await (const res of this.pull('LoadHistory', (o) => this.client.loadHistory(req, o))) {
          attempt = 0;
          for (const b of res.chunk?.itemsJson ?? []) {
            const item = parseJsonBytes(b, 'a history item from the server') as RolloutItem;
            delivered++;
            yield item;
          }
        }
        return;
      } catch (e) {
        const err = e as ThreadStoreError;
        if (err.code === 'unavailable') this.moveOn(ep);
        const attempts = Math.max(this.retry.maxAttempts, this.endpoints.length);
        if (err.code !== 'unavailable' || attempt + 1 >= attempts || this.closed) throw err;
        if (attempt + 1 >= this.endpoints.length) await sleep(backoffMs(this.retry, attempt));
      }
    }
  }

  async readThread(params: ReadThreadParams): Promise<StoredThreadWithHistory> {
    const threadId = parseThreadId(params?.threadId);
    const includeHistory = params.includeHistory === true;
    const req = {
      threadId,
      includeHistory,
      ...(params.includeArchived === undefined ? {} : { includeArchived: params.includeArchived }),
    };
    const open = async (): Promise<{ thread: StoredThread; rest: AsyncGenerator<ReadThreadResponse> }> => {
      const stream = this.pull('ReadThread', (o) => this.client.readThread(req, o));
      const first = await stream.next();
      if (first.done || first.value.part.case !== 'thread') {
        await stream.return(undefined);
        throw ThreadStoreError.internal(
          `remote thread store at ${this.baseUrl} answered ReadThread without the thread`,
        );
      }
      return { thread: storedThreadFromProto(first.value.part.value), rest: stream };
    };
    const { thread, rest } = await this.call('ReadThread', true, open);
    if (!includeHistory) {
      await rest.return(undefined);
      return thread;
    }
    // A history nobody starts reading would hold a server stream open: after timeoutMs the
    // stream is released, and a later first read fetches the history with LoadHistory instead.
    const state = { started: false, released: false };
    const release = setTimeout(() => {
      if (state.started) return;
      state.released = true;
      void rest.return(undefined);
    }, this.timeoutMs);
    release.unref();
    return { ...thread, history: this.readHistory(rest, params, state, () => clearTimeout(release)) };
  }

  /** The history part of a ReadThread stream; if the stream breaks, LoadHistory fetches the rest. */
  private async *readHistory(
    rest: AsyncGenerator<ReadThreadResponse>,
    params: ReadThreadParams,
    state: { started: boolean; released: boolean },
    started: () => void,
  ): AsyncGenerator<RolloutItem> {
    state.started = true;
    started();
    let delivered = 0;
    const load: LoadHistoryParams = { threadId: parseThreadId(params.threadId) };
    if (params.includeArchived !== undefined) load.includeArchived = params.includeArchived;
    if (state.released) {
      yield* this.history(load, 0);
      return;
    }
    try {
      for await (const res of rest) {
        if (res.part.case !== 'history') continue;
        for (const b of res.part.value.itemsJson) {
          const item = parseJsonBytes(b, 'a history item from the server') as RolloutItem;
          delivered++;
          yield item;
        }
      }
    } catch (e) {
      if ((e as ThreadStoreError).code !== 'unavailable' || this.retry.maxAttempts <= 1) throw e;
      yield* this.history(load, delivered);
    }
  }

  /**
   * The thread's segments, oldest first. A server whose store does not keep segments answers
   * `unsupported` (the client cannot know before asking).
   */
  async listSegments(params: ListSegmentsParams): Promise<ThreadSegment[]> {
    const threadId = parseThreadId(params?.threadId);
    const req = {
      threadId,
      ...(params.includeArchived === undefined ? {} : { includeArchived: params.includeArchived }),
    };
    const res = await this.call('ListSegments', true, (o) => this.client.listSegments(req, o));
    return res.segments.map(segmentFromProto);
  }

  readThreadByRolloutPath(_params: ReadThreadByRolloutPathParams): Promise<StoredThreadWithHistory> {
    return Promise.reject(
      ThreadStoreError.unsupported(
        'readThreadByRolloutPath',
        `this store is remote (${this.baseUrl}): rollout files live on the server, so read the thread by its id`,
      ),
    );
  }

  async listThreads(params: ListThreadsParams = {}): Promise<ThreadPage> {
    normalizeListParams(params, 'remote');
    const req = listParamsToProto(params);
    const res = await this.call('ListThreads', true, async (o) => {
      const answer = await this.transport.unary(LIST_THREADS_AS_FIELDS, o.signal, o.timeoutMs, o.headers, req);
      return threadPageFromFields(answer.message.$unknown);
    });
    return {
      items: res.threads.map((t) => storedThreadFromProto(t)),
      nextCursor: res.nextCursor ?? null,
      backwardsCursor: res.backwardsCursor ?? null,
    };
  }

  async countThreads(params: CountThreadsParams): Promise<number> {
    const p = params ?? {};
    normalizeCountParams(p, 'remote');
    const req = listParamsToProto(p);
    const res = await this.call('CountThreads', true, (o) => this.client.countThreads(req, o));
    return Number(res.count);
  }

  async searchThreads(params: SearchThreadsParams): Promise<ThreadSearchPage> {
    normalizeListParams({ ...params, searchTerm: null }, 'remote');
    const req = searchParamsToProto(params);
    const res = await this.call('SearchThreads', true, (o) => this.client.searchThreads(req, o));
    return {
      items: res.results.map((r) => ({ thread: storedThreadFromProto(r.thread), snippet: r.snippet })),
      nextCursor: res.nextCursor ?? null,
      backwardsCursor: res.backwardsCursor ?? null,
    };
  }

  // ---- metadata -------------------------------------------------------------------------------

  async listTurns(params: ListTurnsParams): Promise<TurnPage> {
    const p = normalizeListTurnsParams(params);
    const req = listTurnsParamsToProto({ ...params, threadId: p.threadId });
    const res = await this.call('ListTurns', true, (o) => this.client.listTurns(req, o));
    return turnPageFromProto(res);
  }

  async listItems(params: ListItemsParams): Promise<ItemPage> {
    const p = normalizeListItemsParams(params);
    const req = listItemsParamsToProto({ ...params, threadId: p.threadId });
    const res = await this.call('ListItems', true, (o) => this.client.listItems(req, o));
    return itemPageFromProto(res);
  }

  async updateThreadMetadata(params: UpdateThreadMetadataParams): Promise<StoredThread> {
    const threadId = parseThreadId(params?.threadId);
    validatePatch(params.patch);
    const req = create(UpdateThreadMetadataRequestSchema, { threadId, patch: patchToProto(params.patch) });
    if (params.includeArchived !== undefined) req.includeArchived = params.includeArchived;
    const res = await this.call('UpdateThreadMetadata', false, (o) => this.client.updateThreadMetadata(req, o));
    return storedThreadFromProto(res.thread);
  }

  async archiveThread(params: ArchiveThreadParams): Promise<void> {
    const threadId = parseThreadId(params?.threadId);
    await this.call('ArchiveThread', false, (o) => this.client.archiveThread({ threadId }, o));
  }

  async unarchiveThread(params: ArchiveThreadParams): Promise<StoredThread> {
    const threadId = parseThreadId(params?.threadId);
    const res = await this.call('UnarchiveThread', false, (o) => this.client.unarchiveThread({ threadId }, o));
    return storedThreadFromProto(res.thread);
  }

  async deleteThread(params: DeleteThreadParams): Promise<void> {
    const threadId = parseThreadId(params?.threadId);
    await this.call('DeleteThread', false, (o) => this.client.deleteThread({ threadId }, o));
  }

  // ---- extras ---------------------------------------------------------------------------------

  /** What the server enforces and whether its store searches content. */
  async serverInfo(): Promise<RemoteServerInfo> {
    const res = await this.call('GetServerInfo', true, (o) => this.client.getServerInfo({}, o));
    const l = res.limits;
    // Learn the server's limit, so an oversized request is refused here rather than on the wire.
    if (l?.maxMessageBytes && l.maxMessageBytes < this.maxMessageBytes) this.maxMessageBytes = l.maxMessageBytes;
    return {
      contentSearch: res.contentSearch,
      leaseMs: Number(res.lease?.leaseMs ?? 0n),
      limits: {
        maxMessageBytes: l?.maxMessageBytes ?? 0,
        maxPageSize: l?.maxPageSize ?? 0,
        maxAppendItems: l?.maxAppendItems ?? 0,
        maxConcurrentStreams: l?.maxConcurrentStreams ?? 0,
        historyChunkBytes: l?.historyChunkBytes ?? 0,
        historyChunkItems: l?.historyChunkItems ?? 0,
      },
    };
  }

  /** Shuts down the live writers this client opened (best effort), then drops the connection. */
  close(): Promise<void> {
    this.closed ??= (async () => {
      if (this.heartbeatTimer !== undefined) clearInterval(this.heartbeatTimer);
      this.heartbeatTimer = undefined;
      const live = [...this.live];
      this.live.clear();
      await Promise.all(
        live.map(([threadId, w]) =>
          this.endpoints[w.ep >= 0 ? w.ep : this.current]!.client.shutdownThread(
            { threadId },
            { timeoutMs: this.timeoutMs },
          ).catch(() => undefined),
        ),
      );
      for (const ep of this.endpoints) ep.session.abort();
    })();
    return this.closed;
  }
}
