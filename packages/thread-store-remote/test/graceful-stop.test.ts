import { isThreadStoreError, newThreadId } from '@skein/thread-store-api';
import { describe, expect, it } from 'vitest';
import { bulkyItem, createParams } from './helpers/fixtures.js';
import { serve } from './helpers/server.js';

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    return isThreadStoreError(e) ? e.code : `not a store error: ${String(e)}`;
  }
}

describe('graceful stop with hung streams', () => {
  it('finishes once shutdownTimeoutMs has passed, and the hung readers get unavailable', async () => {
    const served = await serve(undefined, { shutdownTimeoutMs: 300 });
    const writer = served.client();
    const id = newThreadId();
    await writer.createThread(createParams(id));
    await writer.appendItems({ threadId: id, items: Array.from({ length: 64 }, (_, i) => bulkyItem(i, 64 * 1024)) });
    await writer.flushThread(id);
    // Readers that took one item and stopped: their streams never finish on their own.
    const reader = served.client({ retry: false });
    const hung = Array.from({ length: 4 }, () => reader.loadHistory({ threadId: id })[Symbol.asyncIterator]());
    for (const it of hung) expect((await it.next()).done).toBe(false);

    // A stop that never ended would fail the test on its timeout.
    await served.server.close();
    const codes = await Promise.all(
      hung.map(async (it) => {
        for (;;) {
          const code = await codeOf(it.next());
          if (code !== 'ok') return code;
        }
      }),
    );
    expect(codes).toEqual(['unavailable', 'unavailable', 'unavailable', 'unavailable']);
    // The live writer was flushed and closed by the stop; new calls are unavailable.
    expect(await codeOf(writer.listThreads({}))).toBe('unavailable');
    expect(served.logs.filter((l) => l.event === 'call' && l.method === 'LoadHistory').length).toBe(4);
    await served.close();
  });
});
