import * as http2 from 'node:http2';
import { InMemoryThreadStore, isThreadStoreError } from '@skein/thread-store-api';
import { describe, expect, it } from 'vitest';
import { startThreadStoreServer } from '../src/index.js';

function get(url: string, path: string): Promise<{ status: number | undefined; body: string }> {
  const session = http2.connect(url);
  session.on('error', () => {});
  return new Promise((resolve, reject) => {
    const req = session.request({ ':method': 'GET', ':path': path });
    let status: number | undefined;
    let body = '';
    req.on('response', (h) => (status = h[':status']));
    req.on('data', (d: Buffer) => (body += d.toString('utf8')));
    req.on('error', reject);
    req.on('close', () => {
      session.close();
      resolve({ status, body });
    });
    req.end();
  });
}

describe('health probes', () => {
  it('answer without a token and say nothing about tenants', async () => {
    const server = await startThreadStoreServer({
      store: new InMemoryThreadStore(),
      host: '127.0.0.1',
      auth: { tokens: { 'probe-test-token-01': 'secret-tenant' } },
      logger: false,
      shutdownTimeoutMs: 500,
    });
    for (const path of ['/healthz', '/readyz']) {
      const r = await get(server.url, path);
      expect([path, r.status, r.body]).toEqual([path, 200, 'ok\n']);
    }
    // Anything else still needs the token.
    expect((await get(server.url, '/skein.threadstore.v1.ThreadStoreService/ListThreads')).status).not.toBe(200);
    await server.close();
  });

  it('a port in use is unavailable, with a hint to pick another or port 0', async () => {
    const first = await startThreadStoreServer({ store: new InMemoryThreadStore(), logger: false });
    const err = await startThreadStoreServer({
      store: new InMemoryThreadStore(),
      logger: false,
      port: first.port,
    }).catch((e: unknown) => e);
    expect(isThreadStoreError(err, 'unavailable')).toBe(true);
    expect((err as Error).message).toMatch(/in use.*port 0/);
    await first.close();
  });
});
