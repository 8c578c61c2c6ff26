import type { ThreadStoreErrorCode } from '@skein/thread-store-api';

/**
 * Process exit codes. Each ThreadStoreError code has its own, so scripts can tell "no such
 * thread" from "server down" without parsing messages. Documented in the README.
 */
export const EXIT_CODES = {
  ok: 0,
  /** An unexpected failure (`internal`, or a bug). */
  internal: 1,
  /** Bad command line: unknown command or option, missing or malformed argument. */
  usage: 2,
  not_found: 3,
  invalid_request: 4,
  conflict: 5,
  unsupported: 6,
  resource_exhausted: 7,
  unavailable: 8,
  unauthenticated: 9,
  permission_denied: 10,
  /** Stopped by Ctrl-C / SIGINT before finishing. */
  interrupted: 130,
} as const satisfies Record<ThreadStoreErrorCode | 'ok' | 'usage' | 'interrupted', number>;

/** The exit code the CLI uses for a `ThreadStoreError` code. */
export function exitCodeForStoreError(code: ThreadStoreErrorCode): number {
  return EXIT_CODES[code];
}
