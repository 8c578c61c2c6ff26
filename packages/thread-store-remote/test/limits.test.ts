import type { RolloutItem } from '@skein/thread-store-api';
import { collectHistory, isThreadStoreError, newThreadId } from '@skein/thread-store-api';
import { afterEach, describe, expect, it } from 'vitest';
import { bulkyItem, createParams, userMessage } from './helpers/fixtures.js';
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

async function liveThread(s: Served, items: RolloutItem[] = [userMessage('hi')]) {
  const store = s.client();
  const id = newThreadId();
  await store.createThread(createParams(id));
  await store.appendItems({ threadId: id, items });
  await store.flushThread(id);
  return { store, id };
}

describe('server limits', () => {
  it('refuses a message above maxMessageBytes with resource_exhausted, and keeps serving', async () => {
    served = await serve(undefined, { limits: { maxMessageBytes: 64 * 1024 } });
    const { store, id } = await liveThread(served);
    expect(await codeOf(store.appendItems({ threadId: id, items: [bulkyItem(1, 100 * 1024)] }))).toBe(
      'resource_exhausted',
    );
    await store.appendItems({ threadId: id, items: [bulkyItem(2, 1024)] });
    await store.flushThread(id);
    expect((await collectHistory(store.loadHistory({ threadId: id }))).length).toBeGreaterThanOrEqual(2);
  });

  it('refuses filter lists above maxFilterValues with invalid_request', async () => {
    served = await serve(undefined, { limits: { maxFilterValues: 3 } });
    const store = served.client();
    const four = ['a', 'b', 'c', 'd'];
    expect(await codeOf(store.listThreads({ cwdFilters: four }))).toBe('invalid_request');
    expect(await codeOf(store.listThreads({ modelProviders: four }))).toBe('invalid_request');
    expect(await codeOf(store.searchThreads({ searchTerm: 'x', cwdFilters: four }))).toBe('invalid_request');
    const sources = four.map(() => ({ kind: 'cli' as const }));
    expect(await codeOf(store.listThreads({ allowedSources: sources }))).toBe('invalid_request');
    expect(await codeOf(store.listThreads({ cwdFilters: four.slice(0, 3), modelProviders: four.slice(0, 3) }))).toBe(
      'ok',
    );
  });

  it('refuses pages above maxPageSize with invalid_request', async () => {
    served = await serve(undefined, { limits: { maxPageSize: 10 } });
    const store = served.client();
    expect(await codeOf(store.listThreads({ pageSize: 11 }))).toBe('invalid_request');
    expect(await codeOf(store.searchThreads({ pageSize: 11, searchTerm: 'x' }))).toBe('invalid_request');
    expect(await codeOf(store.listThreads({ pageSize: 10 }))).toBe('ok');
    // The API's own bounds are checked before anything is sent.
    expect(await codeOf(store.listThreads({ pageSize: 0 }))).toBe('invalid_request');
    expect(await codeOf(store.listThreads({ pageSize: 2.5 }))).toBe('invalid_request');
  });

  it('refuses appends above maxAppendItems; a client with a lower split limit stays under it, in order', async () => {
    served = await serve(undefined, { limits: { maxAppendItems: 5 } });
    const { store: big, id: id2 } = await liveThread(served);
    const items = Array.from({ length: 11 }, (_, i) => userMessage(`m${i}`));
    // Same client id as the writer's owner, other split limits.
    const bigUnsplit = served.client({ maxAppendItems: 100, clientId: big.clientId });
    expect(await codeOf(bigUnsplit.appendItems({ threadId: id2, items }))).toBe('resource_exhausted');
    const splitter = served.client({ maxAppendItems: 2, clientId: big.clientId });
    const before = served.logs.filter((l) => l.event === 'call' && l.method === 'AppendItems').length;
    await splitter.appendItems({ threadId: id2, items });
    await splitter.flushThread(id2);
    const calls = served.logs.filter((l) => l.event === 'call' && l.method === 'AppendItems').length - before;
    expect(calls).toBe(6);
    const history = await collectHistory(splitter.loadHistory({ threadId: id2 }));
    const texts = history.map((i) => (i.payload as { message?: string }).message).filter((m) => m?.startsWith('m'));
    expect(texts).toEqual(items.map((i) => (i.payload as { message: string }).message));
  });

  it('refuses a bad item before sending any part of a split batch', async () => {
    served = await serve();
    const { store, id } = await liveThread(served);
    const items = [userMessage('a'), userMessage('b'), { type: 'event_msg' } as unknown as RolloutItem];
    const splitter = served.client({ maxAppendItems: 1, clientId: store.clientId });
    expect(await codeOf(splitter.appendItems({ threadId: id, items }))).toBe('invalid_request');
    await store.flushThread(id);
    expect(
      (await collectHistory(store.loadHistory({ threadId: id }))).filter((i) => i.type === 'event_msg').length,
    ).toBe(1);
  });

  it('refuses history streams beyond maxConcurrentStreams with resource_exhausted', async () => {
    served = await serve(undefined, { limits: { maxConcurrentStreams: 2 } });
    // Enough history that an unread stream blocks on HTTP/2 flow control and stays open.
    const { store, id } = await liveThread(
      served,
      Array.from({ length: 64 }, (_, i) => bulkyItem(i, 64 * 1024)),
    );
    const open1 = await store.readThread({ threadId: id, includeHistory: true });
    const open2 = await store.readThread({ threadId: id, includeHistory: true });
    const third = store.loadHistory({ threadId: id })[Symbol.asyncIterator]();
    expect(await codeOf(third.next())).toBe('resource_exhausted');
    // Abandoning a history cancels its stream and frees the slot.
    for (const t of [open1, open2]) {
      for await (const _ of t.history!) break;
    }
    const finished = () => served!.logs.filter((l) => l.event === 'call' && l.method === 'ReadThread').length === 2;
    await waitFor(finished, 'both read streams to end on the server');
    expect((await collectHistory(store.loadHistory({ threadId: id }))).length).toBeGreaterThanOrEqual(64);
  });

  it('keeps a client within its own number of history streams: more reads than the server serves at once wait their turn', async () => {
    served = await serve(undefined, { limits: { maxConcurrentStreams: 4 } });
    const { id } = await liveThread(
      served,
      Array.from({ length: 16 }, (_, i) => bulkyItem(i, 16 * 1024)),
    );
    const store = served.client({ maxConcurrentHistoryStreams: 4 });
    const whole = await collectHistory(store.loadHistory({ threadId: id }));
    expect(whole.length).toBeGreaterThanOrEqual(16);
    const reads = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        i % 2 === 0
          ? collectHistory(store.loadHistory({ threadId: id }))
          : store.readThread({ threadId: id, includeHistory: true }).then((t) => collectHistory(t.history!)),
      ),
    );
    for (const r of reads) expect(r).toEqual(whole);
    expect(served.logs.filter((l) => l.event === 'call' && l.code === 'resource_exhausted')).toEqual([]);
  });

  it('answers resource_exhausted, not a hang, when every history stream of the client is held unread', async () => {
    served = await serve();
    const { id } = await liveThread(
      served,
      Array.from({ length: 64 }, (_, i) => bulkyItem(i, 64 * 1024)),
    );
    const store = served.client({ maxConcurrentHistoryStreams: 2, timeoutMs: 300 });
    const held = [store.loadHistory({ threadId: id }), store.loadHistory({ threadId: id })].map((h) =>
      h[Symbol.asyncIterator](),
    );
    for (const it of held) expect(await codeOf(it.next())).toBe('ok');
    const third = store.loadHistory({ threadId: id })[Symbol.asyncIterator]();
    const refused = await third.next().then(
      () => null,
      (e: unknown) => e,
    );
    expect(isThreadStoreError(refused) && refused.code).toBe('resource_exhausted');
    expect(String((refused as Error).message)).toContain('maxConcurrentHistoryStreams');
    // Giving one back lets the next read in.
    await held[0]!.return!();
    expect((await collectHistory(store.loadHistory({ threadId: id }))).length).toBeGreaterThanOrEqual(64);
    await held[1]!.return!();
  });

  it('refuses a maxConcurrentHistoryStreams that is not a whole number of at least 1', async () => {
    served = await serve();
    for (const bad of [0, -1, 1.5, Number.NaN])
      expect(() => served!.client({ maxConcurrentHistoryStreams: bad })).toThrow(/maxConcurrentHistoryStreams/);
  });

  it('refuses a tenant more than maxTenantStreams history streams, while other tenants still get theirs', async () => {
    const tokens = { 'token-of-alpha-0001': 'alpha', 'token-of-beta-00001': 'beta' };
    served = await serve(undefined, { auth: { tokens }, limits: { maxConcurrentStreams: 8, maxTenantStreams: 2 } });
    const items = Array.from({ length: 64 }, (_, i) => bulkyItem(i, 64 * 1024));
    const opened: { alpha: AsyncIterator<RolloutItem>[]; beta: AsyncIterator<RolloutItem>[] } = { alpha: [], beta: [] };
    const stores = {
      alpha: served.client({ token: 'token-of-alpha-0001' }),
      beta: served.client({ token: 'token-of-beta-00001' }),
    };
    const ids = { alpha: newThreadId(), beta: newThreadId() };
    for (const tenant of ['alpha', 'beta'] as const) {
      await stores[tenant].createThread(createParams(ids[tenant]));
      await stores[tenant].appendItems({ threadId: ids[tenant], items });
      await stores[tenant].flushThread(ids[tenant]);
    }
    const open = async (tenant: 'alpha' | 'beta'): Promise<string> => {
      const it = stores[tenant].loadHistory({ threadId: ids[tenant] })[Symbol.asyncIterator]();
      const code = await codeOf(it.next());
      if (code === 'ok') opened[tenant].push(it);
      return code;
    };
    // Each paused stream has more history queued than HTTP/2 lets through: it stays open.
    expect([await open('alpha'), await open('alpha'), await open('alpha')]).toEqual(['ok', 'ok', 'resource_exhausted']);
    expect([await open('beta'), await open('beta'), await open('beta')]).toEqual(['ok', 'ok', 'resource_exhausted']);
    // One of alpha's ends: alpha may open one again, and still not a third.
    await opened.alpha.shift()!.return!();
    const ended = () =>
      served!.logs.filter((l) => l.event === 'call' && l.method === 'LoadHistory' && l.code === 'cancelled').length ===
      1;
    await waitFor(ended, "alpha's abandoned stream to end on the server");
    expect([await open('alpha'), await open('alpha')]).toEqual(['ok', 'resource_exhausted']);
    for (const it of [...opened.alpha, ...opened.beta]) await it.return!();
  });

  it('releases the stream of a history nobody reads, and still serves it when read later', async () => {
    served = await serve(undefined, { limits: { maxConcurrentStreams: 1 } });
    const items = Array.from({ length: 64 }, (_, i) => bulkyItem(i, 64 * 1024));
    const { id } = await liveThread(served, items);
    const store = served.client({ timeoutMs: 300 });
    const read = await store.readThread({ threadId: id, includeHistory: true });
    const ended = () => served!.logs.some((l) => l.event === 'call' && l.method === 'ReadThread');
    await waitFor(ended, 'the unread stream to be released');
    // The slot is free again, and the history is still all there.
    expect((await collectHistory(store.loadHistory({ threadId: id }))).length).toBeGreaterThanOrEqual(64);
    expect(await collectHistory(read.history)).toEqual(await collectHistory(store.loadHistory({ threadId: id })));
  });

  it('a paused history reader does not stall other calls on the same connection', async () => {
    served = await serve();
    const { store, id } = await liveThread(
      served,
      Array.from({ length: 64 }, (_, i) => bulkyItem(i, 64 * 1024)),
    );
    const paused = store.loadHistory({ threadId: id })[Symbol.asyncIterator]();
    await paused.next();
    const read = await store.readThread({ threadId: id, includeHistory: true });
    await expect(store.listThreads({})).resolves.toMatchObject({ items: expect.any(Array) });
    expect((await collectHistory(read.history)).length).toBeGreaterThanOrEqual(64);
    await paused.return?.(undefined);
  });
});
