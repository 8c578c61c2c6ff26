import { InMemoryThreadStore, isThreadStoreError, loadHistoryItems, newThreadId } from '@skein/thread-store-api';
import type { ThreadStore } from '@skein/thread-store-api';
import { afterEach, describe, expect, it } from 'vitest';
import { RemoteThreadStore } from '../src/index.js';
import { endsWith } from '../src/internal/client/endpoints.js';
import { agentMessage, createParams, userMessage } from './helpers/fixtures.js';
import type { Served } from './helpers/server.js';
import { serve } from './helpers/server.js';

// Several servers over one backend store: a fleet in one process (the shared backend plays the
// shared database; each server keeps its own leases and flushes its writers when it stops).
const fleet: Served[] = [];
const clients: RemoteThreadStore[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close().catch(() => undefined)));
  await Promise.all(fleet.splice(0).map((s) => s.close().catch(() => undefined)));
});

async function startFleet(n: number): Promise<{ backend: ThreadStore; servers: Served[] }> {
  const backend = new InMemoryThreadStore();
  // The backend is shared: only the test closes it.
  const shared: ThreadStore = Object.assign(Object.create(backend) as ThreadStore, { close: () => Promise.resolve() });
  for (let i = 0; i < n; i += 1) fleet.push(await serve(shared));
  return { backend, servers: fleet };
}

function client(baseUrl: string | string[], extra: Partial<ConstructorParameters<typeof RemoteThreadStore>[0]> = {}) {
  const c = new RemoteThreadStore({ baseUrl, timeoutMs: 10_000, failoverWaitMs: 5_000, ...extra });
  clients.push(c);
  return c;
}

const messages = async (store: ThreadStore, threadId: ReturnType<typeof newThreadId>): Promise<string[]> =>
  (await loadHistoryItems(store, { threadId }))
    .map((i) => (i.payload as { message?: unknown }).message)
    .filter((m): m is string => typeof m === 'string');

describe('RemoteThreadStore with several servers', () => {
  it('takes a comma list or an array, and refuses a bad entry or an empty list', () => {
    expect(() => client('http://127.0.0.1:1, http://127.0.0.1:2')).not.toThrow();
    for (const bad of ['http://127.0.0.1:1,ftp://x', 'http://127.0.0.1:1,not a url', [] as string[]]) {
      let err: unknown;
      try {
        client(bad);
      } catch (e) {
        err = e;
      }
      expect(isThreadStoreError(err, 'invalid_request'), String(err)).toBe(true);
    }
    expect(() => client('http://127.0.0.1:1', { failoverWaitMs: -1 })).toThrow(/failoverWaitMs/);
  });

  it('retries a read on the next server when the first is gone, even with retries turned off', async () => {
    const { servers } = await startFleet(2);
    const [a, b] = servers as [Served, Served];
    const threadId = newThreadId();
    const writer = b.client();
    await writer.createThread(createParams(threadId));
    await writer.appendItems({ threadId, items: [userMessage('hello fleet')] });
    await writer.shutdownThread(threadId);
    await a.close();
    const c = client([a.server.url, b.server.url], { retry: false });
    const page = await c.listThreads({});
    expect(page.items.map((t) => t.threadId)).toEqual([threadId]);
    expect(await messages(c, threadId)).toEqual(['hello fleet']);
  });

  it('moves a live writer to the next server when its server stops: nothing appended twice, nothing lost', async () => {
    const { backend, servers } = await startFleet(3);
    const [a, b, c3] = servers as [Served, Served, Served];
    const c = client([a.server.url, b.server.url, c3.server.url]);
    const threadId = newThreadId();
    await c.createThread(createParams(threadId));
    await c.appendItems({ threadId, items: [userMessage('x')] });
    await c.flushThread(threadId);
    // y is appended but not flushed; the server flushes its writers as it stops.
    await c.appendItems({ threadId, items: [agentMessage('y')] });
    await a.close();
    // The flush finds its server gone, resumes the writer on b, sees y already stored.
    await c.flushThread(threadId);
    expect(await messages(backend, threadId)).toEqual(['x', 'y']);
    // w is appended on b, b stops (flushing w); the append of v moves to the third server.
    await c.appendItems({ threadId, items: [agentMessage('w')] });
    await b.close();
    await c.appendItems({ threadId, items: [agentMessage('v')] });
    await c.flushThread(threadId);
    await c.shutdownThread(threadId);
    expect(await messages(backend, threadId)).toEqual(['x', 'y', 'w', 'v']);
  });

  it('a writer with nowhere to go fails with unavailable', async () => {
    const { servers } = await startFleet(2);
    const [a, b] = servers as [Served, Served];
    const c = client([a.server.url, b.server.url], { failoverWaitMs: 300 });
    const threadId = newThreadId();
    await c.createThread(createParams(threadId));
    await c.appendItems({ threadId, items: [userMessage('x')] });
    await a.close();
    await b.close();
    const err: unknown = await c.flushThread(threadId).catch((e: unknown) => e);
    expect(isThreadStoreError(err, 'unavailable'), String(err)).toBe(true);
  });

  it('endsWith compares the tail of a history with what was sent, a timestamp the store added aside', () => {
    const sent = [{ type: 'event_msg', payload: { type: 'agent_message', message: 'a' } }];
    const stored = [{ ...sent[0], timestamp: '2026-01-01T00:00:00Z' }];
    expect(endsWith([{ other: 1 }, ...stored], sent)).toBe(true);
    expect(endsWith(stored, [{ ...sent[0], timestamp: '2025-01-01T00:00:00Z' }])).toBe(false);
    expect(endsWith([], sent)).toBe(false);
    expect(endsWith([{ type: 'event_msg', payload: { type: 'agent_message', message: 'b' } }], sent)).toBe(false);
  });
});
