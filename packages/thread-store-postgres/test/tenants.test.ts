import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isThreadStoreError, loadHistoryItems } from '@skein/thread-store-api';
import { PostgresThreadStore } from '../src/index.js';
import { createTestDatabase, freshTenant } from './helpers/database.js';
import type { TestDatabase } from './helpers/database.js';
import { agentMessage, seed, userMessage } from './helpers/threads.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase('tenants');
});
afterAll(async () => {
  await db.drop();
});

async function expectCode(p: Promise<unknown>, code: string): Promise<void> {
  const err: unknown = await p.then(
    () => new Error('resolved'),
    (e: unknown) => e,
  );
  expect(isThreadStoreError(err), String(err)).toBe(true);
  expect((err as { code: string }).code).toBe(code);
}

describe('tenants', () => {
  it('a store sees only its own tenant through every method of the API', async () => {
    const a = await PostgresThreadStore.open({ connectionString: db.url, tenant: freshTenant('a') });
    const b = await PostgresThreadStore.open({ connectionString: db.url, tenant: freshTenant('b') });
    try {
      const id = await seed(a, [userMessage('secret plans of tenant a'), agentMessage('pangolin reply')]);
      await expectCode(b.readThread({ threadId: id, includeArchived: true }), 'not_found');
      await expectCode(loadHistoryItems(b, { threadId: id, includeArchived: true }), 'not_found');
      await expectCode(b.resumeThread({ threadId: id, includeArchived: true }), 'not_found');
      await expectCode(b.updateThreadMetadata({ threadId: id, patch: { name: 'stolen' } }), 'not_found');
      await expectCode(b.archiveThread({ threadId: id }), 'not_found');
      await expectCode(b.unarchiveThread({ threadId: id }), 'not_found');
      await expectCode(b.deleteThread({ threadId: id }), 'not_found');
      expect((await b.listThreads({ modelProviders: [], allowedSources: ['cli', 'exec'] })).items).toEqual([]);
      expect((await b.listThreads({ searchTerm: 'secret' })).items).toEqual([]);
      expect((await b.searchThreads({ searchTerm: 'pangolin' })).items).toEqual([]);
      expect((await b.searchThreads({ searchTerm: 'a' })).items).toEqual([]);

      // The same thread id is a different thread in another tenant.
      await seed(b, [userMessage('tenant b has its own')], { threadId: id });
      expect((await a.readThread({ threadId: id })).preview).toBe('secret plans of tenant a');
      expect((await b.readThread({ threadId: id })).preview).toBe('tenant b has its own');
      await b.deleteThread({ threadId: id });
      expect((await a.readThread({ threadId: id })).preview).toBe('secret plans of tenant a');
      expect(JSON.stringify(await loadHistoryItems(a, { threadId: id }))).toContain('pangolin reply');

      // A live writer in one tenant does not block the same id in another.
      await a.resumeThread({ threadId: id });
      await b.createThread({ threadId: id, source: { kind: 'cli' }, metadata: { cwd: '/', modelProvider: 'openai' } });
      await b.discardThread(id);
      await a.shutdownThread(id);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('the tenant defaults to "default" and must be a non-empty string', async () => {
    const s = await PostgresThreadStore.open({ connectionString: db.url });
    expect(s.tenant).toBe('default');
    await s.close();
    expect(() => new PostgresThreadStore({ connectionString: db.url, tenant: '' })).toThrow(/tenant/);
  });
});
