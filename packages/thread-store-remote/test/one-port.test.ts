import * as http from 'node:http';
import * as net from 'node:net';
import { InMemoryThreadStore } from '@skein/thread-store-api';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunningThreadStoreServer } from '../src/index.js';
import { RemoteThreadStore, startThreadStoreServer } from '../src/index.js';
import { createParams, userMessage } from './helpers/fixtures.js';

const LIST = '/skein.threadstore.v1.ThreadStoreService/ListThreads';

/** Writes `bytes` one at a time, each in its own TCP segment as far as Nagle allows. */
async function trickle(s: net.Socket, bytes: Buffer): Promise<void> {
  s.setNoDelay(true);
  for (const b of bytes) {
    s.write(Buffer.of(b));
    await new Promise((r) => setImmediate(r));
  }
}

/** One HTTP/1.1 request on a fresh connection (no keep-alive pool), as a browser would send it. */
function http1(
  url: string,
  path: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string; version: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      new URL(path, url),
      { method: init.method ?? 'GET', headers: init.headers ?? {}, agent: false },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, version: res.httpVersion }),
        );
      },
    );
    req.on('error', reject);
    req.end(init.body);
  });
}

describe('one plain-text port for HTTP/1.1 and HTTP/2', () => {
  let server: RunningThreadStoreServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('answers Connect calls over HTTP/1.1 and gRPC over HTTP/2 on the same port', async () => {
    server = await startThreadStoreServer({ store: new InMemoryThreadStore(), logger: false, shutdownTimeoutMs: 500 });
    const remote = new RemoteThreadStore({ baseUrl: server.url });
    const params = createParams();
    const threadId = params.threadId;
    await remote.createThread(params);
    await remote.appendItems({ threadId, items: [userMessage('hello over one port')] });
    await remote.flushThread(threadId);
    const r = await http1(server.url, LIST, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'connect-protocol-version': '1' },
      body: JSON.stringify({ filters: { modelProviders: {} } }),
    });
    expect(r.version).toBe('1.1');
    expect(r.status).toBe(200);
    expect(JSON.stringify(JSON.parse(r.body))).toContain(threadId);
    // The gRPC client (HTTP/2 with prior knowledge) still works on the same port.
    const { items } = await remote.listThreads({ modelProviders: [] });
    expect(items.map((t) => t.threadId)).toEqual([threadId]);
    await remote.close();
  });

  it('hands GET requests outside the API to the page handler, and answers 404 without one', async () => {
    server = await startThreadStoreServer({
      store: new InMemoryThreadStore(),
      logger: false,
      shutdownTimeoutMs: 500,
      auth: { tokens: { 'page-test-token-0001': 'default' } },
      pages: (req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end(`page ${req.url}`);
      },
    });
    // The page needs no token; the API still does.
    expect((await http1(server.url, '/threads/x?y=1')).body).toBe('page /threads/x?y=1');
    const refused = await http1(server.url, LIST, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(refused.status).toBe(401);
    expect(JSON.parse(refused.body)).toMatchObject({ code: 'unauthenticated' });
    await server.close();
    server = await startThreadStoreServer({ store: new InMemoryThreadStore(), logger: false, shutdownTimeoutMs: 500 });
    expect((await http1(server.url, '/')).status).toBe(404);
  });

  it('waits for a preface sent one byte at a time, and survives garbage and early hang-ups', async () => {
    server = await startThreadStoreServer({ store: new InMemoryThreadStore(), logger: false, shutdownTimeoutMs: 500 });
    const port = server.port;
    // A connection that closes before sending anything, and one that sends garbage.
    await new Promise<void>((resolve) =>
      net.connect(port, '127.0.0.1', function (this: net.Socket) {
        this.destroy();
        resolve();
      }),
    );
    const garbage = await new Promise<string>((resolve) => {
      const s: net.Socket = net.connect(port, '127.0.0.1', () => {
        s.write('\x00\x01\x02 not http\r\n\r\n');
      });
      let got = '';
      s.on('data', (d: Buffer) => (got += d.toString('latin1')));
      s.on('close', () => resolve(got));
      s.on('error', () => {});
    });
    expect(garbage).toMatch(/^HTTP\/1\.1 400 /);
    // An HTTP/1.1 request written byte by byte is still parsed as HTTP/1.1.
    const slow = await new Promise<string>((resolve) => {
      const s: net.Socket = net.connect(port, '127.0.0.1', () => {
        void trickle(s, Buffer.from('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 'latin1'));
      });
      let got = '';
      s.on('data', (d: Buffer) => (got += d.toString('latin1')));
      s.on('close', () => resolve(got));
    });
    expect(slow).toMatch(/^HTTP\/1\.1 200/);
    expect(slow).toMatch(/\r\n\r\n(3\r\n)?ok\n/);
    // An HTTP/2 preface written byte by byte gets the server's SETTINGS frame (type 4) back.
    const frame = await new Promise<Buffer>((resolve) => {
      const s: net.Socket = net.connect(port, '127.0.0.1', () => {
        void trickle(s, Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1'));
      });
      s.once('data', (d: Buffer) => {
        s.destroy();
        resolve(d);
      });
    });
    expect(frame[3]).toBe(4);
    // And the server still serves gRPC afterwards.
    const remote = new RemoteThreadStore({ baseUrl: server.url });
    expect((await remote.listThreads({ modelProviders: [] })).items).toEqual([]);
    await remote.close();
  });
});
