import { readFileSync } from 'node:fs';
import type { ListThreadsParams, ThreadPage } from '@skein/thread-store-api';
import {
  collectHistory,
  InMemoryThreadStore,
  InMemoryThreadStorage,
  isThreadStoreError,
  newThreadId,
} from '@skein/thread-store-api';
import { afterEach, describe, expect, it } from 'vitest';
import type { CallLogEntry, RunningThreadStoreServer } from '../src/index.js';
import { RemoteThreadStore, startThreadStoreServer } from '../src/index.js';
import { createParams, userMessage } from './helpers/fixtures.js';
import type { Served } from './helpers/server.js';
import { serve } from './helpers/server.js';

let served: Served | undefined;
afterEach(async () => {
  await served?.close();
  served = undefined;
});

/** A store whose listThreads waits for a gate: a call in flight while the server shuts down. */
class GatedStore extends InMemoryThreadStore {
  entered!: () => void;
  readonly inside = new Promise<void>((r) => (this.entered = r));
  openGate!: () => void;
  private readonly gate = new Promise<void>((r) => (this.openGate = r));
  closedCount = 0;
  override async listThreads(params: ListThreadsParams): Promise<ThreadPage> {
    this.entered();
    await this.gate;
    return super.listThreads(params);
  }
  override async close(): Promise<void> {
    this.closedCount++;
    await super.close();
  }
}

describe('graceful shutdown', () => {
  it('finishes in-flight calls, flushes and closes live writers, refuses new calls', async () => {
    const storage = new InMemoryThreadStorage();
    const backend = new GatedStore({ storage });
    served = await serve(backend);
    const store = served.client({ retry: false });
    const id = newThreadId();
    await store.createThread(createParams(id));
    await store.appendItems({ threadId: id, items: [userMessage('appended before shutdown')] });
    const inFlight = store.listThreads({});
    await backend.inside;
    const closing = served.server.close();
    backend.openGate();
    await expect(inFlight).resolves.toMatchObject({ items: expect.any(Array) });
    await closing;
    // The live writer was flushed and closed: a fresh store over the same storage resumes it.
    const after = new InMemoryThreadStore({ storage });
    await after.resumeThread({ threadId: id });
    const texts = (await collectHistory(after.loadHistory({ threadId: id }))).map(
      (i) => (i.payload as { message?: string }).message,
    );
    expect(texts).toContain('appended before shutdown');
    await after.close();
    // The server did not own the store it was given.
    expect(backend.closedCount).toBe(0);
    const refused = await store.listThreads({}).catch((e: unknown) => e);
    expect(isThreadStoreError(refused, 'unavailable')).toBe(true);
    expect((refused as Error).message).toMatch(/unavailable.*check that the server is running/);
  });

  it('closes a store it owns', async () => {
    const backend = new GatedStore();
    const server = await startThreadStoreServer({ store: backend, ownsStore: true, logger: false });
    await server.close();
    await server.close();
    expect(backend.closedCount).toBe(1);
  });
});

describe('structured logs', () => {
  it('writes one entry per call with method, tenant, code and duration', async () => {
    served = await serve();
    const store = served.client();
    await store.listThreads({});
    await store.readThread({ threadId: newThreadId() }).catch(() => undefined);
    const calls = served.logs.filter((l): l is CallLogEntry => l.event === 'call');
    expect(calls.map((c) => [c.method, c.tenant, c.code])).toEqual([
      ['ListThreads', 'default', 'ok'],
      ['ReadThread', 'default', 'not_found'],
    ]);
    for (const c of calls) {
      expect(c.durationMs).toBeGreaterThanOrEqual(0);
      expect(c.clientId).toBe(store.clientId);
      expect(Number.isNaN(Date.parse(c.time))).toBe(false);
    }
  });
});

describe('TLS', () => {
  it('serves over HTTPS/2 when given a certificate and key', async () => {
    const cert = readFileSync(new URL('./fixtures/localhost-cert.pem', import.meta.url));
    const key = readFileSync(new URL('./fixtures/localhost-key.pem', import.meta.url));
    let server: RunningThreadStoreServer | undefined = await startThreadStoreServer({
      store: new InMemoryThreadStore(),
      tls: { cert, key },
      logger: false,
    });
    expect(server.url.startsWith('https://127.0.0.1:')).toBe(true);
    const trusted = new RemoteThreadStore({ baseUrl: server.url, tls: { ca: cert } });
    const untrusted = new RemoteThreadStore({ baseUrl: server.url, retry: false });
    try {
      await expect(trusted.listThreads({})).resolves.toMatchObject({ items: [] });
      const e = await untrusted.listThreads({}).catch((x: unknown) => x);
      expect(isThreadStoreError(e, 'unavailable')).toBe(true);
      expect((e as Error).message).toMatch(/TLS certificate.*tls\.ca/);
    } finally {
      await trusted.close();
      await untrusted.close();
      await server.close();
      server = undefined;
    }
  });
});
