import { statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { meta, openStore, tmpHome, userMsg, writeRollout } from './helpers/home.js';

const idN = (n: number): string => `0b1b2c3d-0000-4000-8000-${String(n).padStart(12, '0')}`;
const relOf = (n: number, dir = 'sessions/2025/10/01'): string => `${dir}/rollout-2025-10-01T12-00-00-${idN(n)}.jsonl`;

describe('LocalThreadStore.rolloutBytes', () => {
  it('sums the indexed sizes of the files of the threads the filters match', async () => {
    const home = tmpHome();
    const sizes = new Map<number, number>();
    for (let n = 1; n <= 4; n += 1) {
      const provider = n === 4 ? 'oss' : 'openai';
      const dir = n === 3 ? 'archived_sessions' : 'sessions/2025/10/01';
      const lines = [meta(idN(n), { model_provider: provider }), userMsg(`thread ${n} ${'x'.repeat(n * 100)}`)];
      sizes.set(n, statSync(writeRollout(home, relOf(n, dir), lines)).size);
    }
    // A file without a user message is never listed, so it is not counted either.
    writeRollout(home, relOf(5), [meta(idN(5))]);
    const store = openStore(home);
    try {
      const size = (n: number): number => sizes.get(n) ?? NaN;
      expect(await store.rolloutBytes({ modelProviders: [] })).toBe(size(1) + size(2) + size(4));
      expect(await store.rolloutBytes({})).toBe(size(1) + size(2));
      expect(await store.rolloutBytes({ modelProviders: ['oss'] })).toBe(size(4));
      expect(await store.rolloutBytes({ archived: true })).toBe(size(3));
      expect(await store.rolloutBytes({ cwdFilters: [] })).toBe(0);
      expect(await store.countThreads({ modelProviders: [] })).toBe(3);
    } finally {
      await store.close();
    }
  });
});
