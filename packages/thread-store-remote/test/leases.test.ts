import { createClient } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { collectHistory, isThreadStoreError, newThreadId } from '@skein/thread-store-api';
import { afterEach, describe, expect, it } from 'vitest';
import { ThreadStoreService } from '../src/gen/skein/threadstore/v1/thread_store_pb.js';
import { CLIENT_ID_HEADER } from '../src/index.js';
import { createParams, userMessage } from './helpers/fixtures.js';
import type { Served } from './helpers/server.js';
import { serve } from './helpers/server.js';
import { waitFor } from './helpers/wait.js';

let served: Served | undefined;
afterEach(async () => {
  await served?.close();
  served = undefined;
});

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    return isThreadStoreError(e) ? e.code : `not a store error: ${String(e)}`;
  }
}

/** A bare protocol client that never sends heartbeats: a client process that went away. */
function silentClient(url: string, clientId: string) {
  const transport = createGrpcTransport({
    baseUrl: url,
    interceptors: [
      (next) => (req) => {
        req.header.set(CLIENT_ID_HEADER, clientId);
        return next(req);
      },
    ],
  });
  return createClient(ThreadStoreService, transport);
}

const enc = new TextEncoder();

describe('live-writer leases', () => {
  it('lets only the owning client use a live writer', async () => {
    served = await serve();
    const owner = served.client();
    const other = served.client();
    const id = newThreadId();
    await owner.createThread(createParams(id));
    expect(await codeOf(other.appendItems({ threadId: id, items: [userMessage('x')] }))).toBe('conflict');
    expect(await codeOf(other.shutdownThread(id))).toBe('conflict');
    expect(await codeOf(other.resumeThread({ threadId: id }))).toBe('conflict');
    await owner.appendItems({ threadId: id, items: [userMessage('mine')] });
    await owner.shutdownThread(id);
    // Once released, anyone may resume.
    await other.resumeThread({ threadId: id });
    await other.appendItems({ threadId: id, items: [userMessage('yours')] });
    await other.shutdownThread(id);
  });

  it('flushes and closes the writers of a silent client when its lease expires; another client resumes', async () => {
    served = await serve(undefined, { leaseMs: 1000 });
    const gone = silentClient(served.server.url, 'client-that-vanished');
    const id = newThreadId();
    const p = createParams(id);
    await gone.createThread({
      threadId: id,
      source: { kind: 1 },
      metadata: { cwd: p.metadata.cwd, modelProvider: 'openai' },
    });
    const item = (t: string) => enc.encode(JSON.stringify(userMessage(t)));
    await gone.appendItems({ threadId: id, itemsJson: [item('flushed')] });
    await gone.flushThread({ threadId: id });
    await gone.appendItems({ threadId: id, itemsJson: [item('appended, not flushed')] });
    const logs = served.logs;
    await waitFor(() => logs.some((l) => l.event === 'lease_expired' && l.threadId === id), 'the lease to expire');
    // The vanished client, coming back, is told what happened.
    const late = await gone.appendItems({ threadId: id, itemsJson: [item('late')] }).catch((e: Error) => e);
    expect(late).toBeInstanceOf(Error);
    expect((late as Error).message).toMatch(/lease expired/);
    const next = served.client();
    await next.resumeThread({ threadId: id });
    const texts = (await collectHistory(next.loadHistory({ threadId: id })))
      .map((i) => (i.payload as { message?: string }).message)
      .filter(Boolean);
    expect(texts).toEqual(['flushed', 'appended, not flushed']);
    await next.shutdownThread(id);
  });

  it('keeps the writers of a client that heartbeats', async () => {
    served = await serve(undefined, { leaseMs: 2400 });
    const store = served.client();
    const id = newThreadId();
    await store.createThread(createParams(id));
    // Several lease lengths of silence from the caller: only heartbeats keep the writer.
    await new Promise((r) => setTimeout(r, 6000));
    expect(served.logs.some((l) => l.event === 'lease_expired')).toBe(false);
    expect(served.logs.filter((l) => l.event === 'call' && l.method === 'Heartbeat').length).toBeGreaterThan(0);
    await store.appendItems({ threadId: id, items: [userMessage('still mine')] });
    await store.shutdownThread(id);
  }, 30_000);

  it('shuts down its live writers when the client closes', async () => {
    served = await serve();
    const store = served.client();
    const id = newThreadId();
    await store.createThread(createParams(id));
    await store.appendItems({ threadId: id, items: [userMessage('kept')] });
    await store.close();
    const other = served.client();
    await other.resumeThread({ threadId: id });
    const history = await collectHistory(other.loadHistory({ threadId: id }));
    expect(history.some((i) => (i.payload as { message?: string }).message === 'kept')).toBe(true);
    expect(await codeOf(store.listThreads({}))).toBe('invalid_request');
  });
});
