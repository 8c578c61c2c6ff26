import type * as http2 from 'node:http2';
import type { ThreadStoreError } from '@skein/thread-store-api';
import { GRPC_CODE_OF } from '../convert/errors.js';

/** The Connect protocol's name and HTTP status for each gRPC code a refusal may carry. */
const CONNECT_CODE: Record<number, [string, number]> = {
  14: ['unavailable', 503],
  16: ['unauthenticated', 401],
};

/**
 * Answers a request from its headers alone, in the caller's protocol (gRPC, gRPC-Web, Connect
 * unary or streaming), without reading its body: a trailers-only gRPC status, or a Connect error.
 */
export function answerEarly(
  req: http2.Http2ServerRequest,
  res: http2.Http2ServerResponse,
  err: ThreadStoreError,
): void {
  const code = GRPC_CODE_OF[err.code];
  const [name, httpStatus] = CONNECT_CODE[code] ?? ['internal', 500];
  const contentType = String(req.headers['content-type'] ?? '');
  if (contentType.startsWith('application/grpc')) {
    // gRPC and gRPC-Web both accept a status in the response headers ("trailers-only").
    res.writeHead(200, {
      'content-type': contentType.split(';')[0]!,
      'grpc-status': String(code),
      'grpc-message': encodeURIComponent(err.message),
    });
    res.end();
    return;
  }
  const error = { code: name, message: err.message };
  if (contentType.startsWith('application/connect+')) {
    // A Connect stream ends with an end-stream envelope (flag 2) carrying the error.
    const json = Buffer.from(JSON.stringify({ error }), 'utf8');
    const head = Buffer.alloc(5);
    head.writeUInt8(2, 0);
    head.writeUInt32BE(json.length, 1);
    res.writeHead(200, { 'content-type': contentType.split(';')[0]! });
    res.end(Buffer.concat([head, json]));
    return;
  }
  res.writeHead(httpStatus, { 'content-type': 'application/json' });
  res.end(JSON.stringify(error));
}
