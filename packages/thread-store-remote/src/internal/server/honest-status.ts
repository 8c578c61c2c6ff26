import type * as http2 from 'node:http2';

/**
 * What connect reports as `internal` although the caller sent it: a message that is not valid
 * protobuf, an envelope compressed with nothing it announced, a truncated envelope, a body that
 * does not decompress.
 */
const BAD_INPUT = /^(?:parse binary|received compressed envelope|protocol error|invalid envelope|decompression failed)/;

/** What connect reports as `unimplemented` although the caller sent it: no message, or several, for one call. */
const WRONG_MESSAGE_COUNT = /^protocol error: (?:missing|received extra) input message/;

/** The gRPC status to answer instead of `status` (a string of digits) with `message`: 3 for bad input. */
function honestGrpcStatus(status: string, message: string): string {
  if ((status === '13' && BAD_INPUT.test(message)) || (status === '12' && WRONG_MESSAGE_COUNT.test(message)))
    return '3';
  return status;
}

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
  const at = lines.findIndex((l) => /^grpc-status:/i.test(l));
  const message = lines.find((l) => /^grpc-message:/i.test(l));
  if (at < 0 || message === undefined) return undefined;
  const status = lines[at]!.slice(lines[at]!.indexOf(':') + 1).trim();
  const honest = honestGrpcStatus(status, decodeURIComponent(message.slice(message.indexOf(':') + 1).trim()));
  if (honest === status) return undefined;
  lines[at] = `grpc-status: ${honest}`;
  return Buffer.from(lines.join('\r\n'), 'latin1');
}

/** A Connect error (`{code, message}`), made `invalid_argument` when connect blamed itself for bad input. */
function honestConnectError(error: { code?: string; message?: string } | undefined): boolean {
  const message = error?.message ?? '';
  if (
    !(error?.code === 'internal' && BAD_INPUT.test(message)) &&
    !(error?.code === 'unimplemented' && WRONG_MESSAGE_COUNT.test(message))
  )
    return false;
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
  /** gRPC carries its status in the trailers, or in the headers of a trailers-only answer. */
  const honestHeaders = (headers: http2.OutgoingHttpHeaders | undefined): http2.OutgoingHttpHeaders | undefined => {
    const status = headers?.['grpc-status'];
    if (status === undefined) return headers;
    const honest = honestGrpcStatus(String(status), decodeURIComponent(String(headers?.['grpc-message'] ?? '')));
    return honest === String(status) ? headers : { ...headers, 'grpc-status': honest };
  };
  res.addTrailers = (headers: http2.OutgoingHttpHeaders): void => addTrailers(honestHeaders(headers)!);
  const writeHead = res.writeHead.bind(res) as (status: number, headers?: http2.OutgoingHttpHeaders) => unknown;
  const write = res.write.bind(res) as (chunk: unknown, ...rest: unknown[]) => boolean;
  let carrier: Carrier = 'other';
  let held: { status: number; headers: http2.OutgoingHttpHeaders | undefined } | undefined;
  (res as { writeHead: unknown }).writeHead = (status: number, given?: http2.OutgoingHttpHeaders) => {
    const headers = honestHeaders(given);
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
