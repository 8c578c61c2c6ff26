import { createClient } from '@connectrpc/connect';
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
  Http2SessionManager,
} from '@connectrpc/connect-node';
import type { RolloutItem } from '@skein/thread-store-api';
import { collectHistory, InMemoryThreadStore, newThreadId } from '@skein/thread-store-api';
import { afterEach, describe, expect, it } from 'vitest';
import { ThreadStoreService } from '../src/gen/skein/threadstore/v1/thread_store_pb.js';
import { listParamsToProto } from '../src/internal/convert/params.js';
import { agentMessage, bulkyItem, createParams, userMessage } from './helpers/fixtures.js';
import type { Served } from './helpers/server.js';
import { serve } from './helpers/server.js';

// A page of threads is written to bytes ahead of the framework for binary answers; JSON answers
// take the messages. Every format must carry the same page, and the same history items.

let served: Served | undefined;
const sessions: Http2SessionManager[] = [];
afterEach(async () => {
  for (const s of sessions.splice(0)) s.abort();
  await served?.close();
  served = undefined;
});

const decoder = new TextDecoder();

describe('every wire format carries the same answers', () => {
  it.each([
    ['gRPC', 'grpc', true],
    ['gRPC-Web binary', 'grpc-web', true],
    ['gRPC-Web JSON', 'grpc-web', false],
    ['Connect binary', 'connect', true],
    ['Connect JSON', 'connect', false],
  ] as const)('%s', async (_name, protocol, binary) => {
    served = await serve(new InMemoryThreadStore());
    const remote = served.client();
    const ids = [];
    for (let i = 0; i < 3; i++) {
      const id = newThreadId();
      ids.push(id);
      await remote.createThread(createParams(id));
      await remote.appendItems({ threadId: id, items: [userMessage(`héllo ${i} 👋`), agentMessage('ok')] });
      await remote.flushThread(id);
    }
    const big = ids[0]!;
    // More than one chunk (1 MiB each), some items with multi-byte text.
    const items: RolloutItem[] = Array.from({ length: 40 }, (_, i) =>
      i % 3 === 0 ? userMessage(`${i} ${'é'.repeat(30_000)}`) : bulkyItem(i, 60_000),
    );
    await remote.appendItems({ threadId: big, items });
    await remote.flushThread(big);
    const expectedPage = await remote.listThreads({ pageSize: 2 });
    const expectedHistory = await collectHistory(remote.loadHistory({ threadId: big }));
    // The session meta line, the two messages and the appended items.
    expect(expectedHistory).toHaveLength(43);

    const session = new Http2SessionManager(served.server.url);
    sessions.push(session);
    const common = { baseUrl: served.server.url, httpVersion: '2' as const, sessionManager: session };
    const transport =
      protocol === 'grpc'
        ? createGrpcTransport(common)
        : protocol === 'grpc-web'
          ? createGrpcWebTransport({ ...common, useBinaryFormat: binary })
          : createConnectTransport({ ...common, useBinaryFormat: binary });
    const raw = createClient(ThreadStoreService, transport);
    const page = await raw.listThreads(listParamsToProto({ pageSize: 2 }));
    expect(page.threads.map((t) => t.threadId)).toEqual(expectedPage.items.map((t) => t.threadId));
    expect(page.threads.map((t) => t.preview)).toEqual(expectedPage.items.map((t) => t.preview));
    expect(page.nextCursor).toBe(expectedPage.nextCursor ?? undefined);

    const history: unknown[] = [];
    let chunks = 0;
    for await (const res of raw.loadHistory({ threadId: big, skipItems: 0n })) {
      chunks++;
      for (const b of res.chunk?.itemsJson ?? []) history.push(JSON.parse(decoder.decode(b)));
    }
    expect(chunks).toBeGreaterThan(1);
    expect(history).toEqual(expectedHistory);

    const read: unknown[] = [];
    let first: string | undefined;
    for await (const res of raw.readThread({ threadId: big, includeHistory: true })) {
      if (res.part.case === 'thread') first = res.part.value.threadId;
      if (res.part.case === 'history')
        for (const b of res.part.value.itemsJson) read.push(JSON.parse(decoder.decode(b)));
    }
    expect(first).toBe(big);
    expect(read).toEqual(expectedHistory);
  });
});
