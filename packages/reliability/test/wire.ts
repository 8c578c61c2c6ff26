import * as http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The service path prefix of every RPC. */
export const SERVICE = '/skein.threadstore.v1.ThreadStoreService/';

/** Every RPC of the service, read from its .proto (so a new RPC is fuzzed without editing this file). */
export function rpcsOfProto(): { name: string; streaming: boolean }[] {
  const proto = readFileSync(
    path.resolve(
      path.dirname(fileURLToPath(import.meta.url)),
      '../../../proto/skein/threadstore/v1/thread_store.proto',
    ),
    'utf8',
  );
  return [...proto.matchAll(/rpc (\w+)\(\w+\) returns \((stream )?\w+\)/g)].map((m) => ({
    name: m[1]!,
    streaming: m[2] !== undefined,
  }));
}

/** A message in the 5-byte envelope of gRPC, gRPC-Web and Connect streams. */
export function envelope(payload: Uint8Array, flags = 0): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt8(flags, 0);
  head.writeUInt32BE(payload.length, 1);
  return Buffer.concat([head, payload]);
}

/** The payload of the first envelope in `body` (the message a gRPC client sent). */
export function firstMessage(body: Buffer): Buffer {
  if (body.length < 5) return Buffer.alloc(0);
  return body.subarray(5, 5 + body.readUInt32BE(1));
}

export interface Answer {
  /** HTTP status, when headers came. */
  status: number | undefined;
  /** The gRPC status, from headers, trailers or a gRPC-Web trailers frame. */
  grpcStatus: string | undefined;
  /** The Connect error code, from a unary error body or an end-stream frame. */
  connectCode: string | undefined;
  /** The stream's reset code, when it ended without a status. */
  rstCode: number | undefined;
  /** True when no answer came within the timeout. */
  hung: boolean;
  /** The error message the answer carried, if any. */
  message: string | undefined;
}

/** The status frame of an enveloped response body (gRPC-Web trailers or Connect end-stream). */
function frameStatus(body: Buffer): { grpcStatus?: string; connectCode?: string; message?: string } {
  for (let at = 0; at + 5 <= body.length; at += 5 + body.readUInt32BE(at + 1)) {
    const flags = body[at]!;
    const payload = body.subarray(at + 5, at + 5 + body.readUInt32BE(at + 1)).toString('utf8');
    if (flags & 0x80) {
      const m = /grpc-status: *(\d+)/.exec(payload);
      const msg = /grpc-message: *(.*)/.exec(payload);
      return m ? { grpcStatus: m[1]!, message: decodeURIComponent(msg?.[1]?.trim() ?? '') } : {};
    }
    if (flags & 0x02) {
      try {
        const end = JSON.parse(payload) as { error?: { code?: string; message?: string } };
        return end.error?.code === undefined ? {} : { connectCode: end.error.code, message: end.error.message ?? '' };
      } catch {
        return { connectCode: 'unparsable end-stream frame' };
      }
    }
  }
  return {};
}

/** Sends one whole request and reads the answer (its status, in whichever protocol it came). */
export function send(
  session: http2.ClientHttp2Session,
  method: string,
  headers: http2.OutgoingHttpHeaders,
  body: Buffer,
  timeoutMs = 15_000,
): Promise<Answer> {
  return new Promise((resolve) => {
    const req = session.request({ ':method': 'POST', ':path': `${SERVICE}${method}`, te: 'trailers', ...headers });
    const answer: Answer = {
      status: undefined,
      grpcStatus: undefined,
      connectCode: undefined,
      rstCode: undefined,
      hung: false,
      message: undefined,
    };
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      answer.hung = true;
      req.close(http2.constants.NGHTTP2_CANCEL);
    }, timeoutMs);
    req.on('response', (h) => {
      answer.status = h[':status'];
      if (h['grpc-status'] !== undefined) answer.grpcStatus = String(h['grpc-status']);
      if (h['grpc-message'] !== undefined) answer.message = decodeURIComponent(String(h['grpc-message']));
    });
    req.on('trailers', (t) => {
      if (t['grpc-status'] !== undefined) answer.grpcStatus = String(t['grpc-status']);
      if (t['grpc-message'] !== undefined) answer.message = decodeURIComponent(String(t['grpc-message']));
    });
    req.on('data', (d: Buffer) => chunks.push(d));
    req.on('error', () => {});
    req.once('close', () => {
      clearTimeout(timer);
      const raw = Buffer.concat(chunks);
      const type = String(headers['content-type']);
      const framedAnswer = type.startsWith('application/grpc-web') || type.startsWith('application/connect+');
      if (framedAnswer && (answer.grpcStatus === undefined || answer.connectCode === undefined)) {
        const framed = frameStatus(raw);
        answer.grpcStatus ??= framed.grpcStatus;
        answer.connectCode ??= framed.connectCode;
        answer.message ??= framed.message;
      }
      if (answer.connectCode === undefined && answer.status !== undefined && answer.status !== 200 && raw.length > 0) {
        try {
          const error = JSON.parse(raw.toString('utf8')) as { code?: string; message?: string };
          answer.connectCode = error.code;
          answer.message = error.message;
        } catch {
          // Not a Connect error body.
        }
      }
      if (answer.status === undefined) answer.rstCode = req.rstCode;
      resolve(answer);
    });
    req.end(body);
  });
}

/**
 * Why an answer to bad input is wrong, or undefined when it is a clean refusal or success.
 * `unsupportedEncoding`: the request announced a compression the server does not have, which the
 * protocols answer with `unimplemented` (HTTP 501 in Connect).
 */
export function wrongAnswer(a: Answer, unsupportedEncoding = false): string | undefined {
  if (a.hung) return 'no answer within the timeout';
  if (a.status === undefined) return `stream reset without a status (code ${String(a.rstCode)})`;
  const unimplemented = a.grpcStatus === '12' || a.connectCode === 'unimplemented';
  if (unimplemented && !unsupportedEncoding) return `unimplemented: ${a.message ?? ''}`;
  if (a.status >= 500 && !(a.status === 501 && unimplemented)) return `HTTP ${a.status}`;
  if (a.grpcStatus === '13' || a.grpcStatus === '2') return `gRPC status ${a.grpcStatus}: ${a.message ?? ''}`;
  if (a.connectCode === 'internal' || a.connectCode === 'unknown')
    return `Connect code ${a.connectCode}: ${a.message ?? ''}`;
  return undefined;
}

/**
 * A loopback HTTP/2 proxy that forwards every request to `target` and keeps the request bodies
 * per RPC: the valid messages a real client sends, to mutate.
 */
export async function recordingProxy(
  target: string,
): Promise<{ url: string; bodies: Map<string, Buffer[]>; close(): Promise<void> }> {
  const bodies = new Map<string, Buffer[]>();
  const upstream = http2.connect(target);
  upstream.on('error', () => {});
  const server = http2.createServer((req, res) => {
    const chunks: Buffer[] = [];
    const forward: http2.OutgoingHttpHeaders = {};
    for (const [k, v] of Object.entries(req.headers)) if (!k.startsWith(':')) forward[k] = v;
    const up = upstream.request({ ...forward, ':method': req.method, ':path': req.url });
    up.on('error', () => res.stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR));
    req.on('data', (d: Buffer) => {
      chunks.push(d);
      up.write(d);
    });
    req.on('end', () => {
      const method = req.url.slice(SERVICE.length);
      const list = bodies.get(method) ?? [];
      list.push(Buffer.concat(chunks));
      bodies.set(method, list);
      up.end();
    });
    up.on('response', (h) => {
      const back: http2.OutgoingHttpHeaders = {};
      for (const [k, v] of Object.entries(h)) if (!k.startsWith(':')) back[k] = v;
      res.writeHead(h[':status'] ?? 200, back);
    });
    up.on('data', (d: Buffer) => res.write(d));
    up.on('trailers', (t) => {
      const back: http2.OutgoingHttpHeaders = {};
      for (const [k, v] of Object.entries(t)) back[k] = v as http2.OutgoingHttpHeaders[string];
      res.addTrailers(back);
    });
    up.on('end', () => res.end());
  });
  server.on('session', (s: http2.Http2Session) => s.on('error', () => {}));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    bodies,
    close: async () => {
      upstream.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
