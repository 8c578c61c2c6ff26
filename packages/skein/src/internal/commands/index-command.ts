import { resolve } from 'node:path';
import { Command } from 'commander';
import { requireCodexHome } from '../codex-home.js';
import { flagsOf, outputFor } from '../command-context.js';
import { progressView } from '../progress-bar.js';
import type { ProgressSnapshot } from '../progress-bar.js';
import { DEFAULT_MODEL_PROVIDER, defaultHome, openLocalStore } from '../store-options.js';
import { formatCount } from '../count.js';

interface IndexFlags {
  home?: string;
  rebuild?: boolean;
  defaultProvider?: string;
  json?: boolean;
}

export function indexCommand(): Command {
  const cmd = new Command('index')
    .description("bring a local home's search index up to date with its rollout files")
    .option('--home <dir>', 'the Codex-shaped home (default: $CODEX_HOME, else ~/.codex)')
    .option('--rebuild', 'drop the index and build it again from the files')
    .option(
      '--default-provider <name>',
      `model provider for threads that name none (default: ${DEFAULT_MODEL_PROVIDER})`,
    )
    .option('--json', 'print the final counts as JSON instead of progress')
    .addHelpText(
      'after',
      `
Examples:
  skein index                                   bring ~/.codex's index up to date (a bar on a terminal)
  skein index --home ~/other-home --rebuild     forget the index and read every file again
  skein index --json                            {home, rebuilt, files, bytes, seconds}`,
    );
  cmd.action(async (_opts: unknown, c: Command) => {
    const flags = flagsOf<IndexFlags>(c);
    const o = outputFor(c);
    const home = flags.home === undefined ? defaultHome() : resolve(flags.home);
    requireCodexHome(home, false, 'point --home at a Codex home');
    const store = await openLocalStore(home, flags.defaultProvider);
    // The bar goes to stderr so stdout stays clean for --json; it is a bar only on a terminal.
    const view = progressView(o.err, o.errIsTTY, process.stderr.columns || 80);
    const started = Date.now();
    let last: ProgressSnapshot = { filesDone: 0, filesTotal: null, bytesDone: 0, bytesTotal: null };
    try {
      await store.indexNow({
        rebuild: flags.rebuild === true,
        onProgress: (p) => {
          last = { filesDone: p.filesDone, filesTotal: p.filesTotal, bytesDone: p.bytesDone, bytesTotal: p.bytesTotal };
          if (!flags.json) view.update(last);
        },
      });
    } finally {
      await store.close();
    }
    const seconds = (Date.now() - started) / 1000;
    if (flags.json) {
      o.json({ home, rebuilt: flags.rebuild === true, files: last.filesDone, bytes: last.bytesDone, seconds });
      return;
    }
    view.done();
    if (last.filesDone === 0) {
      o.line(`Index of ${home} is up to date; nothing changed.`);
      return;
    }
    const files = `${formatCount(last.filesDone)} ${last.filesDone === 1 ? 'file' : 'files'}`;
    const mb = (last.bytesDone / 1024 / 1024).toFixed(1);
    o.line(
      `Index of ${home} is up to date: ${flags.rebuild ? 'rebuilt from' : 'read'} ${files} (${mb} MB) in ${seconds.toFixed(1)} s.`,
    );
  });
  return cmd;
}
