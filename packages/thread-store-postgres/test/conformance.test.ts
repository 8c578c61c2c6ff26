import { afterAll, beforeAll } from 'vitest';
import type { ThreadStore } from '@skein/thread-store-api';
import { describeThreadStoreConformance } from '@skein/thread-store-conformance';
import { PostgresThreadStore } from '../src/index.js';
import { createTestDatabase, freshTenant } from './helpers/database.js';
import type { TestDatabase } from './helpers/database.js';

// One database for the file; every test gets a tenant of its own, which is new, empty storage.
let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase('conformance');
});
afterAll(async () => {
  await db.drop();
});

const tenants = new WeakMap<ThreadStore, string>();

async function storeFor(tenant: string): Promise<PostgresThreadStore> {
  const s = await PostgresThreadStore.open({ connectionString: db.url, tenant, defaultModelProvider: 'openai' });
  tenants.set(s, tenant);
  return s;
}

function tenantOf(store: ThreadStore): string {
  const t = tenants.get(store);
  if (t === undefined) throw new Error('store was not made by this harness');
  return t;
}

describeThreadStoreConformance({
  name: 'PostgresThreadStore',
  capabilities: { reopen: true, sharedStorage: true, contentSearch: true, localPaths: false, segments: true },
  defaultModelProvider: 'openai',
  create: () => storeFor(freshTenant()),
  // A new pool on the same database: a restarted server.
  reopen: (store) => storeFor(tenantOf(store)),
  // A second store object with its own pool on the same database: a second server.
  second: (store) => storeFor(tenantOf(store)),
});
