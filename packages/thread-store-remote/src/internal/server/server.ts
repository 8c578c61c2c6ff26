import { randomUUID } from 'node:crypto';
import * as http from 'node:http';
import * as http2 from 'node:http2';
import type { AddressInfo, Server, Socket } from 'node:net';
import { createContextValues } from '@connectrpc/connect';
import type { ContextValues } from '@connectrpc/connect';
import { connectNodeAdapter } from '@connectrpc/connect-node';
import type { ThreadStore } from '@skein/thread-store-api';
import { ThreadStoreError } from '@skein/thread-store-api';
import { sessionMemoryMiB } from '../flow-control.js';
import type { AuthOptions } from './auth.js';
import type { ForkThreadFn, StoreSource, ThreadStoreHandlerOptions } from './handler.js';
import { answerEarly } from './early-answer.js';
import { answerBadInputHonestly } from './honest-status.js';
import { createOnePortServer } from './one-port.js';
import { CONNECTION_ID, createThreadStoreHandler } from './handler.js';
import type { ServerLimits } from './limits.js';
import type { ServerLogger } from './logger.js';
import { resolveLogger } from './logger.js';

/** What a server needs besides its store(s): where to listen, who may call, limits, TLS, logging. */
export interface ServerCommonOptions {
  /** Default `127.0.0.1`. */
  host?: string;
  /** Default 0 (any free port). */
  port?: number;
  /** Required unless the server listens on loopback; see AuthOptions. */
  auth?: AuthOptions;
  limits?: Partial<ServerLimits>;
  /** PEM certificate and key: serve TLS (HTTP/2, with HTTP/1.1 for gRPC-Web and Connect from browsers). */
  tls?: { cert: string | Buffer; key: string | Buffer };
  logger?: ServerLogger;
  leaseMs?: number;
  /** How long a request may take to send its body before its stream is cancelled (default 60 000 ms). */
  requestBodyTimeoutMs?: number;
  /** A connection with no stream open for this long is closed (default 300 000 ms). */
  idleTimeoutMs?: number;
  /** How long `close()` waits for in-flight calls before cutting connections (default 10 000 ms). */
  shutdownTimeoutMs?: number;
  /**
   * Answers GET and HEAD requests for paths outside the API (a web page, say), over HTTP/1.1 or
   * HTTP/2, before any token is asked for. Without it such requests get 404.
   */
  pages?: PageHandler;
  /**
   * Serve Prometheus metrics at `GET /metrics` on the server port (default true). Like the health
   * probes it needs no token: its labels name methods and answer codes, never a tenant or a thread.
   */
  metrics?: boolean;
  /** Serves the ForkThread call (see `ThreadStoreHandlerOptions.forkThread`). */
  forkThread?: ForkThreadFn;
}

/** A request handler for what a server serves besides its API: see `ServerCommonOptions.pages`. */
export type PageHandler = (
  req: http.IncomingMessage | http2.Http2ServerRequest,
  res: http.ServerResponse | http2.Http2ServerResponse,
) => void;

/** Every API call's path starts with this (the Connect, gRPC and gRPC-Web protocols alike). */
const API_PATH_PREFIX = '/skein.threadstore.v1.';

/** Options of `startThreadStoreServer`: the common options, and one store or a store per tenant. */
export type StartThreadStoreServerOptions = ServerCommonOptions &
  (
    | {
        store: ThreadStore;
        storeForTenant?: never;
        /** Close `store` when the server closes (default false). */ ownsStore?: boolean;
      }
    | {
        /** The store of a tenant, opened on its first call and closed by the server. */
        storeForTenant: (tenant: string) => ThreadStore | Promise<ThreadStore>;
        store?: never;
      }
  );

/** A server started by `startThreadStoreServer`. */
export interface RunningThreadStoreServer {
  /** `http://host:port` (or `https://`), ready for `new RemoteThreadStore({ baseUrl: url })`. */
  readonly url: string;
  readonly port: number;
  /** Graceful shutdown: stop accepting, finish in-flight calls, flush and close live writers, close owned stores. */
  close(): Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/**
 * Runs `then` once the peer has received everything sent on the stream, trailers included.
 * nghttp2 sends PING frames ahead of queued HEADERS, so a PING sent while the trailers still wait
 * in its queue (the session busy with a peer that floods it) would be acknowledged before they
 * leave: first wait until the stream's END_STREAM has been sent (`localClose`), then PING, whose
 * ack comes back after the peer read everything before it. Reset too early and the client drops
 * the trailers that carry the status.
 */
function afterPeerSawAnswer(stream: http2.ServerHttp2Stream, then: () => void): void {
  const session = stream.session;
  let done = false;
  const once = (): void => {
    if (done) return;
    done = true;
    then();
  };
  const ping = (): void => {
    const fallback = setTimeout(once, 1000);
    fallback.unref();
    try {
      if (
        !session ||
        session.destroyed ||
        !session.ping(() => {
          clearTimeout(fallback);
          once();
        })
      )
        return;
    } catch {
      // Too many pings in flight: the timer resets the stream instead.
    }
  };
  // A peer that never lets the answer out (it does not read) is not waited for past ~2 s.
  let polls = 0;
  const whenSent = (): void => {
    if (stream.destroyed) return once();
    let sent = false;
    try {
      sent = stream.state.localClose === 1;
    } catch {
      sent = true;
    }
    if (sent || ++polls > 400) return ping();
    setTimeout(whenSent, 5).unref();
  };
  whenSent();
}

/**
 * The request bodies still arriving, each with the time by which it must be complete: one
 * interval timer checks them all (a timer per request cost more than the rest of its
 * bookkeeping). A body late by its deadline gets its stream cancelled, within a quarter of the
 * timeout (at most a second) after it.
 */
class BodyDeadlines {
  /** In the order added, which is the order of their deadlines (one timeout for all). */
  private readonly pending = new Map<http2.ServerHttp2Stream, { req: http2.Http2ServerRequest; deadline: number }>();
  private timer: NodeJS.Timeout | undefined;
  private readonly periodMs: number;

  constructor(private readonly timeoutMs: number) {
    this.periodMs = Math.max(5, Math.min(1000, Math.floor(timeoutMs / 4)));
  }

  add(stream: http2.ServerHttp2Stream, req: http2.Http2ServerRequest): void {
    this.pending.set(stream, { req, deadline: performance.now() + this.timeoutMs });
    if (!this.timer) {
      this.timer = setInterval(() => this.sweep(), this.periodMs);
      this.timer.unref();
    }
  }

  delete(stream: http2.ServerHttp2Stream): void {
    this.pending.delete(stream);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.pending.clear();
  }

  private sweep(): void {
    const now = performance.now();
    for (const [stream, { req, deadline }] of this.pending) {
      if (deadline > now) break;
      this.pending.delete(stream);
      if (!req.complete && !stream.destroyed) stream.close(http2.constants.NGHTTP2_CANCEL);
    }
    if (this.pending.size === 0) this.stop();
  }
}

const headerValue = (v: string | string[] | undefined): string | null =>
  v === undefined ? null : Array.isArray(v) ? (v[0] ?? null) : v;

function stopReading(req: http2.Http2ServerRequest): void {
  if (req.readableEnded || req.complete) return;
  // HTTP/1.1 (browsers over TLS) has no stream: the `stream` property is absent there.
  const stream = (req as { stream?: http2.ServerHttp2Stream }).stream;
  if (!stream || stream.destroyed) return;
  if (!stream.closed) stream.close(http2.constants.NGHTTP2_NO_ERROR);
  // A stream closed with NO_ERROR waits for its unread request data to be consumed before it is
  // destroyed, which never happens once the handler stopped reading: destroy it now.
  stream.destroy();
}

/**
 * Serves gRPC, gRPC-Web and Connect for one ThreadStore (or one per tenant) on one port: HTTP/2
 * (with TLS, or in plain text when a connection opens with the HTTP/2 preface) and HTTP/1.1 for
 * browsers.
 */
export async function startThreadStoreServer(
  options: StartThreadStoreServerOptions,
): Promise<RunningThreadStoreServer> {
  const host = options.host ?? '127.0.0.1';
  const auth = options.auth ?? 'none';
  if (auth === 'none' && !LOOPBACK.has(host))
    throw ThreadStoreError.invalidRequest(
      `refusing to serve ${host} without authentication: pass auth tokens, or listen on 127.0.0.1`,
    );
  const source: StoreSource = options.storeForTenant ?? options.store;
  const handlerOptions: ThreadStoreHandlerOptions = { auth };
  if (options.limits) handlerOptions.limits = options.limits;
  if (options.logger !== undefined) handlerOptions.logger = options.logger;
  if (options.leaseMs !== undefined) handlerOptions.leaseMs = options.leaseMs;
  if (options.store && options.ownsStore) handlerOptions.ownsStore = true;
  if (options.forkThread) handlerOptions.forkThread = options.forkThread;
  const routes = createThreadStoreHandler(source, handlerOptions);
  // One set of context values per connection, made on its first call: the handler only reads
  // them (nothing sets a value per call), and a busy connection makes thousands of calls.
  const connectionValues = new WeakMap<http2.Http2Session, ContextValues>();
  const connect = connectNodeAdapter({
    routes,
    // Callers without a skein-client-id are identified by their connection (see CONNECTION_ID).
    contextValues: (req) => {
      const session = (req as http2.Http2ServerRequest).stream?.session;
      if (!session) return createContextValues();
      let values = connectionValues.get(session);
      if (values === undefined) {
        values = createContextValues();
        values.set(CONNECTION_ID, randomUUID());
        connectionValues.set(session, values);
      }
      return values;
    },
  });
  // A server may answer before it has read the whole request (a message above the limit, a bad
  // token): the client would then keep sending into a stream nobody reads, its HTTP/2 session
  // buffering the rest until it refuses every new stream. Once the answer is complete, reset the
  // stream with NO_ERROR (RFC 9113 §8.1), which tells the client to stop sending, status intact.
  const bodyTimeoutMs = options.requestBodyTimeoutMs ?? 60_000;
  const bodyDeadlines = new BodyDeadlines(bodyTimeoutMs);
  let stopping = false;
  const adapter = (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse): void => {
    // Prometheus scrapes: no auth, and nothing about any tenant.
    if (req.method === 'GET' && req.url === '/metrics' && options.metrics !== false) {
      routes.metrics().then(
        ({ contentType, body }) => {
          res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' });
          res.end(body);
        },
        (e: unknown) => {
          res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
          res.end(`metrics failed: ${(e as Error).message}\n`);
        },
      );
      return;
    }
    // Probes for orchestrators and load balancers: no auth, and nothing about any tenant.
    if (req.method === 'GET' && (req.url === '/healthz' || req.url === '/readyz')) {
      const ready = req.url === '/healthz' || !stopping;
      res.writeHead(ready ? 200 : 503, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
      res.end(ready ? 'ok\n' : 'shutting down\n');
      return;
    }
    if ((req.method === 'GET' || req.method === 'HEAD') && !(req.url ?? '').startsWith(API_PATH_PREFIX)) {
      if (options.pages) options.pages(req, res);
      else {
        res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
        res.end('not found\n');
      }
      return;
    }
    // HTTP/1.1 requests (browsers over TLS) have no HTTP/2 stream to manage.
    const stream = (req as { stream?: http2.ServerHttp2Stream }).stream;
    if (stream) {
      openStreams.add(stream);
      // A request body that never finishes would hold its buffers forever.
      bodyDeadlines.add(stream, req);
      stream.once('close', () => {
        openStreams.delete(stream);
        bodyDeadlines.delete(stream);
      });
      stream.once('finish', () => {
        if (!req.complete) afterPeerSawAnswer(stream, () => stopReading(req));
      });
      req.once('end', () => bodyDeadlines.delete(stream));
    }
    answerBadInputHonestly(res);
    // The token is checked from the headers, before a byte of the body is read or decompressed.
    const refusal = routes.refusal(headerValue(req.headers.authorization), req.url);
    if (refusal) {
      answerEarly(req, res, refusal);
      return;
    }
    connect(req, res);
  };
  const settings: http2.Settings = {
    maxConcurrentStreams: Math.max(100, routes.limits.maxConcurrentStreams * 2),
  };
  const sessionOptions = {
    settings,
    // Node's 10 MiB default is less than the history chunks a session's streams have queued at
    // once: past it, nghttp2 refuses new streams with ENHANCE_YOUR_CALM.
    maxSessionMemory: sessionMemoryMiB(
      routes.limits.historyChunkBytes,
      routes.limits.maxConcurrentStreams * routes.limits.historyChunkBytes,
    ),
  };
  const idleTimeoutMs = options.idleTimeoutMs ?? 300_000;
  let server: http2.Http2Server | http2.Http2SecureServer;
  let listener: Server;
  // Browsers speak HTTP/1.1 to a server without TLS: it gets its own parser on the same port.
  let http1: http.Server | undefined;
  if (options.tls) {
    server = http2.createSecureServer(
      { cert: options.tls.cert, key: options.tls.key, allowHTTP1: true, ...sessionOptions },
      adapter,
    );
    listener = server;
  } else {
    server = http2.createServer(sessionOptions, adapter);
    http1 = http.createServer(adapter as unknown as http.RequestListener);
    // Node tracks an HTTP server's connections (for closeIdleConnections, closeAllConnections and
    // the header and request timeouts) from its 'listening' event; this one never listens itself.
    http1.emit('listening');
    http1.setTimeout(idleTimeoutMs);
    // Bytes that are not HTTP at all: say so and hang up (Node's default, kept explicit).
    http1.on('clientError', (_err, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      else socket.destroy();
    });
    listener = createOnePortServer(server, http1);
  }
  const sessions = new Set<http2.Http2Session>();
  /** API streams in flight (a stop resets the ones still open at its deadline). */
  const openStreams = new Set<http2.ServerHttp2Stream>();
  // Every connection of the port, whichever protocol took it, so that close() can end the last ones.
  const sockets = new Set<Socket>();
  listener.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.on('session', (s: http2.Http2Session) => {
    sessions.add(s);
    s.once('close', () => sessions.delete(s));
    // A peer that vanishes must not take the server down.
    s.on('error', () => {});
  });
  server.on('error', () => {});
  listener.on('error', () => {});
  // A connection silent this long is destroyed (Node does so when 'timeout' has no listener):
  // each costs a socket and its HTTP/2 state.
  server.setTimeout(idleTimeoutMs);
  // Small unary responses must not wait for Nagle's algorithm.
  listener.on('connection', (socket: Socket) => socket.setNoDelay(true));
  server.on('secureConnection', (socket: Socket) => socket.setNoDelay(true));

  await new Promise<void>((resolve, reject) => {
    const onError = (e: Error): void =>
      reject(
        (e as { code?: string }).code === 'EADDRINUSE'
          ? new ThreadStoreError(
              'unavailable',
              `cannot listen on ${host}:${options.port ?? 0}: the port is in use; pick another, or port 0 for any free one`,
              { cause: e },
            )
          : ThreadStoreError.internal(`cannot listen on ${host}:${options.port ?? 0}: ${e.message}`, e),
      );
    listener.once('error', onError);
    listener.listen(options.port ?? 0, host, () => {
      listener.off('error', onError);
      resolve();
    });
  });
  const port = (listener.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  const url = `${options.tls ? 'https' : 'http'}://${urlHost}:${port}`;
  resolveLogger(options.logger)({ event: 'listening', time: new Date().toISOString(), url, host, port });

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      stopping = true;
      const stopped = new Promise<void>((resolve) => listener.close(() => resolve()));
      // GOAWAY: clients open no new streams here, the streams in flight complete.
      for (const s of sessions) if (!s.closed) s.close();
      http1?.closeIdleConnections();
      const timeoutMs = options.shutdownTimeoutMs ?? 10_000;
      const deadline = Date.now() + timeoutMs;
      await routes.close({ timeoutMs });
      // A call leaves the handler before its last bytes are written: let the sessions end on
      // their own (GOAWAY closes them once their streams finish) before cutting what remains.
      await Promise.race([
        Promise.all([...sessions].map((s) => new Promise<void>((r) => s.once('close', () => r())))),
        new Promise((r) => setTimeout(r, Math.max(0, deadline - Date.now())).unref()),
      ]);
      // Streams still open are reset with CANCEL first (clients see a broken call: `unavailable`);
      // a destroyed session alone can end them like finished responses, mid-message.
      const reset = [...openStreams].filter((st) => !st.destroyed);
      for (const st of reset) st.close(http2.constants.NGHTTP2_CANCEL);
      await Promise.race([
        Promise.all(
          reset.map((st) => (st.closed ? Promise.resolve() : new Promise<void>((r) => st.once('close', () => r())))),
        ),
        new Promise((r) => setTimeout(r, 200).unref()),
      ]);
      for (const s of sessions) if (!s.destroyed) s.destroy();
      bodyDeadlines.stop();
      http1?.closeAllConnections();
      for (const socket of sockets) socket.destroy();
      await stopped;
    })();
    return closing;
  };
  return { url, port, close };
}
