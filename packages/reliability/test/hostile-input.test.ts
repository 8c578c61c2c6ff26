import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InMemoryThreadStore, isThreadStoreError } from '@skein/thread-store-api';
import type { ThreadStore } from '@skein/thread-store-api';
import { LocalThreadStore } from '@skein/thread-store-local';
import { record, selfMaxRssMiB, trials } from './figures.js';
import { tempDir, threadIdOf, writeThread } from './home.js';

/** Anything a careless or hostile client could send where a value is expected. */
const anything = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary', maxLength: 64 }),
  fc.integer(),
  fc.double(),
  fc.constantFrom(null, undefined, NaN, Infinity, -1, 0, 1e9, '', '../../etc/passwd', '\u0000', [], {}),
  fc.base64String({ maxLength: 200 }),
  fc.array(fc.string(), { maxLength: 300 }),
  fc.object({ maxDepth: 2 }),
);

type Call = (s: ThreadStore, v: unknown[]) => Promise<unknown>;

/** Each store method with hostile values where the caller chooses them. */
const CALLS: Array<[string, Call]> = [
  ['readThread', (s, v) => s.readThread({ threadId: v[0] as never, includeHistory: v[1] as never })],
  ['listThreads', (s, v) => s.listThreads({ pageSize: v[0] as never, cursor: v[1] as never, sortKey: v[2] as never })],
  [
    'listThreads filters',
    (s, v) =>
      s.listThreads({ cwdFilters: v[0] as never, modelProviders: v[1] as never, allowedSources: v[2] as never }),
  ],
  [
    'searchThreads',
    (s, v) => s.searchThreads({ searchTerm: v[0] as never, cursor: v[1] as never, pageSize: v[2] as never }),
  ],
  [
    'updateThreadMetadata',
    (s, v) => s.updateThreadMetadata({ threadId: threadIdOf(1) as never, patch: { [String(v[0])]: v[1] } as never }),
  ],
  [
    'updateThreadMetadata dates',
    (s, v) =>
      s.updateThreadMetadata({ threadId: threadIdOf(2) as never, patch: { createdAt: new Date(Number(v[0])) } }),
  ],
  ['deleteThread', (s, v) => s.deleteThread({ threadId: v[0] as never })],
  ['archiveThread', (s, v) => s.archiveThread({ threadId: v[0] as never })],
  ['appendItems', (s, v) => s.appendItems({ threadId: v[0] as never, items: v[1] as never })],
  [
    'createThread',
    (s, v) =>
      s.createThread({
        threadId: v[0] as never,
        source: v[1] as never,
        metadata: v[2] as never,
        createdAt: v[3] as never,
      }),
  ],
];

/** Codes a bad call may answer; anything else (internal, a TypeError, a crash) is wrong. */
const FINE = new Set(['invalid_request', 'not_found', 'unsupported', 'conflict']);

async function probe(store: ThreadStore, runs: number): Promise<{ calls: number; wrong: string[] }> {
  const wrong: string[] = [];
  let calls = 0;
  const samples = fc.sample(fc.tuple(fc.nat(CALLS.length - 1), fc.array(anything, { minLength: 4, maxLength: 4 })), {
    seed: 99,
    numRuns: runs,
  });
  for (const [i, values] of samples) {
    const [name, call] = CALLS[i] as [string, Call];
    calls += 1;
    try {
      await call(store, values);
    } catch (e) {
      if (!isThreadStoreError(e) || !FINE.has(e.code))
        wrong.push(`${name}(${JSON.stringify(values).slice(0, 120)}): ${isThreadStoreError(e) ? e.code : String(e)}`);
    }
  }
  return { calls, wrong };
}

describe('hostile and bad input', () => {
  it('every call with garbage values answers a clear ThreadStoreError or succeeds (local and in-memory)', async () => {
    const runs = trials(400, 5000);
    const home = tempDir('skein-rel-hostile-');
    for (let n = 0; n < 5; n++) writeThread(home, n);
    const local = new LocalThreadStore({ home, backgroundIntegrityCheck: false });
    const memory = new InMemoryThreadStore();
    const results = [await probe(local, runs), await probe(memory, runs)];
    await local.close();
    const wrong = results.flatMap((r) => r.wrong);
    record({
      probe: 'hostile input: random values in every parameter (local and in-memory stores)',
      trials: results.reduce((n, r) => n + r.calls, 0),
      acknowledged: 0,
      lost: 0,
      wrong: wrong.length,
      maxRssMiB: selfMaxRssMiB(),
    });
    expect(wrong).toEqual([]);
  });

  it('garbage lines inside rollouts are skipped: every thread still lists, reads and searches', async () => {
    const runs = trials(40, 400);
    const garbage = fc.sample(
      fc.array(
        fc.oneof(
          fc.string({ unit: 'binary', maxLength: 300 }),
          fc.json({ maxDepth: 3 }),
          fc.constantFrom('{', '{"timestamp":', '{"type":"event_msg","payload":null}', '\u0000\u0000', '[]', 'null'),
        ),
        { maxLength: 6 },
      ),
      { seed: 5, numRuns: runs },
    );
    const home = tempDir('skein-rel-garbage-');
    garbage.forEach((lines, n) =>
      writeThread(
        home,
        n,
        lines.map((l) => l.replace(/\n/g, ' ')),
      ),
    );
    const store = new LocalThreadStore({ home, backgroundIntegrityCheck: false });
    let wrong = 0;
    try {
      const listed = await store.listThreads({ pageSize: 1000 });
      if (listed.items.length !== runs) wrong += 1;
      for (let n = 0; n < runs; n++) {
        const t = await store.readThread({ threadId: threadIdOf(n) as never, includeHistory: true });
        if (t.preview !== `question ${n}`) wrong += 1;
      }
      const found = await store.searchThreads({ searchTerm: 'answer', pageSize: 1000 });
      if (found.items.length !== runs) wrong += 1;
    } finally {
      await store.close();
    }
    record({
      probe: 'garbage rollout lines (random bytes, JSON, torn lines) between valid ones',
      trials: runs,
      acknowledged: 0,
      lost: 0,
      wrong,
      maxRssMiB: selfMaxRssMiB(),
    });
    expect(wrong).toBe(0);
  });
});
