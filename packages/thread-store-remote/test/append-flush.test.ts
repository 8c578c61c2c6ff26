import * as http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { createClient } from '@connectrpc/connect';
import type { Interceptor } from '@connectrpc/connect';
import { connectNodeAdapter, createGrpcTransport, Http2SessionManager } from '@connectrpc/connect-node';
import type { RolloutItem, ThreadId } from '@skein/thread-store-api';
import { collectHistory, InMemoryThreadStore, newThreadId, ThreadStoreError } from '@skein/thread-store-api';
import { afterEach, describe, expect, it } from 'vitest';
import type { AppendItemsRequest, AppendItemsResponse } from '../src/gen/skein/threadstore/v1/thread_store_pb.js';
import { ThreadStoreService } from '../src/gen/skein/threadstore/v1/thread_store_pb.js';
import type { ServerLogEntry } from '../src/index.js';
import { CLIENT_ID_HEADER, createThreadStoreHandler, RemoteThreadStore } from '../src/index.js';
import { createParams, userMessage } from './helpers/fixtures.js';

/** An in-memory store (readers see only flushed items) that counts its flushes and can fail them. */
class CountingStore extends InMemoryThreadStore {
  flushes = 0;
  failFlushes = false;
  override async flushThread(threadId: ThreadId): Promise<void> {
    this.flushes += 1;
    if (this.failFlushes) throw ThreadStoreError.internal('the disk is full');
    return super.flushThread(threadId);
  }
}

/**
 * What a server from before AppendItems' `flush` field does: it decodes the request without the
 * field (as if false) and answers without `flushed`.
 */
const withoutFlushField: Interceptor = (next) => async (req) => {
  if (req.method.name !== 'AppendItems' || req.stream) return next(req);
  (req.message as AppendItemsRequest).flush = false;
  const res = await next(req);
  if (!res.stream) (res.message as AppendItemsResponse).flushed = false;
  return res;
};

interface Running {
  url: string;
  store: CountingStore;
  /** Methods of the calls served, in order. */
  calls: string[];
  client(): RemoteThreadStore;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A real HTTP/2 server on 127.0.0.1:0 over a counting store; `old` serves as a server without the field. */
async function start(old = false): Promise<Running> {
  const store = new CountingStore();
  const calls: string[] = [];
  const routes = createThreadStoreHandler(store, {
    logger: (e: ServerLogEntry) => {
      if (e.event === 'call') calls.push(e.method);
    },
  });
  const adapter = connectNodeAdapter({ routes, interceptors: old ? [withoutFlushField] : [] });
  const server = http2.createServer(adapter);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const clients: RemoteThreadStore[] = [];
  cleanups.push(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await routes.close();
    await new Promise<void>((r) => server.close(() => r()));
  });
  return {
    url,
    store,
    calls,
    client() {
      const c = new RemoteThreadStore({ baseUrl: url, timeoutMs: 10_000 });
      clients.push(c);
      return c;
    },
  };
}

const count = (calls: string[], method: string): number => calls.filter((m) => m === method).length;
const batch = (round: number): RolloutItem[] => [userMessage(`round ${round} a`), userMessage(`round ${round} b`)];
/** The user messages of a history (which starts with the thread's session_meta). */
const texts = (items: RolloutItem[]): string[] =>
  items.flatMap((i) => {
    const p = i.payload as { type?: string; message?: string };
    return i.type === 'event_msg' && p.type === 'user_message' ? [p.message!] : [];
  });
const expected = (rounds: number): string[] => Array.from({ length: rounds }, (_, r) => texts(batch(r))).flat();

/** A writer that appended and flushed three rounds (the last append carried the flush). */
async function flushedThreeTimes(): Promise<{ s: Running; writer: RemoteThreadStore; id: ThreadId }> {
  const s = await start();
  const writer = s.client();
  const id = newThreadId();
  await writer.createThread(createParams(id));
  for (let round = 0; round < 3; round++) {
    await writer.appendItems({ threadId: id, items: batch(round) });
    await writer.flushThread(id);
  }
  return { s, writer, id };
}

describe('an append that carries its flush', () => {
  it('a writer flushing after every append sends one call per batch once the pattern holds', async () => {
    const s = await start();
    const writer = s.client();
    const reader = s.client();
    const id = newThreadId();
    await writer.createThread(createParams(id));
    for (let round = 0; round < 6; round++) {
      await writer.appendItems({ threadId: id, items: batch(round) });
      await writer.flushThread(id);
      // Every acknowledged flush is readable by another client at once.
      expect(texts(await collectHistory(reader.loadHistory({ threadId: id })))).toEqual(expected(round + 1));
    }
    // Two rounds with their own FlushThread; from the third on the append carried the flush.
    expect(count(s.calls, 'AppendItems')).toBe(6);
    expect(count(s.calls, 'FlushThread')).toBe(2);
    // The store flushed once per round all the same.
    expect(s.store.flushes).toBe(6);
  });

  it('a writer that appends again before flushing gets plain appends and a real flush', async () => {
    const { s, writer, id } = await flushedThreeTimes();
    expect([count(s.calls, 'FlushThread'), s.store.flushes]).toEqual([2, 3]);
    // The first append still carries a flush (the pattern held); the second one does not, and the
    // flush after it is sent, since what the second append wrote is not known durable.
    await writer.appendItems({ threadId: id, items: batch(3) });
    await writer.appendItems({ threadId: id, items: batch(4) });
    await writer.flushThread(id);
    expect([count(s.calls, 'FlushThread'), s.store.flushes]).toEqual([3, 5]);
    // The pattern broke: the next append is plain again until two flushes in a row follow one append each.
    await writer.appendItems({ threadId: id, items: batch(5) });
    expect(s.store.flushes).toBe(5);
    await writer.flushThread(id);
    expect([count(s.calls, 'FlushThread'), s.store.flushes]).toEqual([4, 6]);
    expect(texts(await collectHistory(writer.loadHistory({ threadId: id })))).toEqual(expected(6));
  });

  it('against a server without the field, every flush is a FlushThread call and nothing is skipped', async () => {
    const s = await start(true);
    const writer = s.client();
    const reader = s.client();
    const id = newThreadId();
    await writer.createThread(createParams(id));
    for (let round = 0; round < 5; round++) {
      await writer.appendItems({ threadId: id, items: batch(round) });
      // Nothing is flushed until the client's own FlushThread.
      expect(s.store.flushes).toBe(round);
      await writer.flushThread(id);
      expect(texts(await collectHistory(reader.loadHistory({ threadId: id })))).toEqual(expected(round + 1));
    }
    expect(count(s.calls, 'FlushThread')).toBe(5);
  });

  it('a flush that fails on the server leaves the append acknowledged and the error to FlushThread', async () => {
    const { s, writer, id } = await flushedThreeTimes();
    s.store.failFlushes = true;
    await writer.appendItems({ threadId: id, items: batch(3) });
    const err = await writer.flushThread(id).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'internal' });
    expect((err as Error).message).toMatch(/the disk is full/);
    s.store.failFlushes = false;
    await writer.flushThread(id);
    expect(texts(await collectHistory(writer.loadHistory({ threadId: id })))).toEqual(expected(4));
  });

  it('on the wire: `flushed` answers `flush`, and an old client gets a plain append', async () => {
    const s = await start();
    const owner = s.client();
    const id = newThreadId();
    await owner.createThread(createParams(id));
    const sessions = new Http2SessionManager(s.url);
    cleanups.push(async () => sessions.abort());
    const raw = createClient(
      ThreadStoreService,
      createGrpcTransport({
        baseUrl: s.url,
        sessionManager: sessions,
        interceptors: [
          (next) => (req) => {
            req.header.set(CLIENT_ID_HEADER, owner.clientId);
            return next(req);
          },
        ],
      }),
    );
    const json = (text: string): Uint8Array => Buffer.from(JSON.stringify(userMessage(text)));
    // A request without the field: appended, not flushed.
    expect((await raw.appendItems({ threadId: id, itemsJson: [json('plain')] })).flushed).toBe(false);
    expect(s.store.flushes).toBe(0);
    expect((await raw.appendItems({ threadId: id, itemsJson: [json('durable')], flush: true })).flushed).toBe(true);
    expect(s.store.flushes).toBe(1);
    expect(texts(await collectHistory(owner.loadHistory({ threadId: id })))).toEqual(['plain', 'durable']);
  });
});
