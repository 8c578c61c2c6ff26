import { isThreadStoreError, ThreadStoreError } from '@skein/thread-store-api';

/**
 * PostgreSQL and driver failures as ThreadStoreErrors. A lost or refused connection, a server
 * shutting down or a statement timeout is `unavailable` (the call may be retried: writes are
 * idempotent per writer, see flush); too many connections is `resource_exhausted`; the rest is
 * `internal` with the server's message.
 */
const UNAVAILABLE_SQLSTATES = new Set([
  '57P01', // admin_shutdown (pg_terminate_backend, fast shutdown)
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (starting up, recovery)
  '57014', // query_canceled (statement_timeout)
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
  '08007',
  '40001', // serialization_failure
  '40P01', // deadlock_detected
  '55P03', // lock_not_available (lock_timeout)
]);

const CONNECTION_MESSAGES = [
  'Connection terminated',
  'connection terminated',
  'Client has encountered a connection error',
  'Client was closed',
  'timeout exceeded when trying to connect',
  'Connection ended',
  'Query read timeout',
];

const CONNECTION_ERRNOS = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EHOSTUNREACH']);

export function isConnectionError(e: unknown): boolean {
  if (typeof e !== 'object' || e === null) return false;
  const code = (e as { code?: unknown }).code;
  if (typeof code === 'string' && (UNAVAILABLE_SQLSTATES.has(code) || CONNECTION_ERRNOS.has(code))) return true;
  const message = e instanceof Error ? e.message : '';
  return CONNECTION_MESSAGES.some((m) => message.includes(m));
}

/** Wraps anything a query threw; store errors pass through unchanged. */
export function toStoreError(e: unknown, operation: string): ThreadStoreError {
  if (isThreadStoreError(e)) return e;
  const message = e instanceof Error ? e.message : String(e);
  const code = typeof e === 'object' && e !== null ? (e as { code?: unknown }).code : undefined;
  if (code === '53300' || code === '53200')
    return new ThreadStoreError('resource_exhausted', `${operation}: PostgreSQL is out of resources: ${message}`, {
      cause: e,
    });
  if (code === '57014')
    return new ThreadStoreError('unavailable', `${operation}: the statement timed out (statementTimeoutMs)`, {
      cause: e,
    });
  if (isConnectionError(e))
    return new ThreadStoreError('unavailable', `${operation}: PostgreSQL is unavailable: ${message}`, { cause: e });
  if (code === '28P01' || code === '28000')
    return new ThreadStoreError('unauthenticated', `${operation}: PostgreSQL refused the login: ${message}`, {
      cause: e,
    });
  if (code === '42501')
    return new ThreadStoreError('permission_denied', `${operation}: PostgreSQL denied access: ${message}`, {
      cause: e,
    });
  return ThreadStoreError.internal(`${operation}: ${message}`, e);
}
