/**
 * `thread/list` and `thread/read` through `skein app-server` and the real `codex app-server`
 * 0.169.0: the same requests, on the same synthetic home, one server after the other in one run.
 * Standalone (not part of `pnpm bench`):
 *
 *   pnpm turbo run build --filter=skein...
 *   node --import tsx tools/bench/app-server.ts [--dir DIR] [--threads 10000] [--runs 50] [--save yes]
 *
 * Uses (or generates) the cached home of `pnpm bench` (`home-<threads>` under --dir). Each server
 * is started and warmed first (Codex indexes the rollouts into its state database before it
 * answers `initialize`; Skein's local store builds its index on the first listing), so the
 * figures are warm requests. Prints a Markdown table; `--save yes` also puts it in BENCHMARKS.md.
 */
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AppServerClient } from './app-server-client.js';
import { ensureHome, log } from './homes.js';
import { gitRevision } from './machine.js';
import { extraSection, saveExtraSection } from './report.js';
import { percentile } from './stats.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SKEIN_BIN = path.join(REPO, 'packages/skein/dist/bin.js');
const HEADING = '## App-server protocol: `skein app-server` and `codex app-server`';
const READING = `Reading: a home this benchmark ran on before already has Skein's index (and the turns of the
threads read then) and Codex's state database; "never opened" describes the first run. Warm
\`thread/list\` pages, \`thread/read\` and \`thread/turns/list\` come from Skein's index, Codex reads
its state database. Listing through every thread costs Skein one read of each rollout's first
line, for the protocol's \`originator\` (not in Skein's thread summary; then remembered).`;

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2)
  args.set(process.argv[i]!.replace(/^--/, ''), process.argv[i + 1] ?? '');
const baseDir = args.get('dir') ?? path.join(tmpdir(), 'skein-bench');
const threads = Number(args.get('threads') ?? '10000');
const runs = Number(args.get('runs') ?? '50');

/** Every source the synthetic homes use, every provider. */
const LIST = { sourceKinds: ['cli', 'vscode', 'exec'], modelProviders: [] as string[] };

interface Page {
  data: { id: string }[];
  nextCursor: string | null;
}

function fmt(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(2)} ms`;
}

async function sample(n: number, work: (i: number) => Promise<unknown>): Promise<string> {
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await work(i);
    ms.push(performance.now() - t0);
  }
  return `${fmt(percentile(ms, 50))} / ${fmt(percentile(ms, 99))}`;
}

async function measure(name: string, home: string, command: string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  log(`${name}: starting (cold)`);
  const { client, initializeMs } = await AppServerClient.start(home, command);
  try {
    const t0 = performance.now();
    await client.request<Page>('thread/list', { ...LIST, limit: 25 });
    out.set('start', `${fmt(initializeMs)} + ${fmt(performance.now() - t0)}`);
    // Every thread, 100 per page (Codex's largest page).
    const ids: string[] = [];
    const tAll = performance.now();
    let cursor: string | null = null;
    do {
      const page: Page = await client.request<Page>('thread/list', { ...LIST, limit: 100, cursor });
      ids.push(...page.data.map((t) => t.id));
      cursor = page.nextCursor;
    } while (cursor !== null);
    out.set('all', `${fmt(performance.now() - tAll)} (${ids.length} threads)`);
    log(`${name}: warm requests`);
    out.set('first', await sample(runs, () => client.request('thread/list', { ...LIST, limit: 25 })));
    out.set(
      'updated',
      await sample(runs, () => client.request('thread/list', { ...LIST, limit: 25, sortKey: 'updated_at' })),
    );
    out.set(
      'cwd',
      await sample(runs, () => client.request('thread/list', { ...LIST, limit: 25, searchTerm: 'zanzibar' })),
    );
    const pick = (i: number): string => ids[(i * 7919) % ids.length]!;
    out.set('read', await sample(runs, (i) => client.request('thread/read', { threadId: pick(i) })));
    out.set(
      'readTurns',
      await sample(runs, (i) => client.request('thread/read', { threadId: pick(i + runs), includeTurns: true })),
    );
    out.set(
      'turns',
      await sample(runs, (i) => client.request('thread/turns/list', { threadId: pick(i + 2 * runs), limit: 1 })),
    );
  } finally {
    await client.close();
  }
  return out;
}

const loadBefore = loadavg()[0] ?? 0;
const home = ensureHome(baseDir, threads, 1);
const codex = await measure('codex app-server', home.dir, [
  (await import('./app-server-client.js')).codexBinary(),
  'app-server',
]);
const skein = await measure('skein app-server', home.dir, [
  process.execPath,
  SKEIN_BIN,
  'app-server',
  '--home',
  home.dir,
]);
const loadAfter = loadavg()[0] ?? 0;

const rows: [string, string][] = [
  ['start', 'Start on a home never opened (`initialize` + first `thread/list` page, cold: indexing included)'],
  ['all', '`thread/list` through every thread, 100 per page'],
  ['first', `\`thread/list\` first page of 25 (p50 / p99 of ${runs})`],
  ['updated', '… sorted by `updated_at`'],
  ['cwd', '… with `searchTerm`'],
  ['read', `\`thread/read\` of a thread (p50 / p99 of ${runs})`],
  ['readTurns', '… with `includeTurns`'],
  ['turns', '`thread/turns/list` of a thread, limit 1'],
];
const table = [
  `| Workload (${threads.toLocaleString('en-US')} threads, ${(home.bytes / 1e6).toFixed(0)} MB) | skein app-server (local store) | codex app-server 0.169.0 |`,
  '| --- | ---: | ---: |',
  ...rows.map(([k, label]) => `| ${label} | ${skein.get(k) ?? ''} | ${codex.get(k) ?? ''} |`),
].join('\n');
const entry = {
  title: HEADING.slice(3),
  date: `${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`,
  commit: gitRevision(),
  command: `node --import tsx tools/bench/app-server.ts --threads ${threads} --runs ${runs} --save yes`,
  load: `${loadBefore.toFixed(1)} → ${loadAfter.toFixed(1)}`,
  body: `Both servers answer over stdio, one after the other, on the same home; every request is the same JSON-RPC text for both. Wall-clock figures include any time other work held the cores (see the load average).

${table}

${READING}`,
};
process.stdout.write(extraSection(entry));
if (args.get('save') === 'yes') {
  await saveExtraSection(REPO, 'appServer', entry);
  log('BENCHMARKS.md and results.json updated');
}
