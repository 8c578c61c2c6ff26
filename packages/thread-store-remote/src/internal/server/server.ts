import * as http2 from 'node:http2';
import type { AddressInfo, Socket } from 'node:net';
import { connectNodeAdapter } from '@connectrpc/connect-node';
import type { ThreadStore } from '@skein/thread-store-api';
import { ThreadStoreError } from '@skein/thread-store-api';
import type { AuthOptions } from './auth.js';
import type { StoreSource, ThreadStoreHandlerOptions } from './handler.js';
import { createThreadStoreHandler } from './handler.js';
import type { ServerLimits } from './limits.js';
import type { ServerLogger } from './logger.js';

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
  /** How long `close()` waits for in-flight calls before cutting connections (default 10 000 ms). */
  shutdownTimeoutMs?: number;
}

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

/** Serves gRPC, gRPC-Web and Connect for one ThreadStore (or one per tenant) on one HTTP/2 port. */
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
  const routes = createThreadStoreHandler(source, handlerOptions);
  const adapter = connectNodeAdapter({ routes });
  const settings: http2.Settings = {
    maxConcurrentStreams: Math.max(100, routes.limits.maxConcurrentStreams * 2),
  };
  const server = options.tls
    ? http2.createSecureServer({ cert: options.tls.cert, key: options.tls.key, allowHTTP1: true, settings }, adapter)
    : http2.createServer({ settings }, adapter);
  const sessions = new Set<http2.Http2Session>();
  server.on('session', (s: http2.Http2Session) => {
    sessions.add(s);
    s.once('close', () => sessions.delete(s));
    // A peer that vanishes must not take the server down.
    s.on('error', () => {});
  });
  server.on('error', () => {});
  // Small unary responses must not wait for Nagle's algorithm.
  server.on('connection', (socket: Socket) => socket.setNoDelay(true));
  server.on('secureConnection', (socket: Socket) => socket.setNoDelay(true));

  await new Promise<void>((resolve, reject) => {
    const onError = (e: Error): void =>
      reject(ThreadStoreError.internal(`cannot listen on ${host}:${options.port ?? 0}: ${e.message}`, e));
    server.once('error', onError);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  const url = `${options.tls ? 'https' : 'http'}://${urlHost}:${port}`;

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      // GOAWAY: clients open no new streams here, the streams in flight complete.
      for (const s of sessions) if (!s.closed) s.close();
      const timeoutMs = options.shutdownTimeoutMs ?? 10_000;
      const deadline = Date.now() + timeoutMs;
      await routes.close({ timeoutMs });
      // A call leaves the handler before its last bytes are written: let the sessions end on
      // their own (GOAWAY closes them once their streams finish) before cutting what remains.
      await Promise.race([
        Promise.all([...sessions].map((s) => new Promise<void>((r) => s.once('close', () => r())))),
        new Promise((r) => setTimeout(r, Math.max(0, deadline - Date.now())).unref()),
      ]);
      for (const s of sessions) if (!s.destroyed) s.destroy();
      await stopped;
    })();
    return closing;
  };
  return { url, port, close };
}
