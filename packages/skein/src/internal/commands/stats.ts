import type { Command } from 'commander';
import { SESSION_SOURCE_KINDS, sessionSourceKey } from '@skein/thread-store-api';
import type { LocalThreadStore } from '@skein/thread-store-local';
import type { ThreadStore } from '@skein/thread-store-api';
import { everyThread } from '../every-thread.js';
import { flagsOf, outputFor, withStore } from '../command-context.js';
import type { Output } from '../output.js';
import type { StoreFlags } from '../store-options.js';
import { renderTable } from '../table.js';
import { storeCommand, withJson } from './thread-command-kit.js';
import type { JsonFlag } from './thread-command-kit.js';
import { formatCount } from '../count.js';

/** The `--json` shape of `skein stats` (documented in the README). */
export interface StatsJson {
  threads: number;
  active: number;
  archived: number;
  /** Bytes of rollout files; null through `--endpoint` (a server does not expose files). */
  bytes: number | null;
  byMonth: Record<string, number>;
  byProvider: Record<string, number>;
  bySource: Record<string, number>;
}

function bump(m: Record<string, number>, key: string): void {
  m[key] = (m[key] ?? 0) + 1;
}

async function gather(store: ThreadStore, local: LocalThreadStore | null): Promise<StatsJson> {
  const s: StatsJson = {
    threads: 0,
    active: 0,
    archived: 0,
    bytes: null,
    byMonth: {},
    byProvider: {},
    bySource: {},
  };
  for (const archived of [false, true]) {
    for await (const t of everyThread(store, archived)) {
      s.threads += 1;
      if (archived) s.archived += 1;
      else s.active += 1;
      bump(s.byMonth, t.createdAt.toISOString().slice(0, 7));
      bump(s.byProvider, t.modelProvider);
      bump(s.bySource, sessionSourceKey(t.source));
    }
  }
  if (local) {
    // From the index (sizes recorded when files are indexed), for the same threads as above.
    const every = { allowedSources: SESSION_SOURCE_KINDS, modelProviders: [] };
    s.bytes = (await local.rolloutBytes(every)) + (await local.rolloutBytes({ ...every, archived: true }));
  }
  s.byMonth = Object.fromEntries(Object.entries(s.byMonth).sort(([a], [b]) => b.localeCompare(a)));
  const byCount = (m: Record<string, number>): Record<string, number> =>
    Object.fromEntries(Object.entries(m).sort(([ak, a], [bk, b]) => b - a || ak.localeCompare(bk)));
  s.byProvider = byCount(s.byProvider);
  s.bySource = byCount(s.bySource);
  return s;
}

function fmtBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  if (n < 1024 ** 3) return `${(n / 1024 / 1024).toFixed(1)} MB`;
  return `${(n / 1024 ** 3).toFixed(2)} GB`;
}

function printStats(o: Output, s: StatsJson, where: string): void {
  const n = formatCount;
  o.line(`${o.style.bold('Threads')}   ${n(s.threads)} (${n(s.active)} active, ${n(s.archived)} archived) in ${where}`);
  if (s.bytes !== null) o.line(`${o.style.bold('Size')}      ${fmtBytes(s.bytes)} of rollout files`);
  for (const [title, m] of [
    ['MONTH', s.byMonth],
    ['PROVIDER', s.byProvider],
    ['SOURCE', s.bySource],
  ] as const) {
    const rows = Object.entries(m).map(([k, v]) => [k, n(v)]);
    if (rows.length === 0) continue;
    o.line();
    o.out(renderTable([{ header: title }, { header: 'THREADS' }], rows, o.style, o.columns));
  }
}

export function statsCommand(): Command {
  const cmd = withJson(
    storeCommand('stats', 'how many threads, how big, by month, provider and source', [
      'skein stats',
      'skein stats --endpoint http://127.0.0.1:7077 --json',
    ]),
  );
  cmd.action(async (_opts: unknown, c: Command) => {
    const flags = flagsOf<StoreFlags & JsonFlag>(c);
    const o = outputFor(c);
    await withStore(flags, async (store, opened) => {
      const s = await gather(store, opened.local);
      if (flags.json) o.json(s);
      else printStats(o, s, opened.where);
    });
  });
  return cmd;
}
