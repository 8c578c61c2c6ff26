import { collectHistory, newThreadId } from '@skein/thread-store-api';
import { afterEach, describe, expect, it } from 'vitest';
import { createParams, userMessage } from './helpers/fixtures.js';
import type { Served } from './helpers/server.js';
import { serve } from './helpers/server.js';

let served: Served | undefined;
afterEach(async () => {
  await served?.close();
  served = undefined;
});

describe.each(['grpc', 'connect', 'grpc-web'] as const)('round trip over %s', (protocol) => {
  it('creates, appends, flushes, reads and lists a thread', async () => {
    served = await serve();
    const store = served.client({ protocol });
    const id = newThreadId();
    await store.createThread(createParams(id));
    await store.appendItems({ threadId: id, items: [userMessage('hello remote')] });
    await store.flushThread(id);
    const read = await store.readThread({ threadId: id, includeHistory: true });
    expect(read.threadId).toBe(id);
    expect(read.preview === '' || read.preview === 'hello remote').toBe(true);
    expect(read.rolloutPath).toBeNull();
    const history = await collectHistory(read.history);
    expect(history.some((i) => i.type === 'event_msg')).toBe(true);
    const loaded = await collectHistory(store.loadHistory({ threadId: id }));
    expect(loaded).toEqual(history);
  });
});
