import { collectHistory, InMemoryThreadStore, newThreadId } from '@skein/thread-store-api';
import { afterEach, describe, expect, it } from 'vitest';
import { agentMessage, createParams } from './helpers/fixtures.js';
import type { Served } from './helpers/server.js';
import { serve } from './helpers/server.js';

let served: Served | undefined;
afterEach(async () => {
  await served?.close();
  served = undefined;
});

describe('many history streams at once on one connection', () => {
  it('paused readers do not make the server refuse new streams', { timeout: 60_000 }, async () => {
    const paused = 24;
    served = await serve(new InMemoryThreadStore());
    const writer = served.client();
    const id = newThreadId();
    await writer.createThread(createParams(id));
    // ~2.4 MB: three 1 MiB chunks per stream.
    const items = Array.from({ length: 300 }, (_, i) => agentMessage(`${i}:`.padEnd(8000, 'y')));
    await writer.appendItems({ threadId: id, items });
    await writer.shutdownThread(id);
    const reader = served.client({ retry: false });
    // Each paused reader has taken one item: the server has its next 1 MiB chunk queued behind
    // flow control, 24 MiB in all, over Node's default 10 MiB of session memory (past which
    // nghttp2 refused every new stream with ENHANCE_YOUR_CALM).
    const iterators = Array.from({ length: paused }, () =>
      reader.loadHistory({ threadId: id })[Symbol.asyncIterator](),
    );
    for (const it of iterators) expect((await it.next()).done).toBe(false);
    await new Promise((r) => setTimeout(r, 200));
    const fresh = await Promise.allSettled(
      Array.from({ length: 4 }, () => collectHistory(reader.loadHistory({ threadId: id }))),
    );
    expect(fresh.flatMap((r) => (r.status === 'rejected' ? [String(r.reason)] : []))).toEqual([]);
    for (const r of fresh) if (r.status === 'fulfilled') expect(r.value.length).toBe(items.length + 1);
    // The paused ones finish too.
    for (const it of iterators) {
      let n = 1;
      while (!(await it.next()).done) n++;
      expect(n).toBe(items.length + 1);
    }
  });
});
