import type { Command } from 'commander';
import { isThreadStoreError, ThreadStoreError } from '@skein/thread-store-api';
import type { ThreadStore } from '@skein/thread-store-api';
import { processOutput } from './output.js';
import type { Output } from './output.js';
import { openStore } from './store-options.js';
import type { OpenedStore, OpenOptions, StoreFlags } from './store-options.js';

export interface GlobalFlags {
  verbose?: boolean;
  color?: boolean;
}

/** The flags of a command merged with the program's (`--verbose`, `--no-color`). */
export function flagsOf<T>(cmd: Command): T & GlobalFlags {
  return cmd.optsWithGlobals<T & GlobalFlags>();
}

export function outputFor(cmd: Command): Output {
  return processOutput(flagsOf<GlobalFlags>(cmd).color);
}

/** Transport failures the remote client could not match to a Skein server's own error. */
const NOT_A_SKEIN_SERVER = new Set(['internal', 'unsupported', 'invalid_request', 'not_found']);

/**
 * Makes remote failures say what to check. A Skein server sends every error with its own code
 * and message; an answer without one (a 404 page, an HTTP/1 server, another gRPC service) means
 * the endpoint is something else. And a failure at an address the user did not type names where
 * it came from: a stale SKEIN_ENDPOINT in a shell profile is otherwise a mystery.
 */
function explainRemoteError(err: unknown, opened: OpenedStore): unknown {
  if (opened.endpointFrom === null || !isThreadStoreError(err)) return err;
  const from = opened.endpointFrom === '--endpoint' ? '' : ` (the endpoint comes from ${opened.endpointFrom})`;
  const transport = err.message.startsWith('remote thread store at ');
  if (transport && NOT_A_SKEIN_SERVER.has(err.code)) {
    const url = opened.where.replace(/^endpoint (\S+).*$/, '$1');
    return new ThreadStoreError(
      'unavailable',
      `${url} is not a Skein thread store server (${err.message.replace(/^remote thread store at \S+:? ?/, '')}); point ${opened.endpointFrom} at the address \`skein serve\` prints${from}`,
      { cause: err },
    );
  }
  if (from === '' || !['unavailable', 'unauthenticated', 'permission_denied'].includes(err.code)) return err;
  return new ThreadStoreError(err.code, `${err.message}${from}`, { cause: err });
}

/** Runs `work` with the store the flags name and always closes it, so writers are flushed. */
export async function withStore<T>(
  flags: StoreFlags,
  work: (store: ThreadStore, opened: OpenedStore) => Promise<T>,
  options: OpenOptions = {},
): Promise<T> {
  const opened = await openStore(flags, options);
  let result: T;
  try {
    result = await work(opened.store, opened);
  } catch (err) {
    // The command's own error is the one worth reporting; a failing close after it is noise.
    await opened.store.close().catch(() => {});
    throw explainRemoteError(err, opened);
  }
  try {
    await opened.store.close();
  } catch (err) {
    throw explainRemoteError(err, opened);
  }
  return result;
}
