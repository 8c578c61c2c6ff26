import { isThreadStoreError } from '@skein/thread-store-api';
import { UsageError } from './cli-error.js';
import { EXIT_CODES, exitCodeForStoreError } from './exit-codes.js';
import { listingOf } from './resolve-thread.js';

/**
 * Turns any failure into one line on stderr and an exit code. The stack (and causes) only with
 * --verbose: people need the message, bug reports need the rest.
 */
export function reportError(err: unknown, verbose: boolean, writeErr: (s: string) => void): number {
  if (err instanceof UsageError) {
    writeErr(`skein: ${err.message} (see skein help)\n`);
    if (verbose && err.stack) writeErr(`${err.stack}\n`);
    return EXIT_CODES.usage;
  }
  if (isThreadStoreError(err)) {
    writeErr(`skein: ${oneLine(err.message)} [${err.code}]\n`);
    for (const line of listingOf(err)) writeErr(`${line}\n`);
    if (verbose) writeErr(detail(err));
    return exitCodeForStoreError(err.code);
  }
  const message = err instanceof Error ? err.message : String(err);
  writeErr(`skein: unexpected error: ${oneLine(message)} (run with --verbose for details)\n`);
  if (verbose) writeErr(detail(err));
  return EXIT_CODES.internal;
}

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ').trim();
}

function detail(err: unknown): string {
  const parts: string[] = [];
  let cur: unknown = err;
  for (let depth = 0; cur !== undefined && cur !== null && depth < 5; depth++) {
    parts.push(cur instanceof Error ? (cur.stack ?? cur.message) : String(cur));
    cur = cur instanceof Error ? cur.cause : undefined;
    if (cur !== undefined) parts.push('caused by:');
  }
  return parts.join('\n') + '\n';
}
