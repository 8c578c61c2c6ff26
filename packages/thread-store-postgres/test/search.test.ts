import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresThreadStore } from '../src/index.js';
import { createTestDatabase, freshTenant, insertFillerThreads, withClient } from './helpers/database.js';
import type { TestDatabase } from './helpers/database.js';
import { searchPagePlan } from './helpers/plans.js';
import { agentMessage, seed, userMessage } from './helpers/threads.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase('search');
});
afterAll(async () => {
  await db.drop();
});

async function withStore(fn: (s: PostgresThreadStore) => Promise<void>): Promise<void> {
  const s = await PostgresThreadStore.open({ connectionString: db.url, tenant: freshTenant() });
  try {
    await fn(s);
  } finally {
    await s.close();
  }
}

const hitIds = async (s: PostgresThreadStore, searchTerm: string): Promise<string[]> =>
  (await s.searchThreads({ searchTerm, pageSize: 100 })).items.map((h) => h.thread.threadId).sort();

describe('content search', () => {
  it('finds terms of one and two characters, which no trigram index can serve', async () => {
    await withStore(async (s) => {
      const a = await seed(s, [userMessage('run it'), agentMessage('done: q7 passed')]);
      const b = await seed(s, [userMessage('what is Ω?')]);
      expect(await hitIds(s, 'q7')).toEqual([a]);
      expect(await hitIds(s, 'Q')).toEqual([a, b].filter((id) => id === a));
      expect(await hitIds(s, 'ω')).toEqual([b]);
      expect(await hitIds(s, '?')).toEqual([b]);
      expect(await hitIds(s, 'i')).toEqual([a, b].sort());
    });
  });

  it('takes LIKE wildcards and backslashes literally', async () => {
    await withStore(async (s) => {
      const pct = await seed(s, [userMessage('coverage is 100% now')]);
      const under = await seed(s, [userMessage('rename snake_case vars')]);
      const slash = await seed(s, [userMessage('path C:\\temp\\x')]);
      await seed(s, [userMessage('plain text without specials')]);
      expect(await hitIds(s, '%')).toEqual([pct]);
      expect(await hitIds(s, '0%')).toEqual([pct]);
      expect(await hitIds(s, '_')).toEqual([under]);
      expect(await hitIds(s, 'e_c')).toEqual([under]);
      expect(await hitIds(s, '\\')).toEqual([slash]);
      expect(await hitIds(s, ':\\t')).toEqual([slash]);
    });
  });

  it('is case-insensitive the way JavaScript lowercases, beyond ASCII too', async () => {
    await withStore(async (s) => {
      const id = await seed(s, [userMessage('ÄPFEL und BIRNEN, ΣΟΦΙΑ')]);
      for (const term of ['äpfel', 'Äpfel', 'birnen', 'σοφια', 'ΣΟΦΙΑ'])
        expect(await hitIds(s, term), term).toEqual([id]);
    });
  });

  it('the snippet comes from the first message that matches, with context around the term', async () => {
    await withStore(async (s) => {
      const long = `${'a'.repeat(100)} the heron lands ${'b'.repeat(100)}`;
      const id = await seed(s, [userMessage('no match here'), agentMessage(long), agentMessage('heron again, later')]);
      const [hit] = (await s.searchThreads({ searchTerm: 'HERON' })).items;
      expect(hit?.thread.threadId).toBe(id);
      expect(hit?.snippet.startsWith('…')).toBe(true);
      expect(hit?.snippet.endsWith('…')).toBe(true);
      expect(hit?.snippet).toContain('the heron lands');
      expect(hit?.snippet.length).toBeLessThan(long.length);
    });
  });

  it('a term of three or more characters is answered from the pg_trgm index on a large table', async () => {
    const tenant = freshTenant('big');
    const s = await PostgresThreadStore.open({ connectionString: db.url, tenant });
    try {
      const needle = await seed(s, [userMessage('the zanzibar marmoset escaped')]);
      // 1,000 threads with 100 messages each beside it, written in one statement.
      await withClient(db.url, async (c) => {
        await insertFillerThreads(c, tenant);
        expect(await searchPagePlan(c, tenant, 'marmoset')).toContain('skein_items_message_trgm');
      });
      expect(await hitIds(s, 'marmoset')).toEqual([needle]);
      expect(await hitIds(s, 'ZANZIBAR MARMOSET')).toEqual([needle]);
      expect((await s.searchThreads({ searchTerm: 'filler number 7 ', pageSize: 1000 })).items).toHaveLength(1000);
    } finally {
      await s.close();
    }
  }, 60_000);
});
