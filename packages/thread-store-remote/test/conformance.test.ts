import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ThreadStore } from '@skein/thread-store-api';
import { InMemoryThreadStorage, InMemoryThreadStore } from '@skein/thread-store-api';
import { describeThreadStoreConformance } from '@skein/thread-store-conformance';
import { LocalThreadStore } from '@skein/thread-store-local';
import type { RunningThreadStoreServer } from '../src/index.js';
import { RemoteThreadStore, startThreadStoreServer } from '../src/index.js';

/**
 * The shared suite through a real HTTP/2 server on 127.0.0.1. `reopen` restarts the whole
 * server over the same storage (a new backend store, a new server, a new client); `second` is
 * another client of the same server, as another agent process would be.
 */
interface Backend {
  /** A backend store over the storage this harness state holds. */
  open(): ThreadStore;
  cleanup(): void;
}

interface Deployment {
  backend: Backend;
  server: RunningThreadStoreServer;
  store: ThreadStore;
}

function harness(
  name: string,
  protocol: 'grpc' | 'connect',
  makeBackend: () => Backend,
  paginatedHistory: boolean,
  segments: boolean,
) {
  const deployments = new Map<ThreadStore, Deployment>();

  async function deploy(backend: Backend): Promise<RemoteThreadStore> {
    const store = backend.open();
    const server = await startThreadStoreServer({ store, ownsStore: true, logger: false });
    const client = new RemoteThreadStore({ baseUrl: server.url, protocol });
    deployments.set(client, { backend, server, store });
    return client;
  }

  function of(client: ThreadStore): Deployment {
    const d = deployments.get(client);
    if (!d) throw new Error('store was not made by this harness');
    return d;
  }

  describeThreadStoreConformance({
    name: `RemoteThreadStore (${protocol}) over ${name}`,
    capabilities: {
      reopen: true,
      sharedStorage: true,
      contentSearch: true,
      localPaths: false,
      paginatedHistory,
      segments,
    },
    defaultModelProvider: 'openai',
    create: () => deploy(makeBackend()),
    async reopen(client) {
      const d = of(client);
      await d.server.close();
      return deploy(d.backend);
    },
    async second(client) {
      const d = of(client);
      const other = new RemoteThreadStore({ baseUrl: d.server.url, protocol });
      deployments.set(other, d);
      return other;
    },
    async destroy(client) {
      const d = of(client);
      await d.server.close();
      for (const [k, v] of deployments) if (v.backend === d.backend) deployments.delete(k);
      d.backend.cleanup();
    },
  });
}

const memory = (): Backend => {
  const storage = new InMemoryThreadStorage();
  return { open: () => new InMemoryThreadStore({ storage, defaultModelProvider: 'openai' }), cleanup: () => {} };
};

const local = (): Backend => {
  const home = mkdtempSync(path.join(tmpdir(), 'skein-remote-conf-'));
  return {
    // The suite compares legacy histories item for item; historyMode: 'paginated' still writes paginated.
    open: () => new LocalThreadStore({ home, defaultModelProvider: 'openai', fsync: 'never', historyMode: 'legacy' }),
    cleanup: () => rmSync(home, { recursive: true, force: true }),
  };
};

for (const protocol of ['grpc', 'connect'] as const) {
  // Segments as the backing store keeps them: the server forwards them, or answers unsupported.
  harness('InMemoryThreadStore', protocol, memory, false, true);
  harness('LocalThreadStore', protocol, local, true, true);
}
