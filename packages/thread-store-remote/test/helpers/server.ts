import type { ThreadStore } from '@skein/thread-store-api';
import { InMemoryThreadStore } from '@skein/thread-store-api';
import type {
  RemoteThreadStoreOptions,
  RunningThreadStoreServer,
  ServerLogEntry,
  StartThreadStoreServerOptions,
} from '../../src/index.js';
import { RemoteThreadStore, startThreadStoreServer } from '../../src/index.js';

export interface Served {
  server: RunningThreadStoreServer;
  backend: ThreadStore;
  logs: ServerLogEntry[];
  client(options?: Partial<RemoteThreadStoreOptions>): RemoteThreadStore;
  close(): Promise<void>;
}

type Extra = Partial<Omit<StartThreadStoreServerOptions, 'store' | 'storeForTenant' | 'logger'>>;

/** A real HTTP/2 server on 127.0.0.1:0 over `backend`, plus clients that get closed with it. */
export async function serve(backend: ThreadStore = new InMemoryThreadStore(), extra: Extra = {}): Promise<Served> {
  const logs: ServerLogEntry[] = [];
  const server = await startThreadStoreServer({
    ...extra,
    store: backend,
    logger: (e) => logs.push(e),
  } as StartThreadStoreServerOptions);
  const clients: RemoteThreadStore[] = [];
  return {
    server,
    backend,
    logs,
    client(options = {}) {
      const c = new RemoteThreadStore({ baseUrl: server.url, timeoutMs: 10_000, ...options });
      clients.push(c);
      return c;
    },
    async close() {
      await Promise.all(clients.map((c) => c.close()));
      await server.close();
    },
  };
}
