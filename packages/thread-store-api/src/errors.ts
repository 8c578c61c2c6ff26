/**
 * The one error type every Skein store throws. The brand (a registered symbol) lets
 * `isThreadStoreError` recognise errors created by another copy of this package.
 */
export const THREAD_STORE_ERROR_CODES = [
  'not_found',
  'invalid_request',
  'conflict',
  'unsupported',
  'resource_exhausted',
  'unavailable',
  'unauthenticated',
  'permission_denied',
  'internal',
] as const;

/**
 * What went wrong, in words every store and the remote protocol share: `not_found`,
 * `invalid_request`, `conflict`, `unsupported`, `resource_exhausted`, `unavailable`,
 * `unauthenticated`, `permission_denied` or `internal`.
 */
export type ThreadStoreErrorCode = (typeof THREAD_STORE_ERROR_CODES)[number];

const BRAND = Symbol.for('@skein/thread-store-api/ThreadStoreError');

/**
 * The error every `ThreadStore` method rejects with. Test it with `isThreadStoreError(e, code)`
 * rather than `instanceof`, which fails across two copies of this package.
 */
export class ThreadStoreError extends Error {
  readonly code: ThreadStoreErrorCode;
  readonly [BRAND] = true;

  constructor(code: ThreadStoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ThreadStoreError';
    this.code = code;
  }

  /** A `not_found` error for a thread id. */
  static notFound(threadId: string): ThreadStoreError {
    return new ThreadStoreError('not_found', `thread ${threadId} not found`);
  }

  /** An `invalid_request` error: the caller's input is wrong. */
  static invalidRequest(message: string): ThreadStoreError {
    return new ThreadStoreError('invalid_request', message);
  }

  /** A `conflict` error: the thread's state forbids the call (e.g. a second live writer). */
  static conflict(message: string): ThreadStoreError {
    return new ThreadStoreError('conflict', message);
  }

  /** An `unsupported` error: this store cannot do `operation`, for the reason `why`. */
  static unsupported(operation: string, why: string): ThreadStoreError {
    return new ThreadStoreError('unsupported', `${operation} is not supported: ${why}`);
  }

  /** An `internal` error: a bug or an unexpected failure below the store, with its cause. */
  static internal(message: string, cause?: unknown): ThreadStoreError {
    return new ThreadStoreError('internal', message, cause === undefined ? undefined : { cause });
  }
}

/** True when `value` is one of `THREAD_STORE_ERROR_CODES`. */
export function isThreadStoreErrorCode(value: unknown): value is ThreadStoreErrorCode {
  return typeof value === 'string' && (THREAD_STORE_ERROR_CODES as readonly string[]).includes(value);
}

/** True for a ThreadStoreError from any copy of this package. */
export function isThreadStoreError(value: unknown, code?: ThreadStoreErrorCode): value is ThreadStoreError {
  if (typeof value !== 'object' || value === null) return false;
  if ((value as Record<symbol, unknown>)[BRAND] !== true) return false;
  return code === undefined || (value as { code?: unknown }).code === code;
}

/**
 * Wraps anything thrown by a lower layer as a ThreadStoreError, keeping store errors as they are.
 *
 * @internal
 */
export function toThreadStoreError(value: unknown, context: string): ThreadStoreError {
  if (isThreadStoreError(value)) return value;
  const message = value instanceof Error ? value.message : String(value);
  return ThreadStoreError.internal(`${context}: ${message}`, value);
}
