import * as http2 from 'node:http2';
import { collectHistory, InMemoryThreadStore, newThreadId } from '@skein/thread-store-api';
import { afterEach, describe, expect, it } from 'vitest';
import { agentMessage, createParams } from './helpers/fixtures.js';
import type { Served } from './helpers/server.js';
import { serve } from './helpers/server.js';

let served: Served | undefined;
afterEach(async () => {
  await served?.close();
  served = undefined;
});

describe('many history streams at once on one connection', () => {
  it('paused readers do not make the server refuse new streams', { timeout: 60_000 }, async () => {
    const paused = 24;
    served = await serve(new InMemoryThreadStore());
    const writer = served.client();
    const id = newThreadId();
    await writer.createThread(createParams(id));
    // ~2.4 MB: three 1 MiB chunks per stream.
    const items = Array.from({ length: 300 }, (_, i) => agentMessage(`${i}:`.padEnd(8000, 'y')));
    await writer.appendItems({ threadId: id, items });
    await writer.shutdownThread(id);
    const reader = served.client({ retry: false });
    // Each paused reader has taken one item. RemoteThreadStore's 1 MiB stream windows let the
    // server hand each paused stream its next chunk; the client holds them (24 MiB in all) without
    // refusing or stalling the next streams. The test below covers the server's side.
    const iterators = Array.from({ length: paused }, () =>
      reader.loadHistory({ threadId: id })[Symbol.asyncIterator](),
    );
    for (const it of iterators) expect((await it.next()).done).toBe(false);
    await new Promise((r) => setTimeout(r, 200));
    const fresh = await Promise.allSettled(
      Array.from({ length: 4 }, () => collectHistory(reader.loadHistory({ threadId: id }))),
    );
    expect(fresh.flatMap((r) => (r.status === 'rejected' ? [String(r.reason)] : []))).toEqual([]);
    for (const r of fresh) if (r.status === 'fulfilled') expect(r.value.length).toBe(items.length + 1);
    // The paused ones finish too.
    for (const it of iterators) {
      let n = 1;
      while (!(await it.next()).done) n++;
      expect(n).toBe(items.length + 1);
    }
  });
});

/** A gRPC envelope around `payload`. */
const envelope = (payload: Buffer): Buffer => {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(payload.length, 1);
  return Buffer.concat([head, payload]);
};

describe('many paused history streams from a client with the protocol default windows', () => {
  it('do not make the server refuse the next streams with ENHANCE_YOUR_CALM', { timeout: 60_000 }, async () => {
    served = await serve(new InMemoryThreadStore());
    const writer = served.client();
    const id = newThreadId();
    await writer.createThread(createParams(id));
    // ~2.4 MB of history: 1 MiB chunks.
    const items = Array.from({ length: 300 }, (_, i) => agentMessage(`${i}:`.padEnd(8000, 'y')));
    await writer.appendItems({ threadId: id, items });
    await writer.shutdownThread(id);
    // A plain HTTP/2 gRPC client: 64 KiB windows, so the server keeps each stream's next chunk
    // queued. 24 paused streams queue 24 MiB on one session, over Node's default 10 MiB of session
    // memory, past which nghttp2 resets every new stream with ENHANCE_YOUR_CALM.
    const session = http2.connect(served.server.url);
    session.on('error', () => {});
    const call = (method: string, body: Buffer): http2.ClientHttp2Stream => {
      const req = session.request({
        ':method': 'POST',
        ':path': `/skein.threadstore.v1.ThreadStoreService/${method}`,
        'content-type': 'application/grpc',
        te: 'trailers',
      });
      req.on('error', () => {});
      req.end(body);
      return req;
    };
    const threadIdField = Buffer.concat([Buffer.from([0x0a, id.length]), Buffer.from(id)]);
    const paused = Array.from({ length: 24 }, () => call('LoadHistory', envelope(threadIdField)).pause());
    // Every paused stream has started its answer: its first chunk is queued behind flow control.
    await Promise.all(paused.map((p) => new Promise((resolve) => p.once('response', resolve))));
    const outcome = (req: http2.ClientHttp2Stream): Promise<string> =>
      new Promise((resolve) => {
        let status = 'none';
        req.on('response', (h) => {
          if (h['grpc-status'] !== undefined) status = String(h['grpc-status']);
        });
        req.on('trailers', (t) => (status = String(t['grpc-status'])));
        req.on('data', () => {});
        req.once('close', () => resolve(`status ${status}, reset ${String(req.rstCode)}`));
      });
    const fresh = await Promise.all(
      Array.from({ length: 4 }, () => outcome(call('GetServerInfo', envelope(Buffer.alloc(0))))),
    );
    expect(fresh).toEqual(Array.from({ length: 4 }, () => `status 0, reset ${http2.constants.NGHTTP2_NO_ERROR}`));
    // The paused ones finish too, once read.
    const finished = await Promise.all(paused.map((p) => outcome(p.resume())));
    expect(finished).toEqual(Array.from({ length: 24 }, () => `status 0, reset ${http2.constants.NGHTTP2_NO_ERROR}`));
    session.destroy();
  });
});
