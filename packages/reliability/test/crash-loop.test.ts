import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { newThreadId } from '@skein/thread-store-api';
import { LocalThreadStore } from '@skein/thread-store-local';
import { seqsOf } from './history.js';
import { childMaxRssMiB, record, seeded, selfMaxRssMiB, trials } from './figures.js';
import { sleep, spawnChild } from './proc.js';

const home = mkdtempSync(path.join(tmpdir(), 'skein-rel-crash-'));
afterAll(() => rmSync(home, { recursive: true, force: true }));

describe('crash loop of a local writer', () => {
  it('SIGKILL at random points never loses an acknowledged flush, nor duplicates or reorders', async () => {
    const rounds = trials(12, 200);
    const rand = seeded(4242);
    const threadId = newThreadId();
    let next = 0;
    let acknowledged = 0;
    let lost = 0;
    let maxRss = 0;
    for (let round = 0; round < rounds; round++) {
      const child = spawnChild('writer.mjs', [home, threadId, String(next), round === 0 ? 'create' : 'resume']);
      await child.until((m) => m.ready === true);
      // The first round waits for one flush, so the file exists whatever the load.
      if (round === 0) await child.until((m) => typeof m.acked === 'number');
      await sleep(Math.floor(rand() * 60));
      maxRss = Math.max(maxRss, await childMaxRssMiB(child.proc.pid));
      child.proc.kill('SIGKILL');
      await child.exited;
      const acked = child.messages.filter((m) => typeof m.acked === 'number').map((m) => m.acked as number);
      const store = new LocalThreadStore({ home, backgroundIntegrityCheck: false });
      let seqs: number[];
      try {
        seqs = await seqsOf(store, threadId);
      } finally {
        await store.close();
      }
      expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i));
      const lastAcked = acked.length > 0 ? Math.max(...acked) : next - 1;
      acknowledged += acked.length > 0 ? lastAcked - next + 1 : 0;
      lost += Math.max(0, lastAcked + 1 - seqs.length);
      next = seqs.length;
    }
    record({
      probe: 'crash loop of a local writer (SIGKILL while appending + flushing)',
      trials: rounds,
      acknowledged,
      lost,
      maxRssMiB: Math.max(maxRss, selfMaxRssMiB()),
    });
    expect(lost).toBe(0);
    expect(acknowledged).toBeGreaterThan(rounds);
  });
});
