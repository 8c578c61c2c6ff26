import { Code, ConnectError } from '@connectrpc/connect';
import type { ThreadStoreErrorCode } from '@skein/thread-store-api';
import { isThreadStoreError, isThreadStoreErrorCode, ThreadStoreError } from '@skein/thread-store-api';
import { ThreadStoreErrorDetailSchema } from '../../gen/skein/threadstore/v1/types_pb.js';

/** The gRPC status each ThreadStoreError code travels as. */
export const GRPC_CODE_OF: Readonly<Record<ThreadStoreErrorCode, Code>> = {
  not_found: Code.NotFound,
  invalid_request: Code.InvalidArgument,
  conflict: Code.FailedPrecondition,
  unsupported: Code.Unimplemented,
  resource_exhausted: Code.ResourceExhausted,
  unavailable: Code.Unavailable,
  unauthenticated: Code.Unauthenticated,
  permission_denied: Code.PermissionDenied,
  internal: Code.Internal,
};

/**
 * Server side: a ThreadStoreError keeps its message and rides a ThreadStoreErrorDetail with its
 * exact code; anything else is `internal`, with the original message so the caller can act.
 */
export function toConnectError(e: unknown): { error: ConnectError; code: ThreadStoreErrorCode } {
  const err = isThreadStoreError(e)
    ? e
    : e instanceof ConnectError
      ? fromStatus(e.code, e.rawMessage)
      : ThreadStoreError.internal(`the remote thread store failed: ${e instanceof Error ? e.message : String(e)}`);
  const detail = { desc: ThreadStoreErrorDetailSchema, value: { code: err.code } };
  return { error: new ConnectError(err.message, GRPC_CODE_OF[err.code], undefined, [detail], e), code: err.code };
}

/** A status without a Skein detail (a proxy, the framework itself, or another server). */
function fromStatus(code: Code, message: string): ThreadStoreError {
  switch (code) {
    case Code.NotFound:
      return new ThreadStoreError('not_found', message);
    case Code.InvalidArgument:
    case Code.OutOfRange:
      return new ThreadStoreError('invalid_request', message);
    case Code.AlreadyExists:
    case Code.FailedPrecondition:
      return new ThreadStoreError('conflict', message);
    // Connect's word for a stream or socket that broke under the call: not another writer.
    case Code.Aborted:
      return new ThreadStoreError('unavailable', message);
    case Code.Unimplemented:
      return new ThreadStoreError('unsupported', message);
    case Code.ResourceExhausted:
      return new ThreadStoreError('resource_exhausted', message);
    case Code.Unavailable:
      return new ThreadStoreError('unavailable', message);
    case Code.Unauthenticated:
      return new ThreadStoreError('unauthenticated', message);
    case Code.PermissionDenied:
      return new ThreadStoreError('permission_denied', message);
    default:
      return new ThreadStoreError('internal', message);
  }
}

export interface ClientErrorContext {
  baseUrl: string;
  method: string;
  timeoutMs: number | undefined;
}

/**
 * Client side: the exact code from the detail when the server sent one; otherwise the status
 * mapped with a message that says what happened and what to do.
 */
export function fromConnectError(e: unknown, ctx: ClientErrorContext): ThreadStoreError {
  if (isThreadStoreError(e)) return e;
  const ce = ConnectError.from(e);
  const detail = ce.findDetails(ThreadStoreErrorDetailSchema)[0];
  if (detail && isThreadStoreErrorCode(detail.code))
    return new ThreadStoreError(detail.code, ce.rawMessage, { cause: ce });
  const where = `remote thread store at ${ctx.baseUrl}`;
  // Without a Skein detail, a broken connection must not pass for a store answer: connect maps a
  // reset socket to Aborted (which would read as conflict) and a reset stream to Internal.
  const broken = transportFailure(ce);
  if (broken !== undefined)
    return new ThreadStoreError(
      'unavailable',
      `${where} is unavailable: the connection broke during ${ctx.method} (${broken}); check that the server is running and reachable. Reads are retried; a write may or may not have been applied — read the thread before retrying a write`,
      { cause: ce },
    );
  const tls = tlsFailure(ce);
  if (tls !== undefined)
    return new ThreadStoreError(
      'unavailable',
      `cannot verify the TLS certificate of the ${where} (${tls}); pass tls.ca with the certificate that signed it`,
      { cause: ce },
    );
  switch (ce.code) {
    case Code.Unavailable:
      return new ThreadStoreError(
        'unavailable',
        `${where} is unavailable (${ctx.method}: ${ce.rawMessage}); check that the server is running and reachable, then retry`,
        { cause: ce },
      );
    case Code.DeadlineExceeded:
      return new ThreadStoreError(
        'unavailable',
        `${where} did not answer ${ctx.method} within ${String(ctx.timeoutMs)} ms (${ce.rawMessage}); a write may or may not have been applied — read the thread before retrying a write`,
        { cause: ce },
      );
    // A status without the Skein detail: only the server's own detail says `conflict`.
    case Code.Aborted:
      return new ThreadStoreError(
        'unavailable',
        `${ctx.method} on the ${where} was aborted (${ce.rawMessage}); retry`,
        { cause: ce },
      );
    case Code.Canceled:
      return new ThreadStoreError('unavailable', `${ctx.method} on the ${where} was cancelled: ${ce.rawMessage}`, {
        cause: ce,
      });
    case Code.ResourceExhausted:
      return new ThreadStoreError(
        'resource_exhausted',
        `${where} refused ${ctx.method}: ${ce.rawMessage} (a server limit; send smaller requests)`,
        { cause: ce },
      );
    case Code.Unauthenticated:
      return new ThreadStoreError(
        'unauthenticated',
        `${where} refused ${ctx.method}: ${ce.rawMessage}; check the token`,
        { cause: ce },
      );
    case Code.Unknown:
    case Code.Internal:
    case Code.DataLoss:
      return new ThreadStoreError('internal', `${where} failed ${ctx.method}: ${ce.rawMessage}`, { cause: ce });
    default: {
      const mapped = fromStatus(ce.code, `${where}: ${ce.rawMessage}`);
      return new ThreadStoreError(mapped.code, mapped.message, { cause: ce });
    }
  }
}

/** Node error codes of a connection or stream that broke under a call. */
const TRANSPORT_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ERR_STREAM_DESTROYED',
  'ERR_STREAM_PREMATURE_CLOSE',
  'ERR_HTTP2_STREAM_ERROR',
  'ERR_HTTP2_SESSION_ERROR',
  'ERR_HTTP2_GOAWAY_SESSION',
  'ERR_HTTP2_INVALID_SESSION',
  'ERR_HTTP2_INVALID_STREAM',
  'ERR_HTTP2_STREAM_CANCEL',
  'ERR_HTTP2_PING_CANCEL',
]);

/** Messages connect gives a stream reset by HTTP/2 (no Node error code survives in them). */
const TRANSPORT_MESSAGE =
  /(?:http\/2 )?stream closed with error code|socket hang up|premature close|session (?:has been )?destroyed|received GOAWAY/i;

/** What broke in the connection behind an error without a Skein detail, if that is what it is. */
function transportFailure(e: ConnectError): string | undefined {
  for (let c: unknown = e, depth = 0; c instanceof Error && depth < 6; c = c.cause, depth++) {
    const code = (c as { code?: unknown }).code;
    if (typeof code === 'string' && TRANSPORT_CODES.has(code)) return `${code}: ${c.message}`;
  }
  if (TRANSPORT_MESSAGE.test(e.rawMessage)) return e.rawMessage;
  return undefined;
}

/** The TLS verification failure behind an error, if that is what it is. */
function tlsFailure(e: unknown): string | undefined {
  for (let c: unknown = e, depth = 0; c instanceof Error && depth < 5; c = c.cause, depth++) {
    const code = (c as { code?: unknown }).code;
    if (typeof code === 'string' && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(code))
      return `${code}: ${c.message}`;
  }
  return undefined;
}
