import type * as http2 from 'node:http2';

/**
 * What connect reports as `internal` although the caller sent it: a message that is not valid
 * protobuf, an envelope compressed with nothing it announced, a truncated envelope.
 */
const BAD_INPUT = /^(?:parse binary|received compressed envelope|protocol error|invalid envelope)/;

/** gRPC-Web's trailers frame and the Connect streaming protocol's end-stream frame. */
const GRPC_WEB_TRAILERS = 0x80;
const CONNECT_END_STREAM = 0x02;

/** How the error of a response is carried, decided from its content type. */
type Carrier = 'grpc' | 'grpc-web' | 'connect-stream' | 'connect-unary' | 'other';

function carrierOf(contentType: string): Carrier {
  if (contentType.startsWith('application/grpc-web')) return 'grpc-web';
  if (contentType.startsWith('application/grpc')) return 'grpc';
  if (contentType.startsWith('application/connect+')) return 'connect-stream';
  if (contentType.startsWith('application/json')) return 'connect-unary';
  return 'other';
}

/** A gRPC-Web trailers block (`name: value\r\n` lines) with a bad-input `internal` made `3`. */
function honestTrailerBlock(block: Buffer): Buffer | undefined {
  const text = block.toString('latin1');
  const lines = text.split('\r\n');
  const status = lines.findIndex((l) => /^grpc-status:\s*13\s*$/i.test(l));
  const message = lines.find((l) => /^grpc-message:/i.test(l));
  if (status < 0 || message === undefined) return undefined;
  if (!BAD_INPUT.test(decodeURIComponent(message.slice(message.indexOf(':') + 1).trim()))) return undefined;
  lines[status] = 'grpc-status: 3';
  return Buffer.from(lines.join('\r\n'), 'latin1');
}

/** A Connect error (`{code, message}`), made `invalid_argument` when connect blamed itself for bad input. */
function honestConnectError(error: { code?: string; message?: string } | undefined): boolean {
  if (error?.code !== 'internal' || !BAD_INPUT.test(error.message ?? '')) return false;
  error.code = 'invalid_argument';
  return true;
}

/** A Connect end-stream message (`{"error": …}`) with a bad-input `internal` made `invalid_argument`. */
function honestEndStream(payload: Buffer): Buffer | undefined {
  try {
    const end = JSON.parse(payload.toString('utf8')) as { error?: { code?: string; message?: string } };
    return honestConnectError(end.error) ? Buffer.from(JSON.stringify(end), 'utf8') : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Rewrites the status frames of a streamed response body: each chunk connect writes is whole
 * envelopes (flags, length, payload). Anything else passes through untouched.
 */
function honestEnvelopes(chunk: Uint8Array, carrier: 'grpc-web' | 'connect-stream'): Uint8Array {
  const buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  const flag = carrier === 'grpc-web' ? GRPC_WEB_TRAILERS : CONNECT_END_STREAM;
  const honest = carrier === 'grpc-web' ? honestTrailerBlock : honestEndStream;
  const parts: Buffer[] = [];
  let changed = false;
  let at = 0;
  while (at + 5 <= buf.length) {
    const len = buf.readUInt32BE(at + 1);
    if (at + 5 + len > buf.length) return chunk;
    const payload = buf.subarray(at + 5, at + 5 + len);
    const rewritten = (buf[at]! & flag) === flag ? honest(payload) : undefined;
    if (rewritten) {
      const head = Buffer.alloc(5);
      head.writeUInt8(buf[at]!, 0);
      head.writeUInt32BE(rewritten.length, 1);
      parts.push(head, rewritten);
      changed = true;
    } else parts.push(buf.subarray(at, at + 5 + len));
    at += 5 + len;
  }
  return changed && at === buf.length ? Buffer.concat(parts) : chunk;
}

/**
 * Makes the server answer bad input as `invalid_request` (INVALID_ARGUMENT), never `internal`:
 * connect decodes the request before the handler sees it and calls a decoding failure Internal.
 * Rewrites a gRPC status in the trailers, a gRPC-Web status in its trailers frame, a Connect
 * stream's end-stream error, and a Connect unary error body with its HTTP status.
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
  let carrier: Carrier = 'other';
  let held: { status: number; headers: http2.OutgoingHttpHeaders | undefined } | undefined;
  (res as { writeHead: unknown }).writeHead = (status: number, headers?: http2.OutgoingHttpHeaders) => {
    carrier = carrierOf(String(headers?.['content-type'] ?? ''));
    // A Connect unary error: hold the head until the body says what the error is.
    if (status === 500 && carrier === 'connect-unary') {
      held = { status, headers };
      return res;
    }
    return writeHead(status, headers);
  };
  const release = (chunk: unknown): unknown => {
    if ((carrier === 'grpc-web' || carrier === 'connect-stream') && chunk instanceof Uint8Array)
      return honestEnvelopes(chunk, carrier);
    if (!held) return chunk;
    let { status } = held;
    let out = chunk;
    try {
      const error = JSON.parse(Buffer.from(chunk as Uint8Array).toString('utf8')) as {
        code?: string;
        message?: string;
      };
      if (honestConnectError(error)) {
        status = 400;
        out = Buffer.from(JSON.stringify(error), 'utf8');
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
    const first = args[0];
    if (first !== undefined && typeof first !== 'function') args[0] = release(first);
    else if (held) {
      writeHead(held.status, held.headers);
      held = undefined;
    }
    return end(...args);
  };
}
