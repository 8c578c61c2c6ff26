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

export function threadsCommand(): Command {
  const threads = new Command('threads').description(
    'list, read, search, rename, archive, delete, fork, export, resume and prune threads',
  );
  for (const c of [
    listCommand(),
    showCommand(),
    searchCommand(),
    renameCommand(),
    archiveCommand(),
    unarchiveCommand(),
    deleteCommand(),
    forkCommand(),
    exportCommand(),
    resumeCommand(),
    pruneCommand(),
  ])
    threads.addCommand(c);
  return threads;
}
