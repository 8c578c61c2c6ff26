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

/**
 * A failure to reach a server whose address the user did not type names where it came from:
 * a stale SKEIN_ENDPOINT in a shell profile is otherwise a mystery.
 */
function withEndpointSource(err: unknown, opened: OpenedStore): unknown {
  if (opened.endpointFrom === null || opened.endpointFrom === '--endpoint' || !isThreadStoreError(err)) return err;
  if (!['unavailable', 'unauthenticated', 'permission_denied', 'unsupported', 'internal'].includes(err.code))
    return err;
  return new ThreadStoreError(err.code, `${err.message} (the endpoint comes from ${opened.endpointFrom})`, {
    cause: err,
  });
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
    throw withEndpointSource(err, opened);
  }
  try {
    await opened.store.close();
  } catch (err) {
    throw withEndpointSource(err, opened);
  }
  return result;
}
