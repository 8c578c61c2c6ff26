import { InMemoryThreadStore } from '@skein/thread-store-api';
import type { ThreadStore } from '@skein/thread-store-api';
import { describeThreadStoreConformance } from '../src/index.js';

function storageOf(store: ThreadStore): InMemoryThreadStore['storage'] {
  if (!(store instanceof InMemoryThreadStore)) throw new Error('not an in-memory store');
  return store.storage;
}

describeThreadStoreConformance({
  name: 'InMemoryThreadStore',
  capabilities: { reopen: true, sharedStorage: true, contentSearch: true, localPaths: false, segments: true },
  defaultModelProvider: 'openai',
  create: async () => new InMemoryThreadStore(),
  reopen: async (store) => new InMemoryThreadStore({ storage: storageOf(store) }),
  second: async (store) => new InMemoryThreadStore({ storage: storageOf(store) }),
});

// A store whose default provider is not `openai`: the provider filter defaults follow it.
describeThreadStoreConformance({
  name: 'InMemoryThreadStore (default provider "acme")',
  capabilities: { contentSearch: true, segments: true },
  defaultModelProvider: 'acme',
  create: async () => new InMemoryThreadStore({ defaultModelProvider: 'acme' }),
});
