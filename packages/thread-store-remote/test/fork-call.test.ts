import { Code, ConnectError, createClient } from '@connectrpc/connect';
import { createConnectTransport } from '@connectrpc/connect-node';
import { InMemoryThreadStore, newThreadId } from '@skein/thread-store-api';
import type { ThreadId } from '@skein/thread-store-api';
import { afterEach, describe, expect, it } from 'vitest';
import { ThreadStoreService } from '../src/gen/skein/threadstore/v1/thread_store_pb.js';
import { createParams, userMessage } from './helpers/fixtures.js';
import type { Served } from './helpers/server.js';
import { serve } from './helpers/server.js';

let served: Served | undefined;
afterEach(async () => {
  await served?.close();
  served = undefined;
});

async function seeded(backend: InMemoryThreadStore): Promise<ThreadId> {
  const { threadId } = createParams();
  await backend.createThread(createParams(threadId));
  await backend.appendItems({ threadId, items: [userMessage('one'), userMessage('two')] });
  await backend.flushThread(threadId);
  await backend.shutdownThread(threadId);
  return threadId;
}

const clientOf = (url: string) =>
  createClient(ThreadStoreService, createConnectTransport({ baseUrl: url, httpVersion: '2' }));

describe('ForkThread', () => {
  it('is unsupported on a server started without a fork function', async () => {
    const backend = new InMemoryThreadStore();
    served = await serve(backend);
    const threadId = await seeded(backend);
    const err = await clientOf(served.server.url)
      .forkThread({ threadId, turns: 1 })
      .catch((e: unknown) => ConnectError.from(e));
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).rawMessage).toMatch(/forkThread is not supported/);
  });

  it("calls the server's fork function with the caller's store, id and turns, and returns its thread", async () => {
    const backend = new InMemoryThreadStore();
    const calls: unknown[] = [];
    served = await serve(backend, {
      // A fork that copies the first user message into a new thread of the same store.
      forkThread: async (store, params) => {
        calls.push({ sameStore: store === backend, ...params });
        const forkId = newThreadId();
        await store.createThread({ ...createParams(forkId), forkedFromId: params.threadId });
        await store.appendItems({ threadId: forkId, items: [userMessage('one')] });
        await store.flushThread(forkId);
        await store.shutdownThread(forkId);
        return store.readThread({ threadId: forkId });
      },
    });
    const threadId = await seeded(backend);
    const client = clientOf(served.server.url);
    const { thread } = await client.forkThread({ threadId, turns: 1 });
    expect(thread?.forkedFromId).toBe(threadId);
    expect(calls).toEqual([{ sameStore: true, threadId, turns: 1 }]);
    // Keeping no turn, or a malformed id, is refused before the fork function runs.
    await expect(client.forkThread({ threadId, turns: 0 })).rejects.toMatchObject({ code: Code.InvalidArgument });
    await expect(client.forkThread({ threadId: 'nope' })).rejects.toMatchObject({ code: Code.InvalidArgument });
    expect(calls).toHaveLength(1);
  });
});
