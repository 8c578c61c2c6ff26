import { spawn } from 'node:child_process';
import * as http2 from 'node:http2';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ListThreadsParams, ThreadPage } from '@skein/thread-store-api';
import { collectHistory, InMemoryThreadStore, isThreadStoreError, newThreadId } from '@skein/thread-store-api';
import { afterEach, describe, expect, it } from 'vitest';
import { RemoteThreadStore } from '../src/index.js';
import { bulkyItem, createParams, userMessage } from './helpers/fixtures.js';
import type { RawServer } from './helpers/raw-server.js';
import { rawServer } from './helpers/raw-server.js';
import type { Served } from './helpers/server.js';
import { serve } from './helpers/server.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const MIB = 1024 * 1024;
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    return isThreadStoreError(e) ? e.code : `not a store error: ${String(e)}`;
  }
}

async function served(extra: Parameters<typeof serve>[1] = {}): Promise<Served> {
  const s = await serve(new InMemoryThreadStore(), extra);
  cleanups.push(() => s.close());
  return s;
}

async function raw(...args: Parameters<typeof rawServer>): Promise<RawServer> {
  const s = await rawServer(...args);
  cleanups.push(() => s.close());
  return s;
}

function client(baseUrl: string, extra: Partial<ConstructorParameters<typeof RemoteThreadStore>[0]> = {}) {
  const c = new RemoteThreadStore({
    baseUrl,
    timeoutMs: 10_000,
    retry: { maxAttempts: 3, initialDelayMs: 5 },
    ...extra,
  });
  cleanups.push(() => c.close());
  return c;
}

describe('a request above the server limit', () => {
  // 20 MiB queued on one stream is more than Node's default 10 MiB of HTTP/2 session memory: this
  // used to wedge the client's session (every later call: ENHANCE_YOUR_CALM).
  it.each(['grpc', 'connect', 'grpc-web'] as const)(
    '%s: is resource_exhausted, and the same client keeps writing and reading',
    async (protocol) => {
      const s = await served({ limits: { maxMessageBytes: 4 * MIB } });
      // The client believes in a larger limit, so the request does leave it.
      const store = s.client({ protocol, maxMessageBytes: 64 * MIB, maxAppendBytes: 64 * MIB });
      const id = newThreadId();
      await store.createThread(createParams(id));
      await store.appendItems({ threadId: id, items: [userMessage('before')] });
      expect(await codeOf(store.appendItems({ threadId: id, items: [bulkyItem(1, 20 * MIB)] }))).toBe(
        'resource_exhausted',
      );
      await store.appendItems({ threadId: id, items: [userMessage('after')] });
      await store.flushThread(id);
      expect((await store.listThreads({})).items.map((t) => t.threadId)).toEqual([id]);
      await store.shutdownThread(id);
      const history = await collectHistory(store.loadHistory({ threadId: id }));
      const messages = history.map((i) => (i.payload as { message?: string }).message).filter(Boolean);
      expect(messages).toEqual(['before', 'after']);
    },
  );

  it('is refused by the client before anything is sent, at its configured or learned limit', async () => {
    const s = await served({ limits: { maxMessageBytes: 2 * MIB } });
    const configured = s.client({ maxMessageBytes: 2 * MIB, maxAppendBytes: 64 * MIB });
    const id = newThreadId();
    await configured.createThread(createParams(id));
    const before = s.logs.filter((l) => l.event === 'call' && l.method === 'AppendItems').length;
    const err = await configured.appendItems({ threadId: id, items: [bulkyItem(1, 3 * MIB)] }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'resource_exhausted' });
    expect((err as Error).message).toMatch(/above the server's limit of 2097152 bytes .*nothing was sent/);
    // A client left at the 64 MiB default learns the server's 2 MiB from serverInfo().
    const learner = s.client({ clientId: configured.clientId, maxAppendBytes: 64 * MIB });
    expect((await learner.serverInfo()).limits.maxMessageBytes).toBe(2 * MIB);
    expect(await codeOf(learner.appendItems({ threadId: id, items: [bulkyItem(2, 3 * MIB)] }))).toBe(
      'resource_exhausted',
    );
    expect(s.logs.filter((l) => l.event === 'call' && l.method === 'AppendItems').length).toBe(before);
    // Just under the limit still goes through.
    await learner.appendItems({ threadId: id, items: [bulkyItem(3, 2 * MIB - 4096)] });
    await learner.shutdownThread(id);
  });

  it('answers a raw gRPC client with a RESOURCE_EXHAUSTED status, then stops its upload with NO_ERROR', async () => {
    const s = await served({ limits: { maxMessageBytes: MIB } });
    const session = http2.connect(s.server.url);
    cleanups.push(() => void session.destroy());
    const req = session.request({
      ':method': 'POST',
      ':path': '/skein.threadstore.v1.ThreadStoreService/AppendItems',
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    const trailers = new Promise<http2.IncomingHttpHeaders>((r) => req.once('trailers', r));
    const closed = new Promise<number>((r) => req.once('close', () => r(req.rstCode ?? -1)));
    req.on('data', () => {});
    req.on('error', () => {});
    // Declares 20 MiB and keeps sending until the server stops it.
    const head = Buffer.alloc(5);
    head.writeUInt32BE(20 * MIB, 1);
    req.write(head);
    const chunk = Buffer.alloc(256 * 1024, 1);
    let sent = 0;
    const pump = (): void => {
      while (sent < 20 * MIB && !req.destroyed) {
        sent += chunk.length;
        if (!req.write(chunk)) {
          req.once('drain', pump);
          return;
        }
      }
      if (!req.destroyed) req.end();
    };
    pump();
    expect((await trailers)['grpc-status']).toBe('8');
    expect(await closed).toBe(http2.constants.NGHTTP2_NO_ERROR);
    expect(sent).toBeLessThan(20 * MIB);
    // The session is fine for the next call.
    const info = session.request({
      ':method': 'POST',
      ':path': '/skein.threadstore.v1.ThreadStoreService/GetServerInfo',
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    info.on('data', () => {});
    info.end(Buffer.alloc(5));
    expect((await new Promise<http2.IncomingHttpHeaders>((r) => info.once('trailers', r)))['grpc-status']).toBe('0');
  });
});

describe('a session the server gave up on', () => {
  it('after streams reset with ENHANCE_YOUR_CALM, the next call opens a new session', async () => {
    // The first session answers nothing but ENHANCE_YOUR_CALM, like a peer over its memory budget.
    const s = await raw(new InMemoryThreadStore(), {}, (req, _res, session) => {
      if (session !== 0) return false;
      req.stream.close(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
      return true;
    });
    const store = client(s.url);
    const id = newThreadId();
    expect(await codeOf(store.createThread(createParams(id)))).toBe('unavailable');
    await store.createThread(createParams(id));
    await store.appendItems({ threadId: id, items: [userMessage('x')] });
    await store.shutdownThread(id);
    expect(s.sessions.length).toBe(2);
  });

  it('after GOAWAY with ENHANCE_YOUR_CALM, the next call opens a new session', async () => {
    const s = await raw(new InMemoryThreadStore(), {}, (_req, _res, session) => {
      if (session !== 0) return false;
      s.sessions[0]!.goaway(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
      return true;
    });
    const store = client(s.url, { retry: false });
    expect(await codeOf(store.listThreads({}))).toBe('unavailable');
    expect((await store.listThreads({})).items).toEqual([]);
    expect(s.sessions.length).toBe(2);
  });
});

/** A store whose listThreads and appendItems wait until the test lets them go. */
class GatedStore extends InMemoryThreadStore {
  listCalls = 0;
  appendCalls = 0;
  gate: ((what: 'list' | 'append') => Promise<void>) | undefined;
  override async listThreads(params: ListThreadsParams): Promise<ThreadPage> {
    this.listCalls++;
    await this.gate?.('list');
    return super.listThreads(params);
  }
  override async appendItems(params: Parameters<InMemoryThreadStore['appendItems']>[0]): Promise<void> {
    this.appendCalls++;
    await this.gate?.('append');
    return super.appendItems(params);
  }
}

describe('a connection dropped under a call', () => {
  it('a read is unavailable, not conflict, and is retried on a new connection', async () => {
    const backend = new GatedStore();
    const s = await raw(backend);
    const store = client(s.url);
    let dropped = 0;
    backend.gate = async () => {
      if (dropped++ === 0) {
        s.dropConnections();
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    expect((await store.listThreads({})).items).toEqual([]);
    expect(backend.listCalls).toBe(2);
    expect(s.sessions.length).toBe(2);
  });

  it('a write is unavailable (never conflict) and is not retried', async () => {
    const backend = new GatedStore();
    const s = await raw(backend);
    const store = client(s.url);
    const id = newThreadId();
    await store.createThread(createParams(id));
    backend.gate = async (what) => {
      if (what !== 'append') return;
      backend.gate = undefined;
      s.dropConnections();
      await new Promise((r) => setTimeout(r, 50));
    };
    const err = await store.appendItems({ threadId: id, items: [userMessage('x')] }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'unavailable' });
    expect((err as Error).message).toMatch(/may or may not have been applied/);
    expect(backend.appendCalls).toBe(1);
    // The writer is still this client's: the next append goes through on a new connection.
    await store.appendItems({ threadId: id, items: [userMessage('y')] });
    await store.shutdownThread(id);
  });

  it('a server process killed mid-stream is unavailable for the reader', async () => {
    const threadId = newThreadId();
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(here, 'helpers/big-history-server.ts'), threadId, '100000', '4096'],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    cleanups.push(() => void child.kill('SIGKILL'));
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.setEncoding('utf8').once('data', (d: string) => resolve(d.trim().split('\n')[0]!));
      child.once('exit', (code) => reject(new Error(`server exited ${String(code)}`)));
    });
    const store = client(url, { retry: { maxAttempts: 2, initialDelayMs: 5 } });
    let n = 0;
    const read = (async () => {
      for await (const _ of store.loadHistory({ threadId })) {
        if (++n === 100) child.kill('SIGKILL');
      }
    })();
    expect(await codeOf(read)).toBe('unavailable');
    expect(n).toBeGreaterThanOrEqual(100);
  });
});
