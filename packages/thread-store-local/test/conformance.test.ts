import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ThreadStore } from '@skein/thread-store-api';
import { describeThreadStoreConformance } from '@skein/thread-store-conformance';
import { LocalThreadStore } from '../src/index.js';

const homes = new WeakMap<ThreadStore, string>();

function storeAt(home: string): LocalThreadStore {
  // The suite compares histories item for item in the legacy shape; paginated writing has its
  // own tests (paginated-*.test.ts) and the suite's paginatedHistory check.
  const s = new LocalThreadStore({ home, defaultModelProvider: 'openai', historyMode: 'legacy' });
  homes.set(s, home);
  return s;
}

function homeOf(store: ThreadStore): string {
  const home = homes.get(store);
  if (!home) throw new Error('store was not made by this harness');
  return home;
}

describeThreadStoreConformance({
  name: 'LocalThreadStore',
  capabilities: {
    reopen: true,
    sharedStorage: true,
    contentSearch: true,
    localPaths: true,
    paginatedHistory: true,
    segments: true,
  },
  defaultModelProvider: 'openai',
  create: () => Promise.resolve(storeAt(mkdtempSync(path.join(tmpdir(), 'skein-local-conf-')))),
  reopen: (store) => Promise.resolve(storeAt(homeOf(store))),
  second: (store) => Promise.resolve(storeAt(homeOf(store))),
  destroy: (store) => {
    rmSync(homeOf(store), { recursive: true, force: true });
    return Promise.resolve();
  },
});
