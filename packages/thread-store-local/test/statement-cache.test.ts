import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { normalizeListParams } from '@skein/thread-store-api';
import { openIndexDb, SCHEMA_VERSION } from '../src/internal/index-db.js';
import { STATEMENT_CACHE_MAX, ThreadIndex } from '../src/internal/indexer.js';
import { HomeLayout } from '../src/internal/paths.js';
import { meta, tmpHome, userMsg, writeRollout } from './helpers/home.js';

describe('the index keeps a bounded number of prepared statements', () => {
  it('listings with filter lists of every length do not grow the cache past its bound', async () => {
    const home = tmpHome();
    const id = '0e000000-0000-4000-8000-000000000001';
    writeRollout(home, `sessions/2026/01/02/rollout-2026-01-02T10-00-00-${id}.jsonl`, [meta(id), userMsg('hello')]);
    const { db } = openIndexDb(path.join(home, `skein_index_${SCHEMA_VERSION}.sqlite`));
    try {
      const index = new ThreadIndex(new HomeLayout(home), db, 'openai');
      await index.syncAll();
      // Each length of cwdFilters is a different SQL text (one `?` per entry).
      for (let n = 1; n <= 256; n++) {
        const cwds = Array.from({ length: n }, (_, i) => (i === 0 ? '/home/me/proj' : `/nowhere/${i}`));
        const p = normalizeListParams({ cwdFilters: cwds }, 'openai');
        const page = index.listPage(p, 'local', null);
        expect(page.items.map((i) => i.thread.threadId)).toEqual([id]);
        expect(index.cachedStatements).toBeLessThanOrEqual(STATEMENT_CACHE_MAX);
      }
      expect(index.cachedStatements).toBe(STATEMENT_CACHE_MAX);
    } finally {
      db.close();
    }
  });
});
