import { Code, createClient } from '@connectrpc/connect';
import { createConnectTransport } from '@connectrpc/connect-node';
import { InMemoryThreadStore } from '@skein/thread-store-api';
import { afterEach, describe, expect, it, onTestFinished } from 'vitest';
import { ThreadStoreService } from '../src/gen/skein/threadstore/v1/thread_store_pb.js';
import { agentMessage, createParams, userMessage } from './helpers/fixtures.js';
import type { Served } from './helpers/server.js';
import { serve } from './helpers/server.js';

let served: Served | undefined;
afterEach(async () => {
  await served?.close();
  served = undefined;
});

describe('WatchThread', () => {
  it('sends the state now, then after every append and rename, over HTTP/1.1 as a browser would', async () => {
    const backend = new InMemoryThreadStore();
    served = await serve(backend);
    const { threadId } = createParams();
    await backend.createThread(createParams(threadId));
    await backend.appendItems({ threadId, items: [userMessage('first')] });
    await backend.flushThread(threadId);
    // The Connect protocol over HTTP/1.1: what connect-web sends from a page.
    const client = createClient(
      ThreadStoreService,
      createConnectTransport({ baseUrl: served.server.url, httpVersion: '1.1' }),
    );
    const abort = new AbortController();
    onTestFinished(() => abort.abort());
    const stream = client.watchThread({ threadId }, { signal: abort.signal })[Symbol.asyncIterator]();
    const first = (await stream.next()).value!;
    expect(first.lastItemOrdinal).toBeDefined();
    expect(first.name).toBeUndefined();

    await backend.appendItems({ threadId, items: [agentMessage('second')] });
    await backend.flushThread(threadId);
    const second = (await stream.next()).value!;
    expect(second.lastItemOrdinal!).toBeGreaterThan(first.lastItemOrdinal!);

    await backend.updateThreadMetadata({ threadId, patch: { name: 'watched' } });
    const third = (await stream.next()).value!;
    expect(third.name).toBe('watched');

    abort.abort();
    await expect(stream.next()).rejects.toThrow(/abort|cancel/i);
  });

  it('ends with not_found when the thread is deleted while it is watched', async () => {
    const backend = new InMemoryThreadStore();
    served = await serve(backend);
    const { threadId } = createParams();
    await backend.createThread(createParams(threadId));
    await backend.appendItems({ threadId, items: [userMessage('doomed')] });
    await backend.flushThread(threadId);
    const client = createClient(
      ThreadStoreService,
      createConnectTransport({ baseUrl: served.server.url, httpVersion: '2' }),
    );
    const abort = new AbortController();
    const stream = client.watchThread({ threadId }, { signal: abort.signal })[Symbol.asyncIterator]();
    try {
      await stream.next();
      await backend.shutdownThread(threadId);
      await backend.deleteThread({ threadId });
      await expect(stream.next()).rejects.toMatchObject({ code: Code.NotFound });
    } finally {
      abort.abort();
    }
  });
});
