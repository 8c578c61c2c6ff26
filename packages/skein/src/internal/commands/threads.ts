import { Command } from 'commander';
import { listCommand, searchCommand } from './threads-list.js';
import { exportCommand, showCommand } from './threads-read.js';
import { resumeCommand } from './threads-resume.js';
import {
  archiveCommand,
  deleteCommand,
  forkCommand,
  pruneCommand,
  renameCommand,
  unarchiveCommand,
} from './threads-write.js';

/** The subcommands in the order `skein threads --help` lists them. */
const SUBCOMMANDS: readonly [string, () => Command][] = [
  ['list', listCommand],
  ['show', showCommand],
  ['search', searchCommand],
  ['rename', renameCommand],
  ['archive', archiveCommand],
  ['unarchive', unarchiveCommand],
  ['delete', deleteCommand],
  ['fork', forkCommand],
  ['export', exportCommand],
  ['resume', resumeCommand],
  ['prune', pruneCommand],
];

/**
 * `skein threads`; with `only` naming one of its subcommands (`skein threads list …`), that
 * subcommand alone, which is all such a command line parses (see programFor).
 */
export function threadsCommand(only?: string): Command {
  const threads = new Command('threads').description(
    'list, read, search, rename, archive, delete, fork, export, resume and prune threads',
  );
  const one = SUBCOMMANDS.find(([name]) => name === only);
  for (const [, make] of one ? [one] : SUBCOMMANDS) threads.addCommand(make());
  return threads;
}
