import { Command } from 'commander';
import { UsageError } from '../cli-error.js';
import { flagsOf, outputFor } from '../command-context.js';
import { redactedUrl, storeUrl } from '../store-options.js';

interface DbFlags {
  store?: string;
}

/** `skein db migrate`: brings a PostgreSQL store's schema up to date ahead of the servers. */
export function dbCommand(): Command {
  const db = new Command('db').description('manage the database of a PostgreSQL store');
  db.command('migrate')
    .description('apply pending schema migrations (safe to run while servers start: one applies, others wait)')
    .option('--store <url>', 'the PostgreSQL database, postgres://user@host/db (env SKEIN_STORE)')
    .action(async (_opts: unknown, c: Command) => {
      const flags = flagsOf<DbFlags>(c);
      const raw = flags.store ?? (process.env.SKEIN_STORE || undefined);
      if (raw === undefined) throw new UsageError('skein db migrate needs --store postgres://… (or SKEIN_STORE)');
      const url = storeUrl(raw);
      const { migratePostgres } = await import('@skein/thread-store-postgres');
      const report = await migratePostgres(url);
      const o = outputFor(c);
      for (const m of report.applied) o.line(`applied ${m.version}: ${m.name}`);
      o.line(
        report.applied.length === 0
          ? `${redactedUrl(url)}: schema is current (version ${report.to})`
          : `${redactedUrl(url)}: schema version ${report.from} -> ${report.to}`,
      );
    });
  return db;
}
