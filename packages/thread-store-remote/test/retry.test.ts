import type {
  LoadHistoryParams,
  ReadThreadParams,
  RolloutItem,
  StoredThreadWithHistory,
} from '@skein/thread-store-api';
import {
  collectHistory,
  InMemoryThreadStore,
  isThreadStoreError,
  newThreadId,
  ThreadStoreError,
} from '@skein/thread-store-api';
import { afterEach, describe, expect, it } from 'vitest';
import { createParams, userMessage } from './helpers/fixtures.js';
import type { Served } from './helpers/server.js';
import { serve } from './helpers/server.js';

/** A store whose history streams break with `unavailable` after `breakAfter` items, `breaks` times. */
class FlakyStore extends InMemoryThreadStore {
  breaks = 0;
  breakAfter = 0;
  listFailures = 0;
  override async flushThread(): Promise<void> {
    throw new ThreadStoreError('unavailable', 'the disk is busy');
  }
  private async *flaky(history: AsyncIterable<RolloutItem>): AsyncGenerator<RolloutItem> {
    let n = 0;
    for await (const item of history) {
      if (this.breaks > 0 && n === this.breakAfter) {
        this.breaks--;
        throw new ThreadStoreError('unavailable', 'the disk went away for a moment');
      }
      n++;
      yield item;
    }
  }
  override loadHistory(params: LoadHistoryParams): AsyncIterable<RolloutItem> {
    return this.flaky(super.loadHistory(params));
  }
  override async readThread(params: ReadThreadParams): Promise<StoredThreadWithHistory> {
    const t = await super.readThread(params);
    return t.history ? { ...t, history: this.flaky(t.history) } : t;
  }
  override async listThreads(params: Parameters<InMemoryThreadStore['listThreads']>[0]) {
    if (this.listFailures > 0) {
      this.listFailures--;
      throw new ThreadStoreError('unavailable', 'the index is reopening');
    }
    return super.listThreads(params);
  }
}

let served: Served | undefined;
afterEach(async () => {
  await served?.close();
  served = undefined;
});

const texts = (items: RolloutItem[]) => items.map((i) => (i.payload as { message?: string }).message).filter(Boolean);

async function threadWith(s: Served, n: number) {
  const store = s.client({ retry: { maxAttempts: 3, initialDelayMs: 1 } });
  const id = newThreadId();
  await store.createThread(createParams(id));
  await store.appendItems({ threadId: id, items: Array.from({ length: n }, (_, i) => userMessage(`m${i}`)) });
  await store.shutdownThread(id);
  return { store, id };
}

describe('reads are retried on unavailable', () => {
  it('a broken history stream resumes at the first item not yet delivered', async () => {
    const backend = new FlakyStore();
    served = await serve(backend, { limits: { historyChunkItems: 3 } });
    const { store, id } = await threadWith(served, 20);
    const expected = texts(await collectHistory(backend.loadHistory({ threadId: id })));
    backend.breaks = 2;
    backend.breakAfter = 7;
    expect(texts(await collectHistory(store.loadHistory({ threadId: id })))).toEqual(expected);
    expect(backend.breaks).toBe(0);
  });

  it('a broken readThread history continues through LoadHistory', async () => {
    const backend = new FlakyStore();
    served = await serve(backend, { limits: { historyChunkItems: 2 } });
    const { store, id } = await threadWith(served, 12);
    const expected = texts(await collectHistory(backend.loadHistory({ threadId: id })));
    backend.breaks = 1;
    backend.breakAfter = 5;
    const read = await store.readThread({ threadId: id, includeHistory: true });
    expect(texts(await collectHistory(read.history))).toEqual(expected);
  });

  it('gives up after maxAttempts, and never retries a write', async () => {
    const backend = new FlakyStore();
    served = await serve(backend);
    const { store } = await threadWith(served, 1);
    backend.listFailures = 2;
    await expect(store.listThreads({})).resolves.toMatchObject({ items: expect.any(Array) });
    backend.listFailures = 5;
    const e = await store.listThreads({}).catch((x: unknown) => x);
    expect(isThreadStoreError(e, 'unavailable')).toBe(true);
    expect(backend.listFailures).toBe(2);
    // A write failing with unavailable is attempted exactly once.
    const before = served.logs.filter((l) => l.event === 'call' && l.method === 'FlushThread').length;
    expect(isThreadStoreError(await store.flushThread(newThreadId()).catch((x: unknown) => x), 'unavailable')).toBe(
      true,
    );
    expect(served.logs.filter((l) => l.event === 'call' && l.method === 'FlushThread').length - before).toBe(1);
  });
});
