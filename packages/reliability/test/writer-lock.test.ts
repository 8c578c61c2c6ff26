import { describe, expect, it } from 'vitest';
import { newThreadId } from '@skein/thread-store-api';
import { LocalThreadStore } from '@skein/thread-store-local';
import { seqsOf } from './history.js';
import { childMaxRssMiB, record, seeded, selfMaxRssMiB, trials } from './figures.js';
import { tempDir } from './home.js';
import { sleep, spawnChild } from './proc.js';
import type { Child } from './proc.js';

/** Sequence numbers of round `r`'s two writers never overlap: writer w of round r counts from here. */
const base = (round: number, w: number): number => (2 * round + w) * 1_000_000;

describe('writer lock across processes', () => {
  it('two processes racing for one thread: never two writers, never a lock left by a dead one', async () => {
    const rounds = trials(6, 100);
    const rand = seeded(0x10c4);
    const home = tempDir('skein-rel-lock-');
    const threadId = newThreadId();
    const setup = new LocalThreadStore({ home, backgroundIntegrityCheck: false });
    await setup.createThread({ threadId, source: { kind: 'cli' }, metadata: { cwd: '/l', modelProvider: 'openai' } });
    await setup.appendItems({
      threadId,
      items: [{ type: 'event_msg', payload: { type: 'user_message', message: 'go' } }],
    });
    await setup.shutdownThread(threadId);
    await setup.close();

    const wrong: string[] = [];
    let acknowledged = 0;
    let lost = 0;
    let noWinner = 0;
    let maxRss = 0;
    let expected: number[] = [];
    for (let round = 0; round < rounds; round++) {
      const writers: Child[] = [0, 1].map((w) =>
        spawnChild('writer.mjs', [home, threadId, String(base(round, w)), 'resume']),
      );
      // Each either takes the writer lock (prints ready) or fails to resume and exits.
      const outcomes = await Promise.all(
        writers.map((c) =>
          c
            .until((m) => m.ready === true)
            .then(
              () => 'writer' as const,
              () => 'refused' as const,
            ),
        ),
      );
      const live = outcomes.filter((o) => o === 'writer').length;
      if (live > 1) wrong.push(`round ${round}: two processes hold the writer lock`);
      if (live === 0) noWinner += 1;
      await sleep(Math.floor(rand() * 150));
      for (const c of writers) maxRss = Math.max(maxRss, await childMaxRssMiB(c.proc.pid));
      // SIGKILL both: the kernel drops their flocks; a lock file may stay, without a holder.
      for (const c of writers) c.proc.kill('SIGKILL');
      await Promise.all(writers.map((c) => c.exited));

      const store = new LocalThreadStore({ home, backgroundIntegrityCheck: false });
      try {
        // The lock of a dead writer never blocks the next one.
        await store
          .resumeThread({ threadId })
          .catch((e: unknown) => wrong.push(`round ${round}: resume after the kill failed: ${String(e)}`));
        await store.shutdownThread(threadId).catch(() => undefined);
        const seqs = await seqsOf(store, threadId);
        for (const [w, c] of writers.entries()) {
          const acked = c.messages.filter((m) => typeof m.acked === 'number').map((m) => m.acked as number);
          if (acked.length === 0) continue;
          const last = Math.max(...acked);
          const mine = seqs.filter((s) => s >= base(round, w) && s < base(round, w) + 1_000_000);
          // Everything the winner acknowledged is there, in order, once; nothing was torn by the other.
          const want = Array.from({ length: last - base(round, w) + 1 }, (_, i) => base(round, w) + i);
          acknowledged += want.length;
          lost += want.filter((s) => !mine.includes(s)).length;
          if (mine.slice(0, want.length).join() !== want.join())
            wrong.push(`round ${round}: writer ${w}'s items are out of order or duplicated`);
        }
        // Earlier rounds' items are untouched.
        if (seqs.slice(0, expected.length).join() !== expected.join())
          wrong.push(`round ${round}: earlier items changed`);
        expected = seqs;
      } finally {
        await store.close();
      }
    }
    record({
      probe: 'writer lock: two processes racing to resume one thread, both SIGKILLed, then a third resumes',
      trials: rounds,
      acknowledged,
      lost,
      wrong: wrong.length,
      maxRssMiB: Math.max(maxRss, selfMaxRssMiB()),
      notes: `${noWinner} rounds where neither took the lock before the other gave up`,
    });
    expect(wrong).toEqual([]);
    expect(lost).toBe(0);
  });
});
