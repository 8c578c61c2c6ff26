import * as http2 from 'node:http2';
import type { AddressInfo, Socket } from 'node:net';
import { connectNodeAdapter } from '@connectrpc/connect-node';
import type { ThreadStore } from '@skein/thread-store-api';
import type { ThreadStoreHandlerOptions } from '../../src/index.js';
import { createThreadStoreHandler } from '../../src/index.js';

export interface RawServer {
  url: string;
  /** Every session the server has accepted, in order. */
  sessions: http2.ServerHttp2Session[];
  sockets: Set<Socket>;
  /** Destroys every open connection at the socket level (as a crash or a dropped link would). */
  dropConnections(): void;
  close(): Promise<void>;
}

/**
 * A real HTTP/2 server on 127.0.0.1:0 running the thread-store handler, whose sessions and sockets
 * the test can reach; `intercept` may take a request over (return true) before the handler sees it.
 */
export async function rawServer(
  store: ThreadStore,
  options: ThreadStoreHandlerOptions = {},
  intercept?: (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse, sessionIndex: number) => boolean,
): Promise<RawServer> {
  const routes = createThreadStoreHandler(store, { logger: false, ...options });
  const adapter = connectNodeAdapter({ routes });
  const sessions: http2.ServerHttp2Session[] = [];
  const sockets = new Set<Socket>();
  const server = http2.createServer((req, res) => {
    const index = sessions.indexOf(req.stream.session as http2.ServerHttp2Session);
    if (intercept?.(req, res, index)) return;
    adapter(req, res);
  });
  server.on('session', (s: http2.ServerHttp2Session) => {
    sessions.push(s);
    s.on('error', () => {});
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  const dropConnections = (): void => {
    for (const socket of sockets) socket.destroy();
  };
  return {
    url: `http://127.0.0.1:${port}`,
    sessions,
    sockets,
    dropConnections,
    async close() {
      await routes.close({ timeoutMs: 1000 });
      dropConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
