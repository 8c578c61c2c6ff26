import { EchoModelClient } from '@skein/core-session';
import type { ThreadStore } from '@skein/thread-store-api';
import { ThreadManager } from '@skein/thread-manager';
import { AppServer, listenWebSocket } from '@skein/app-server';
import type { AppServerListener } from '@skein/app-server';

/** An app-server with the echo model over `store`, listening on a WebSocket of 127.0.0.1. */
export interface ServerRig {
  store: ThreadStore;
  manager: ThreadManager;
  server: AppServer;
  listener: AppServerListener;
}

export async function startServer(store: ThreadStore, home: string): Promise<ServerRig> {
  const manager = new ThreadManager({ store, model: new EchoModelClient(), defaults: { cwd: home } });
  const server = new AppServer({ manager, codexHome: home, defaultCwd: home, cliVersion: '9.9.9' });
  const listener = await listenWebSocket(server, { host: '127.0.0.1', port: 0 });
  return { store, manager, server, listener };
}

/** Closes the listener, the server, its threads and the store. */
export async function stopServer(r: ServerRig): Promise<void> {
  await r.listener.close();
  await r.server.close();
  await r.manager.shutdownAll();
  await r.store.close();
}
