import type { Command } from 'commander';
import type { ThreadStore } from '@skein/thread-store-api';
import { processOutput } from './output.js';
import type { Output } from './output.js';
import { openStore } from './store-options.js';
import type { OpenedStore, StoreFlags } from './store-options.js';

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

/** Runs `work` with the store the flags name and always closes it, so writers are flushed. */
export async function withStore<T>(
  flags: StoreFlags,
  work: (store: ThreadStore, opened: OpenedStore) => Promise<T>,
  options: { create?: boolean } = {},
): Promise<T> {
  const opened = await openStore(flags, options);
  let result: T;
  try {
    result = await work(opened.store, opened);
  } catch (err) {
    // The command's own error is the one worth reporting; a failing close after it is noise.
    await opened.store.close().catch(() => {});
    throw err;
  }
  await opened.store.close();
  return result;
}
