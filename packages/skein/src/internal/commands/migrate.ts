import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command } from 'commander';
import { UsageError } from '../cli-error.js';
import { flagsOf, outputFor } from '../command-context.js';
import { migrateFailure, migrateThreads } from '../migrate.js';
import type { MigrateEntry, MigrateReport } from '../migrate.js';
import type { Output } from '../output.js';
import { isPostgresUrl, openStore } from '../store-options.js';
import type { OpenedStore, StoreFlags } from '../store-options.js';
import { formatCount } from '../count.js';

interface MigrateFlags {
  from?: string;
  to?: string;
  dryRun?: boolean;
  token?: string;
  json?: boolean;
}

/** `--from` / `--to`: a PostgreSQL URL, a server URL, or a home folder. */
function storeFlagsOf(raw: string, token: string | undefined): StoreFlags {
  if (isPostgresUrl(raw)) return { store: raw };
  if (/^https?:\/\//i.test(raw)) return token === undefined ? { endpoint: raw } : { endpoint: raw, token };
  return { home: raw };
}

function progressPrinter(o: Output): {
  update: (done: number, total: number, e: MigrateEntry) => void;
  done: () => void;
} {
  let last = 0;
  let drawn = false;
  return {
    update: (done, total, e) => {
      const n = formatCount;
      const text = `migrate: ${n(done)}/${n(total)} threads (${e.threadId} ${e.action})`;
      if (o.errIsTTY) {
        o.err(`\r\u001b[2K${text}`);
        drawn = true;
        return;
      }
      const now = Date.now();
      if (now - last >= 1000 || done === total) {
        last = now;
        o.err(`${text}\n`);
      }
    },
    done: () => {
      if (drawn) o.err('\r\u001b[2K');
    },
  };
}

function printReport(o: Output, r: MigrateReport, from: string, to: string): void {
  const n = formatCount;
  const verb = r.dryRun ? 'would copy' : 'copied';
  o.line(`${r.dryRun ? 'Dry run: ' : ''}${from} -> ${to}`);
  o.line(
    `${n(r.threads)} threads: ${verb} ${n(r.copied)}, ${r.dryRun ? 'would resume' : 'resumed'} ${n(r.resumed)}, already there ${n(r.skipped)}, conflicts ${n(r.conflicts)}`,
  );
  for (const e of r.entries.filter((x) => x.action === 'conflict')) o.line(`conflict ${e.threadId}: ${e.reason ?? ''}`);
  for (const e of r.entries.filter((x) => x.standalone !== undefined))
    o.line(
      e.segments !== undefined
        ? `standalone ${e.threadId}: ${e.standalone ?? ''}`
        : `standalone ${e.threadId}: a fork by reference copied with its inherited history (${e.standalone ?? ''})`,
    );
  if (r.verified !== null)
    o.line(`verified ${n(r.verified)} of ${n(r.threads - r.conflicts)} threads (content hash, name, archived)`);
  for (const m of r.mismatched) o.line(`mismatch ${m.threadId}: ${m.reason}`);
}

export function migrateCommand(): Command {
  const cmd = new Command('migrate')
    .description('copy every thread (archived ones and names too) from one store to another, resumably')
    .requiredOption('--from <store>', 'the source: a Codex home folder, a server URL (http://…) or postgres://…')
    .requiredOption('--to <store>', 'the target: a Codex home folder (made when missing), a server URL or postgres://…')
    .option('--dry-run', 'say what would be copied, resumed or skipped; write nothing')
    .option('--token <token>', 'bearer token for a server URL (env SKEIN_TOKEN)')
    .option('--json', 'machine-readable report (shapes: "JSON output" in the skein README)')
    .addHelpText(
      'after',
      `
Re-running copies only what is missing: a thread whose target history has the same content hash
is skipped, an interrupted copy (the target holds the first part of the history) is completed.

Examples:
  skein migrate --from ~/.codex --to postgres://postgres@127.0.0.1/skein
  skein migrate --from postgres://postgres@127.0.0.1/skein --to ./restored-home --dry-run
  skein migrate --from ~/.codex --to http://127.0.0.1:7077`,
    );
  cmd.action(async (_opts: unknown, c: Command) => {
    const flags = flagsOf<MigrateFlags>(c);
    const o = outputFor(c);
    const from = flags.from ?? '';
    const to = flags.to ?? '';
    if (from === to) throw new UsageError('--from and --to name the same store');
    const token = flags.token ?? (process.env.SKEIN_TOKEN || undefined);
    const toFlags = storeFlagsOf(to, token);
    const source = await openStore(storeFlagsOf(from, token));
    let target: OpenedStore | null = null;
    try {
      // A dry run writes nothing: a home that does not exist yet is an empty target.
      const missingHome = toFlags.home !== undefined && !existsSync(resolve(toFlags.home));
      if (!(flags.dryRun && missingHome)) target = await openStore(toFlags, { init: !flags.dryRun });
      const progress = progressPrinter(o);
      let report: MigrateReport;
      try {
        report = await migrateThreads(source.store, target?.store ?? null, {
          dryRun: flags.dryRun === true,
          onProgress: progress.update,
        });
      } finally {
        progress.done();
      }
      if (flags.json) o.json(report);
      else printReport(o, report, source.where, target?.where ?? `home ${resolve(to)} (not made yet)`);
      const failure = migrateFailure(report);
      if (failure) throw failure;
    } finally {
      await source.store.close().catch(() => {});
      await target?.store.close();
    }
  });
  return cmd;
}
