import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InMemoryThreadStore } from '../src/index.js';
import type { RolloutItem, ThreadId } from '../src/index.js';
import { tid } from './helpers.js';

/**
 * Content search of the in-memory store against a brute-force scan of what was written: every
 * thread with a message containing the term (case-insensitively), for random terms of 1 to 6
 * characters, on threads with many messages written in several batches.
 */

const SEED = 20261201;
const ALPHABET = [
  ...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ',
  ...'0123456789 .,_%\\"\'*-:()',
  ...'éÉüÜßİıΣσςKſΩ日本語ქᲥ',
];

describe('InMemoryThreadStore content search never misses', () => {
  it('finds exactly the threads whose messages contain the term', async () => {
    const store = new InMemoryThreadStore();
    const messageText = fc.string({ unit: fc.constantFrom(...ALPHABET), minLength: 1, maxLength: 30 });
    const batches = fc.sample(fc.array(fc.array(messageText, { minLength: 1, maxLength: 8 }), { maxLength: 4 }), {
      seed: SEED,
      numRuns: 200,
    });
    const written = new Map<ThreadId, string[]>();
    for (const [n, batchList] of batches.entries()) {
      const threadId = tid(n + 1);
      await store.createThread({
        threadId,
        source: { kind: 'cli' },
        createdAt: new Date(Date.UTC(2025, 0, 1, 0, 0, n)),
        metadata: { cwd: '/w', modelProvider: 'openai' },
      });
      const messages = [`opening ${n}`];
      await store.appendItems({
        threadId,
        items: [{ type: 'event_msg', payload: { type: 'user_message', message: messages[0] } }],
      });
      for (const [b, batch] of batchList.entries()) {
        const items: RolloutItem[] = batch.map((message, i) => ({
          type: 'event_msg',
          payload: { type: (b + i) % 2 === 0 ? 'agent_message' : 'user_message', message },
        }));
        messages.push(...batch);
        await store.appendItems({ threadId, items });
        await store.flushThread(threadId);
      }
      await store.shutdownThread(threadId);
      written.set(threadId, messages);
    }
    const corpus = [...written.values()].flat();
    const terms = fc
      .sample(
        fc.oneof(
          fc.string({ unit: fc.constantFrom(...ALPHABET), minLength: 1, maxLength: 6 }),
          fc
            .tuple(fc.nat(corpus.length - 1), fc.nat(60), fc.integer({ min: 1, max: 6 }))
            .map(([i, at, len]) => (corpus[i] ?? 'x').slice(at % 30, (at % 30) + len)),
        ),
        { seed: SEED, numRuns: 150 },
      )
      .filter((t) => t.trim() !== '');
    let withHits = 0;
    for (const term of terms) {
      const want = [...written]
        .filter(([, ms]) => ms.some((m) => m.toLowerCase().includes(term.toLowerCase())))
        .map(([id]) => id)
        .sort();
      const got: string[] = [];
      let cursor: string | null = null;
      do {
        const page = await store.searchThreads({ searchTerm: term, pageSize: 37, ...(cursor ? { cursor } : {}) });
        got.push(...page.items.map((r) => r.thread.threadId));
        cursor = page.nextCursor;
      } while (cursor);
      expect(got.sort(), `term ${JSON.stringify(term)}`).toEqual(want);
      if (want.length > 0) withHits += 1;
    }
    expect(withHits).toBeGreaterThan(40);
  });
});
