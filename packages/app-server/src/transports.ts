import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { ThreadStoreError } from '@skein/thread-store-api';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';
import type { AppServer } from './app-server.js';

/** A listening transport: where it listens and how to stop it. */
export interface AppServerListener {
  /** `stdio://`, `unix:///path` or `ws://127.0.0.1:PORT` (the port actually bound). */
  readonly url: string;
  /** Stops accepting connections and closes the open ones. */
  close(): Promise<void>;
}

/**
 * Serves one client on a pair of streams: newline-delimited JSON, one message per line (Codex's
 * `stdio://` transport). Resolves `done` when the input has ended and every request read from it
 * has been answered.
 */
export function serveStdio(
  server: AppServer,
  io: { input: Readable; output: Writable },
): AppServerListener & { done: Promise<void> } {
  const conn = server.connect({
    send: (text) => void io.output.write(text + '\n'),
    close: () => io.input.destroy(),
  });
  const lines = createInterface({ input: io.input, crlfDelay: Infinity });
  lines.on('line', (line) => {
    if (line.trim() !== '') conn.receive(line);
  });
  // When the input ends, the requests already read are still answered before the connection closes.
  const done = new Promise<void>((resolve) => lines.once('close', () => resolve()))
    .then(() => conn.drained())
    .then(() => conn.closed());
  return {
    url: 'stdio://',
    done,
    close: async () => {
      lines.close();
      await done;
    },
  };
}

/** How WebSocket clients authenticate. */
export type WebSocketAuth =
  /** No authentication: allowed on a loopback address only. */
  | { mode: 'none' }
  /** `Authorization: Bearer <token>` must carry this token (compared in constant time). */
  | { mode: 'capability-token'; token: string };

/** Options of `listenWebSocket`. */
export interface WebSocketListenOptions {
  /** An IP address; without authentication it must be a loopback one. */
  host: string;
  /** 0 picks a free port. */
  port: number;
  auth?: WebSocketAuth;
}

/** Whether a host is a loopback address (127.0.0.0/8, ::1, localhost). */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

function sha256(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

function authorized(req: IncomingMessage, auth: WebSocketAuth): boolean {
  if (auth.mode === 'none') return true;
  const header = req.headers.authorization ?? '';
  const m = /^Bearer\s+(.+)$/i.exec(header);
  if (!m) return false;
  return timingSafeEqual(sha256(m[1]!.trim()), sha256(auth.token));
}

function health(req: IncomingMessage, res: ServerResponse): void {
  const url = req.url?.split('?')[0];
  if (req.method === 'GET' && (url === '/readyz' || url === '/healthz')) {
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    return;
  }
  res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
}

/** Attaches the protocol to an HTTP server: WebSocket upgrades carry it, GET /readyz and /healthz answer ok. */
function attach(server: AppServer, http: Server, auth: WebSocketAuth): { close(): Promise<void> } {
  const wss = new WebSocketServer({ noServer: true });
  const sockets = new Set<WebSocket>();
  http.on('request', health);
  http.on('upgrade', (req, socket, head) => {
    if (!authorized(req, auth)) {
      socket.end('HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.add(ws);
      const conn = server.connect({ send: (text) => ws.send(text), close: () => ws.close() });
      ws.on('message', (data, isBinary) => {
        if (!isBinary) conn.receive(data.toString());
      });
      ws.on('close', () => {
        sockets.delete(ws);
        conn.closed();
      });
      ws.on('error', () => ws.terminate());
    });
  });
  return {
    close: async () => {
      for (const ws of sockets) ws.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

/**
 * Listens for WebSocket clients (one JSON-RPC message per text frame, Codex's `ws://` transport)
 * with `/readyz` and `/healthz` on the same port. Without authentication only a loopback address
 * is accepted (`invalid_request` otherwise).
 */
export async function listenWebSocket(server: AppServer, options: WebSocketListenOptions): Promise<AppServerListener> {
  const auth = options.auth ?? { mode: 'none' };
  if (auth.mode === 'none' && !isLoopbackHost(options.host))
    throw ThreadStoreError.invalidRequest(
      `listening on ${options.host} without authentication is refused: use a loopback address, or --ws-auth capability-token`,
    );
  if (auth.mode === 'capability-token' && auth.token.trim() === '')
    throw ThreadStoreError.invalidRequest('the capability token is empty');
  const http = createServer();
  const attached = attach(server, http, auth);
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port, options.host, () => {
      http.off('error', reject);
      resolve();
    });
  });
  const { port } = http.address() as AddressInfo;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return { url: `ws://${host}:${port}`, close: () => attached.close() };
}

/**
 * Listens on a unix socket: the same WebSocket framing as `ws://` (what `codex --remote unix://`
 * connects with), reachable only through the file's permissions. A stale socket file is replaced.
 */
export async function listenUnix(server: AppServer, socketPath: string): Promise<AppServerListener> {
  await rm(socketPath, { force: true });
  const http = createServer();
  const attached = attach(server, http, { mode: 'none' });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(socketPath, () => {
      http.off('error', reject);
      resolve();
    });
  });
  return {
    url: `unix://${socketPath}`,
    close: async () => {
      await attached.close();
      await rm(socketPath, { force: true });
    },
  };
}
