import type { Command } from 'commander';
import { ThreadStoreError } from '@skein/thread-store-api';
import { ExitWith } from '../cli-error.js';
import { findOnPath } from '../find-on-path.js';
import { flagsOf, outputFor, withStore } from '../command-context.js';
import { resolveThread } from '../resolve-thread.js';
import type { StoreFlags } from '../store-options.js';
import { storeCommand, THREAD_ARG } from './thread-command-kit.js';

function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`;
}

export function resumeCommand(): Command {
  const cmd = storeCommand('resume', 'continue a thread in Codex (runs codex resume with the right CODEX_HOME)', [
    'skein threads resume "release notes"',
    'skein threads resume 0193a1b2 --home ~/other-codex-home',
  ]).argument('<thread>', THREAD_ARG);
  cmd.action(async (ref: string, _opts: unknown, c: Command) => {
    const flags = flagsOf<StoreFlags>(c);
    const o = outputFor(c);
    // The store is closed before Codex starts: Codex takes the thread's writer lock itself.
    const { threadId, home } = await withStore(flags, async (store, opened) => {
      if (opened.home === null)
        throw new ThreadStoreError(
          'unsupported',
          `codex resume needs the thread's Codex home on this machine; ${opened.where} is a server`,
        );
      const t = await resolveThread(store, ref, opened.storeArgs);
      return { threadId: t.threadId, home: opened.home };
    });
    const command = `CODEX_HOME=${shellQuote(home)} codex resume ${threadId}`;
    const codex = findOnPath('codex');
    if (codex === null) {
      o.err('codex is not on PATH; to continue this thread in Codex, run:\n');
      o.line(command);
      return;
    }
    const { spawn } = await import('node:child_process');
    const child = spawn(codex, ['resume', threadId], { stdio: 'inherit', env: { ...process.env, CODEX_HOME: home } });
    // Codex owns the terminal now: Ctrl-C is for it, not for us.
    const ignore = (): void => {};
    process.on('SIGINT', ignore);
    try {
      const code = await new Promise<number>((resolve) => {
        child.once('error', (err) => {
          o.err(`skein: could not start ${codex}: ${err.message}\n`);
          resolve(1);
        });
        child.once('exit', (exit, signal) => resolve(exit ?? (signal === 'SIGINT' ? 130 : 1)));
      });
      if (code !== 0) throw new ExitWith(code);
    } finally {
      process.off('SIGINT', ignore);
    }
  });
  return cmd;
}
