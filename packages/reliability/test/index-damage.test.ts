import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isThreadStoreError } from '@skein/thread-store-api';
import { LocalThreadStore } from '@skein/thread-store-local';
import { record, seeded, selfMaxRssMiB, trials } from './figures.js';
import { tempDir, threadIdOf, writeThread } from './home.js';

const THREADS = 60;

/** Overwrites `len` bytes at a random offset past the header with random bytes. */
function damage(file: string, rand: () => number): void {
  const bytes = readFileSync(file);
  const len = 1 + Math.floor(rand() * 64);
  const at = 100 + Math.floor(rand() * (bytes.length - 100 - len));
  for (let i = 0; i < len; i++) bytes[at + i] = Math.floor(rand() * 256);
  writeFileSync(file, bytes);
}

describe('index damage', () => {
  it('random bytes anywhere in the index never turn into a wrong answer after an integrity check', async () => {
    const rounds = trials(15, 300);
    const rand = seeded(31337);
    const home = tempDir('skein-rel-damage-');
    for (let n = 0; n < THREADS; n++) writeThread(home, n);
    const expected = Array.from({ length: THREADS }, (_, n) => threadIdOf(n)).sort();
    const indexFile = (): string =>
      path.join(home, readdirSync(home).find((f) => /^skein_index_\d+\.sqlite$/.test(f)) as string);
    let wrongBefore = 0;
    let wrongAfter = 0;
    let errors = 0;
    let found = 0;
    for (let round = 0; round < rounds; round++) {
      const first = new LocalThreadStore({ home, backgroundIntegrityCheck: false });
      await first.indexNow();
      await first.close();
      damage(indexFile(), rand);
      const store = new LocalThreadStore({ home, backgroundIntegrityCheck: false });
      const list = async (): Promise<string[]> =>
        (await store.listThreads({ pageSize: 1000 })).items.map((t) => t.threadId as string).sort();
      try {
        // Before the check an answer may already be wrong (damage no read has met yet)...
        try {
          if (JSON.stringify(await list()) !== JSON.stringify(expected)) wrongBefore += 1;
        } catch (e) {
          if (!isThreadStoreError(e)) throw e;
          errors += 1;
        }
        // ...after it, never.
        if (!(await store.checkIndexIntegrity()).ok) found += 1;
        if (JSON.stringify(await list()) !== JSON.stringify(expected)) wrongAfter += 1;
      } finally {
        await store.close();
      }
    }
    record({
      probe: 'index damage: random bytes over the index, then a listing and checkIndexIntegrity',
      trials: rounds,
      acknowledged: 0,
      lost: 0,
      wrong: wrongAfter,
      maxRssMiB: selfMaxRssMiB(),
      notes: `${found} damaged indexes found and rebuilt by the check; ${wrongBefore} listings wrong before it; ${errors} listings answered a ThreadStoreError before it`,
    });
    expect(wrongAfter).toBe(0);
  });
});
