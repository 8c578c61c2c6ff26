import { createClient } from '@connectrpc/connect';
import { createGrpcTransport, Http2SessionManager } from '@connectrpc/connect-node';
import { collectHistory, InMemoryThreadStore, newThreadId } from '@skein/thread-store-api';
import { afterEach, describe, expect, it } from 'vitest';
import { ThreadStoreService } from '../src/gen/skein/threadstore/v1/thread_store_pb.js';
import { jsonBytes } from '../src/internal/convert/json-bytes.js';
import { createParamsToProto } from '../src/internal/convert/params.js';
import { createParams, userMessage } from './helpers/fixtures.js';
import type { Served } from './helpers/server.js';
import { serve } from './helpers/server.js';
import { waitFor } from './helpers/wait.js';

let served: Served | undefined;
const sessions: Http2SessionManager[] = [];
afterEach(async () => {
  for (const s of sessions.splice(0)) s.abort();
  await served?.close();
  served = undefined;
});

/** A plain gRPC client on its own connection that sends no skein-client-id header. */
function anonymous(url: string) {
  const sessionManager = new Http2SessionManager(url);
  sessions.push(sessionManager);
  return createClient(ThreadStoreService, createGrpcTransport({ baseUrl: url, sessionManager }));
}

const append = (threadId: string, text: string) => ({ threadId, itemsJson: [jsonBytes(userMessage(text), 'item')] });

describe('callers without a client id', () => {
  it('hold their writers by connection: others get conflict, and the lease expires when the connection goes silent', async () => {
    served = await serve(new InMemoryThreadStore(), { leaseMs: 300 });
    const a = anonymous(served.server.url);
    const b = anonymous(served.server.url);
    const id = newThreadId();
    await a.createThread(createParamsToProto(createParams(id)));
    await a.appendItems(append(id, 'from a'));
    // Another connection, also without an id, is another client.
    await expect(b.appendItems(append(id, 'from b'))).rejects.toMatchObject({ code: 9 /* FailedPrecondition */ });
    await expect(b.flushThread({ threadId: id })).rejects.toMatchObject({ code: 9 });
    // So is a RemoteThreadStore with its own id.
    const named = served.client();
    await expect(named.appendItems({ threadId: id, items: [userMessage('named')] })).rejects.toMatchObject({
      code: 'conflict',
    });
    expect((await a.heartbeat({})).liveWriters).toBe(1);
    await a.flushThread({ threadId: id });
    // a goes silent: its writer is flushed and closed, and another client can resume the thread.
    await waitFor(
      () => served!.logs.some((l) => l.event === 'lease_expired' && l.threadId === id),
      'the lease to expire',
    );
    await named.resumeThread({ threadId: id });
    await named.appendItems({ threadId: id, items: [userMessage('named')] });
    await named.shutdownThread(id);
    const texts = (await collectHistory(named.loadHistory({ threadId: id })))
      .map((i) => (i.payload as { message?: string }).message)
      .filter(Boolean);
    expect(texts).toEqual(['from a', 'named']);
  });
});
