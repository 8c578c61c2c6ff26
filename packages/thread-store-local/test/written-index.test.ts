import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { newThreadId } from '@skein/thread-store-api';
import type { RolloutItem, ThreadId } from '@skein/thread-store-api';
import { LocalThreadStore } from '../src/index.js';
import { ThreadIndex } from '../src/internal/indexer.js';
import { WrittenIndexer } from '../src/internal/written-index.js';

const root = mkdtempSync(path.join(tmpdir(), 'skein-written-index-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

const ask = (text: string): RolloutItem => ({ type: 'event_msg', payload: { type: 'user_message', message: text } });

/** A stand-in index whose passes end when the test says so. */
function fakeIndex(): { index: ThreadIndex; calls: { paths: string[]; at: number }[]; endPass: () => void } {
  const calls: { paths: string[]; at: number }[] = [];
  let end: (() => void) | null = null;
  const index = {
    syncPaths: (paths: ReadonlySet<string>) => {
      calls.push({ paths: [...paths].sort(), at: performance.now() });
      return new Promise<void>((resolve) => (end = resolve));
    },
  } as unknown as ThreadIndex;
  return {
    index,
    calls,
    endPass: () => {
      const e = end;
      end = null;
      e?.();
    },
  };
}

describe('WrittenIndexer', () => {
  it('indexes the files of the rounds that ended during a pass together, in the next pass, no sooner than the gap', async () => {
    // The clock is the test's: the gap is checked exactly, whatever the machine's load.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    try {
      const fake = fakeIndex();
      const indexer = new WrittenIndexer({ index: () => fake.index, closed: () => false }, 80);
      indexer.add(['/h/a']);
      await vi.advanceTimersByTimeAsync(0);
      expect(fake.calls).toHaveLength(1);
      // Three rounds end while the first pass runs.
      indexer.add(['/h/b']);
      indexer.add(['/h/c', '/h/b']);
      indexer.add(['/h/a']);
      fake.endPass();
      await vi.advanceTimersByTimeAsync(79);
      expect(fake.calls).toHaveLength(1);
      await vi.advanceTimersByTimeAsync(1);
      expect(fake.calls).toHaveLength(2);
      expect(fake.calls[1]!.at - fake.calls[0]!.at).toBe(80);
      fake.endPass();
      await indexer.idle();
      expect(fake.calls.map((c) => c.paths)).toEqual([['/h/a'], ['/h/a', '/h/b', '/h/c']]);
      expect(indexer.passes).toBe(2);
    } finally {
      vi.useRealTimers();
    }
  });

  it('keeps nothing before the first listing (no index) or once its store closed', async () => {
    const fake = fakeIndex();
    let index: ThreadIndex | null = null;
    let closed = false;
    const indexer = new WrittenIndexer({ index: () => index, closed: () => closed }, 0);
    indexer.add(['/h/a']);
    await indexer.idle();
    expect(fake.calls).toHaveLength(0);
    index = fake.index;
    indexer.add(['/h/b']);
    closed = true; // closed before the pass started: its queue is dropped
    await indexer.idle();
    expect(fake.calls).toHaveLength(0);
    indexer.add(['/h/c']);
    await indexer.idle();
    expect(fake.calls).toHaveLength(0);
  });
});

describe('LocalThreadStore: listings after flushes', () => {
  it('a listing and a search right after a flush see what it wrote, whether or not the background pass ran', async () => {
    const home = mkdtempSync(path.join(root, 'home-'));
    const store = new LocalThreadStore({ home });
    try {
      const ids: ThreadId[] = Array.from({ length: 3 }, () => newThreadId());
      for (const threadId of ids)
        await store.createThread({
          threadId,
          source: { kind: 'cli' },
          metadata: { cwd: '/w', modelProvider: 'openai' },
        });
      await store.listThreads({}); // the index exists from here on
      for (let round = 0; round < 3; round += 1) {
        for (const threadId of ids) await store.appendItems({ threadId, items: [ask(`round${round} of ${threadId}`)] });
        await Promise.all(ids.map((threadId) => store.flushThread(threadId)));
        const page = await store.listThreads({});
        expect(Object.fromEntries(page.items.map((t) => [t.threadId, t.preview]))).toEqual(
          Object.fromEntries(ids.map((threadId) => [threadId, `round0 of ${threadId}`])),
        );
        const found = await store.searchThreads({ searchTerm: `round${round} of ${ids[1]!}` });
        expect(found.items.map((r) => r.thread.threadId)).toEqual([ids[1]]);
      }
    } finally {
      await store.close();
    }
  });

  it('close waits for a background pass under way; the next open lists what was flushed', async () => {
    const home = mkdtempSync(path.join(root, 'home-'));
    const threadId = newThreadId();
    const store = new LocalThreadStore({ home });
    await store.createThread({ threadId, source: { kind: 'cli' }, metadata: { cwd: '/w', modelProvider: 'openai' } });
    await store.listThreads({});
    const original = ThreadIndex.prototype.syncPaths;
    const settled: boolean[] = [];
    vi.spyOn(ThreadIndex.prototype, 'syncPaths').mockImplementation(function (this: ThreadIndex, ...args) {
      const i = settled.push(false) - 1;
      return original.apply(this, args).finally(() => (settled[i] = true));
    });
    // The round cannot index what it wrote itself: the background pass reads the file.
    vi.spyOn(ThreadIndex.prototype, 'indexAppended').mockImplementation((runs) => runs.map((r) => r.path));
    await store.appendItems({ threadId, items: [ask('before close')] });
    await store.flushThread(threadId);
    await vi.waitFor(() => expect(settled).toHaveLength(1));
    await store.close();
    expect(settled).toEqual([true]);
    vi.restoreAllMocks();
    const again = new LocalThreadStore({ home });
    try {
      const page = await again.listThreads({});
      expect(page.items.map((t) => t.preview)).toEqual(['before close']);
    } finally {
      await again.close();
    }
  });
});
