import * as http2 from 'node:http2';
import { InMemoryThreadStore } from '@skein/thread-store-api';
import { afterEach, describe, expect, it } from 'vitest';
import { RemoteThreadStore } from '../src/index.js';
import type { Served } from './helpers/server.js';
import { serve } from './helpers/server.js';

const TOKEN = 'hostile-test-token-0123';
const PATH = '/skein.threadstore.v1.ThreadStoreService/AppendItems';
let served: Served | undefined;
const sessions: http2.ClientHttp2Session[] = [];
afterEach(async () => {
  for (const s of sessions.splice(0)) s.destroy();
  await served?.close();
  served = undefined;
});

function connect(url: string): http2.ClientHttp2Session {
  const s = http2.connect(url);
  s.on('error', () => {});
  sessions.push(s);
  return s;
}

interface Outcome {
  status: number | undefined;
  headers: http2.IncomingHttpHeaders;
  trailers: http2.IncomingHttpHeaders | undefined;
  body: string;
  rstCode: number | undefined;
  sent: number;
}

/** Starts a request, sends `first` bytes of body, then (unless stopped) 1 KiB every 10 ms, up to 8 MiB. */
function request(
  session: http2.ClientHttp2Session,
  headers: http2.OutgoingHttpHeaders,
  first: Buffer,
): Promise<Outcome> {
  const req = session.request({ ':method': 'POST', ':path': PATH, ...headers });
  const out: Outcome = { status: undefined, headers: {}, trailers: undefined, body: '', rstCode: undefined, sent: 0 };
  req.on('response', (h) => {
    out.status = h[':status'];
    out.headers = h;
  });
  req.on('trailers', (t) => (out.trailers = t));
  req.on('data', (d: Buffer) => (out.body += d.toString('latin1')));
  req.on('error', () => {});
  req.write(first);
  out.sent = first.length;
  const drip: NodeJS.Timeout = setInterval(() => {
    if (req.destroyed || req.closed || out.sent > 8 * 1024 * 1024) return clearInterval(drip);
    req.write(Buffer.alloc(1024, 7));
    out.sent += 1024;
  }, 10);
  return new Promise((resolve) =>
    req.once('close', () => {
      clearInterval(drip);
      out.rstCode = req.rstCode;
      resolve(out);
    }),
  );
}

const envelope = (declared: number): Buffer => {
  const b = Buffer.alloc(5 + 16, 1);
  b.writeUInt8(0, 0);
  b.writeUInt32BE(declared, 1);
  return b;
};

describe('a caller without a valid token', () => {
  it('is refused from its headers in every protocol, before its body is read, and its upload is stopped', async () => {
    served = await serve(new InMemoryThreadStore(), { auth: { tokens: { [TOKEN]: 'alpha' } } });
    const session = connect(served.server.url);
    const bad = { authorization: 'Bearer wrong-token-0000000' };
    // Each declares a 60 MiB (gzip'd) message and then drips: nothing of it is read.
    const grpc = await request(
      session,
      { 'content-type': 'application/grpc', 'grpc-encoding': 'gzip', te: 'trailers', ...bad },
      envelope(60 << 20),
    );
    expect(grpc.headers['grpc-status']).toBe('16');
    const web = await request(session, { 'content-type': 'application/grpc-web+proto', ...bad }, envelope(60 << 20));
    expect(web.headers['grpc-status']).toBe('16');
    const unary = await request(
      session,
      { 'content-type': 'application/proto', 'content-encoding': 'gzip' },
      Buffer.alloc(1024, 1),
    );
    expect(unary.status).toBe(401);
    expect(JSON.parse(unary.body)).toMatchObject({ code: 'unauthenticated' });
    const stream = await request(session, { 'content-type': 'application/connect+proto', ...bad }, envelope(60 << 20));
    expect(JSON.parse(stream.body.slice(5))).toMatchObject({ error: { code: 'unauthenticated' } });
    for (const o of [grpc, web, unary, stream]) {
      expect(o.rstCode).toBe(http2.constants.NGHTTP2_NO_ERROR);
      expect(o.sent).toBeLessThan(1 << 20);
    }
    // Each refusal is logged, and none was served.
    const calls = served.logs.flatMap((l) => (l.event === 'call' ? [[l.method, l.code]] : []));
    expect(calls).toEqual(Array.from({ length: 4 }, () => ['AppendItems', 'unauthenticated']));
    // A client with the token is served on the same server.
    const good = served.client({ token: TOKEN });
    expect((await good.listThreads({})).items).toEqual([]);
    expect(
      await served
        .client({ token: 'wrong-token-0000000' })
        .listThreads({})
        .catch((e: { code: string }) => e.code),
    ).toBe('unauthenticated');
  });
});

describe('a request body that never finishes', () => {
  it('is cancelled after requestBodyTimeoutMs, and the connection keeps serving', async () => {
    served = await serve(new InMemoryThreadStore(), { requestBodyTimeoutMs: 300 });
    const session = connect(served.server.url);
    const stalled = await new Promise<number | undefined>((resolve) => {
      const req = session.request({
        ':method': 'POST',
        ':path': PATH,
        'content-type': 'application/grpc',
        te: 'trailers',
      });
      req.on('error', () => {});
      req.on('data', () => {});
      req.write(Buffer.from([0])); // one byte, then silence
      req.once('close', () => resolve(req.rstCode));
    });
    expect(stalled).toBe(http2.constants.NGHTTP2_CANCEL);
    const store = new RemoteThreadStore({ baseUrl: served.server.url });
    expect((await store.listThreads({})).items).toEqual([]);
    await store.close();
  });
});

describe('a request body that arrives slowly', () => {
  it('is served when it completes before requestBodyTimeoutMs, however many other calls came meanwhile', async () => {
    served = await serve(new InMemoryThreadStore(), { requestBodyTimeoutMs: 400 });
    const store = new RemoteThreadStore({ baseUrl: served.server.url });
    const session = connect(served.server.url);
    try {
      const answer = new Promise<{ status: string | undefined; rst: number | undefined }>((resolve) => {
        const req = session.request({
          ':method': 'POST',
          ':path': '/skein.threadstore.v1.ThreadStoreService/ListThreads',
          'content-type': 'application/grpc',
          te: 'trailers',
        });
        let status: string | undefined;
        req.on('error', () => {});
        req.on('data', () => {});
        req.on('trailers', (t) => (status = String(t['grpc-status'])));
        req.once('close', () => resolve({ status, rst: req.rstCode }));
        // An empty ListThreadsRequest in a gRPC envelope (flag, 4-byte length): one byte now...
        req.write(Buffer.from([0]));
        // ...and the rest 250 ms later, while other calls start and end on the same server.
        setTimeout(() => req.end(Buffer.from([0, 0, 0, 0])), 250);
      });
      for (let i = 0; i < 5; i += 1) await store.listThreads({});
      expect(await answer).toEqual({ status: '0', rst: http2.constants.NGHTTP2_NO_ERROR });
    } finally {
      session.close();
      await store.close();
    }
  });
});

describe('malformed requests', () => {
  /** Sends one complete request body and collects the answer. */
  function call(
    session: http2.ClientHttp2Session,
    method: string,
    contentType: string,
    body: Buffer,
    headers: http2.OutgoingHttpHeaders = {},
  ) {
    const req = session.request({
      ':method': 'POST',
      ':path': `/skein.threadstore.v1.ThreadStoreService/${method}`,
      'content-type': contentType,
      te: 'trailers',
      ...headers,
    });
    let status: number | undefined;
    let grpcStatus: string | undefined;
    const chunks: Buffer[] = [];
    req.on('response', (h) => {
      status = h[':status'];
      grpcStatus ??= h['grpc-status'] as string | undefined;
    });
    req.on('trailers', (t) => (grpcStatus = t['grpc-status'] as string | undefined));
    req.on('data', (d: Buffer) => chunks.push(d));
    req.on('error', () => {});
    req.end(body);
    return new Promise<{ status: number | undefined; grpcStatus: string | undefined; text: string; raw: Buffer }>(
      (resolve) =>
        req.once('close', () => {
          const raw = Buffer.concat(chunks);
          resolve({ status, grpcStatus, text: raw.toString('utf8'), raw });
        }),
    );
  }
  const grpcEnvelope = (payload: Buffer, flags = 0): Buffer => {
    const head = Buffer.alloc(5);
    head.writeUInt8(flags, 0);
    head.writeUInt32BE(payload.length, 1);
    return Buffer.concat([head, payload]);
  };

  /** The status in a gRPC-Web body's trailers frame (flag 0x80), or in a Connect end-stream frame (flag 2). */
  const frameStatus = (buf: Buffer, flag: number): string | undefined => {
    for (let at = 0; at + 5 <= buf.length; at += 5 + buf.readUInt32BE(at + 1)) {
      if (buf[at] !== flag) continue;
      const payload = buf.subarray(at + 5, at + 5 + buf.readUInt32BE(at + 1)).toString('utf8');
      return flag === 0x80
        ? /grpc-status: *(\d+)/.exec(payload)?.[1]
        : (JSON.parse(payload) as { error?: { code?: string } }).error?.code;
    }
    return undefined;
  };

  it('are invalid_request, never internal, in gRPC, gRPC-Web and Connect', async () => {
    served = await serve(new InMemoryThreadStore());
    const session = connect(served.server.url);
    const garbage = [Buffer.from([0xff, 0xff, 0xff, 0xff]), Buffer.from([0x0a, 0x50, 0x01]), Buffer.from([0x08])];
    for (const method of ['ListThreads', 'AppendItems', 'CreateThread', 'LoadHistory']) {
      for (const bytes of garbage) {
        const g = await call(session, method, 'application/grpc', grpcEnvelope(bytes));
        expect([method, g.grpcStatus]).toEqual([method, '3']);
      }
      for (const type of ['application/grpc-web+proto', 'application/grpc-web']) {
        const w = await call(session, method, type, grpcEnvelope(garbage[0]!));
        expect([method, type, w.grpcStatus ?? frameStatus(w.raw, 0x80)]).toEqual([method, type, '3']);
      }
      // Flagged compressed, with no compression announced.
      const z = await call(session, method, 'application/grpc', grpcEnvelope(Buffer.from([1, 2, 3]), 1));
      expect([method, z.grpcStatus]).toEqual([method, '3']);
    }
    for (const bytes of garbage) {
      const c = await call(session, 'ListThreads', 'application/proto', bytes);
      expect(c.status).toBe(400);
      expect(JSON.parse(c.text)).toMatchObject({ code: 'invalid_argument' });
    }
    // No message, or two, for a call that takes one; a body that does not decompress.
    const one = grpcEnvelope(Buffer.alloc(0));
    for (const [type, body] of [
      ['application/grpc', Buffer.alloc(0)],
      ['application/grpc', Buffer.concat([one, one])],
      ['application/grpc-web+proto', Buffer.alloc(0)],
      ['application/grpc-web+proto', Buffer.concat([one, one])],
    ] as const) {
      const r = await call(session, 'ListThreads', type, body);
      expect([type, body.length, r.grpcStatus ?? frameStatus(r.raw, 0x80)]).toEqual([type, body.length, '3']);
    }
    const gz = await call(session, 'ListThreads', 'application/grpc', grpcEnvelope(Buffer.from('not gzip'), 1), {
      'grpc-encoding': 'gzip',
    });
    expect(gz.grpcStatus).toBe('3');
    const unaryGz = await call(session, 'ListThreads', 'application/json', Buffer.from('0'), {
      'content-encoding': 'gzip',
    });
    expect([unaryGz.status, JSON.parse(unaryGz.text)]).toMatchObject([400, { code: 'invalid_argument' }]);
    const none = await call(session, 'LoadHistory', 'application/connect+proto', Buffer.alloc(0));
    expect(frameStatus(none.raw, 2)).toBe('invalid_argument');
    // A streaming method over the Connect protocol carries its error in the end-stream frame.
    for (const bytes of garbage) {
      const s = await call(session, 'LoadHistory', 'application/connect+proto', grpcEnvelope(bytes));
      expect(frameStatus(s.raw, 2)).toBe('invalid_argument');
    }
    // The server is unharmed.
    const store = new RemoteThreadStore({ baseUrl: served.server.url });
    expect((await store.listThreads({})).items).toEqual([]);
    await store.close();
  });
});
