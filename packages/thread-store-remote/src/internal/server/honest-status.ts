import type * as http2 from 'node:http2';

/**
 * What connect reports as `internal` although the caller sent it: a message that is not valid
 * protobuf, an envelope compressed with nothing it announced, a truncated envelope.
 */
const BAD_INPUT = /^(?:parse binary|received compressed envelope|protocol error|invalid envelope)/;

/**
 * Makes the server answer bad input as `invalid_request` (INVALID_ARGUMENT), never `internal`:
 * connect decodes the request before the handler sees it and calls a decoding failure Internal.
 * Rewrites a gRPC status in the trailers, and a Connect unary error body with its HTTP status.
 */
export function answerBadInputHonestly(res: http2.Http2ServerResponse): void {
  const addTrailers = res.addTrailers.bind(res);
  res.addTrailers = (headers: http2.OutgoingHttpHeaders): void => {
    const message = decodeURIComponent(String(headers['grpc-message'] ?? ''));
    if (headers['grpc-status'] === '13' && BAD_INPUT.test(message)) headers = { ...headers, 'grpc-status': '3' };
    addTrailers(headers);
  };
  const writeHead = res.writeHead.bind(res) as (status: number, headers?: http2.OutgoingHttpHeaders) => unknown;
  const write = res.write.bind(res) as (chunk: unknown, ...rest: unknown[]) => boolean;
  let held: { status: number; headers: http2.OutgoingHttpHeaders | undefined } | undefined;
  (res as { writeHead: unknown }).writeHead = (status: number, headers?: http2.OutgoingHttpHeaders) => {
    const type = String(headers?.['content-type'] ?? '');
    // A Connect unary error: hold the head until the body says what the error is.
    if (status === 500 && type.startsWith('application/json')) {
      held = { status, headers };
      return res;
    }
    return writeHead(status, headers);
  };
  const release = (chunk: unknown): unknown => {
    if (!held) return chunk;
    let { status } = held;
    let out = chunk;
    try {
      const text = Buffer.from(chunk as Uint8Array).toString('utf8');
      const error = JSON.parse(text) as { code?: string; message?: string };
      if (error.code === 'internal' && BAD_INPUT.test(error.message ?? '')) {
        status = 400;
        out = Buffer.from(JSON.stringify({ ...error, code: 'invalid_argument' }), 'utf8');
      }
    } catch {
      // Not the JSON error body: pass it on untouched.
    }
    // The body may have changed length: let HTTP/2 frame it without a stale content-length.
    const headers = { ...held.headers };
    if (out !== chunk) delete headers['content-length'];
    held = undefined;
    writeHead(status, headers);
    return out;
  };
  (res as { write: unknown }).write = (chunk: unknown, ...rest: unknown[]) => write(release(chunk), ...rest);
  const end = res.end.bind(res) as (...args: unknown[]) => unknown;
  (res as { end: unknown }).end = (...args: unknown[]) => {
    if (held) {
      const first = args[0];
      if (first !== undefined && typeof first !== 'function') args[0] = release(first);
      else {
        writeHead(held.status, held.headers);
        held = undefined;
      }
    }
    return end(...args);
  };
}
