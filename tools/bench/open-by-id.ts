/**
 * What a call costs on a large home, apart from the listing workloads of `pnpm bench`: the cold
 * full index (and how long it blocks the event loop), opening a warm home to its first page,
 * reads by known and unknown id, `skein threads list --json` end to end (process start to exit),
 * a listing's latency from the same process while the background sweep runs, and another
 * client's listing latency while `skein serve` re-reads every file (reindex-serve.ts). Standalone:
 *
 *   pnpm turbo run build --filter=skein...
 *   node --import tsx tools/bench/open-by-id.ts [--dir DIR] [--sizes 1000,10000,100000] [--runs 200] [--cold-max N] [--save yes]
 *
 * `--cold-max N`: homes of more than N threads keep the index already in them (no cold index is
 * measured there; an earlier run built it), e.g. `--cold-max 10000` with 100,000 in `--sizes`.
 * Uses the synthetic homes of `pnpm bench` (`home-<N>` under --dir, generated when missing) and
 * prints a Markdown table; `--save yes` also keeps it in tools/bench/results.json and puts it
 * in BENCHMARKS.md (where `pnpm bench` renders it again).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import type { ThreadId } from '@skein/thread-store-api';
import { ensureHome, resetHome } from './homes.js';
import { describeMachine, gitRevision } from './machine.js';
import { OPEN_BY_ID_HEADING, openByIdSection, putSection, saveResults } from './report.js';
import type { ResultsFile } from './report.js';
import { median, percentile } from './stats.js';
import { LIST_FILTERS } from './skein-list.js';
import { measureReindexUnderServe } from './reindex-serve.js';
import { loadLocalStore } from './store-loader.js';
import type { LocalStore } from './store-loader.js';
import { listRollouts, SYNTH_PROVIDER } from './synth-home.js';

const REPO = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2)
  args.set(process.argv[i]!.replace(/^--/, ''), process.argv[i + 1] ?? '');
const baseDir = args.get('dir') ?? path.join(tmpdir(), 'skein-bench');
const sizes = (args.get('sizes') ?? '1000,10000').split(',').map(Number);
const runs = Number(args.get('runs') ?? '200');
const coldMax = Number(args.get('cold-max') ?? 'Infinity');

const loadBefore = loadavg()[0] ?? 0;
const LocalThreadStore = await loadLocalStore();
type Options = ConstructorParameters<typeof LocalThreadStore>[0] & { fullSweepIntervalMs?: number };
const open = (home: string, extra: Partial<Options> = {}): LocalStore =>
  new (LocalThreadStore as unknown as new (o: Options) => LocalStore)({
    home,
    defaultModelProvider: SYNTH_PROVIDER,
    ...extra,
  });

function fmt(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : ms >= 1 ? `${ms.toFixed(2)} ms` : `${(ms * 1000).toFixed(0)} µs`;
}

async function timed(work: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await work();
  return performance.now() - t0;
}

/**
 * The event loop's longest stall (ms) while `work` runs: the longest gap between the start, the
 * ticks of a 5 ms interval timer, and the end (a loop blocked throughout shows its whole time).
 */
async function maxStall(work: () => Promise<unknown>): Promise<{ ms: number; stallMs: number }> {
  let last = performance.now();
  let stall = 0;
  const tick = setInterval(() => {
    const now = performance.now();
    stall = Math.max(stall, now - last);
    last = now;
  }, 5);
  const ms = await timed(work);
  clearInterval(tick);
  stall = Math.max(stall, performance.now() - last);
  return { ms, stallMs: stall };
}

const idOf = (rel: string): ThreadId => (/-([0-9a-f-]{36})\.jsonl$/.exec(rel)?.[1] ?? '') as ThreadId;
const rows: string[][] = [];
const cli = path.join(REPO, 'packages/skein/dist/bin.js');

for (const n of sizes) {
  // ensureHome resets a cached home (its index goes): above --cold-max the home is read as it is.
  const cold = n <= coldMax;
  const home = cold
    ? ensureHome(baseDir, n, 1)
    : { dir: path.join(baseDir, `home-${n}`), files: listRollouts(path.join(baseDir, `home-${n}`)) };
  const row: string[] = [n.toLocaleString('en-US')];
  if (cold) resetHome(home.dir);
  let store = open(home.dir, { fullSweepIntervalMs: 3_600_000 });
  if (cold) {
    // Cold full index (no index file), and the longest event-loop stall during it.
    const c = await maxStall(() => store.indexNow());
    row.push(fmt(c.ms), fmt(c.stallMs));
  } else {
    await store.indexNow();
    row.push('—', '—');
  }
  await store.close();

  // Open a warm home to its first page, in-process (5 runs).
  const opens: number[] = [];
  for (let i = 0; i < 5; i++) {
    opens.push(
      await timed(async () => {
        const s = open(home.dir, { fullSweepIntervalMs: 3_600_000 });
        await s.listThreads({ ...LIST_FILTERS, pageSize: 50 });
        await s.close();
      }),
    );
  }
  row.push(fmt(median(opens)));

  // Reads by id on an open store: known ids spread over the home, and unknown ids.
  store = open(home.dir, { fullSweepIntervalMs: 3_600_000 });
  await store.listThreads({ ...LIST_FILTERS, pageSize: 50 });
  const known: number[] = [];
  const unknown: number[] = [];
  for (let i = 0; i < runs; i++) {
    const id = idOf(home.files[(i * 7919) % home.files.length] ?? '');
    known.push(await timed(() => store.readThread({ threadId: id })));
    const missing = `0a1b2c3d-0000-4000-8000-${String(i).padStart(12, '0')}` as ThreadId;
    unknown.push(await timed(() => store.readThread({ threadId: missing }).catch(() => undefined)));
  }
  await store.close();
  row.push(`${fmt(median(known))} / ${fmt(percentile(known, 99))}`);
  row.push(`${fmt(median(unknown))} / ${fmt(percentile(unknown, 99))}`);

  // `skein threads list --json` end to end on the warm home (5 runs).
  const walls: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    execFileSync(process.execPath, [cli, 'threads', 'list', '--json', '--home', home.dir], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    walls.push(performance.now() - t0);
  }
  row.push(fmt(median(walls)));

  // Listings from this process while the background sweep runs (interval 0: every listing
  // starts one when none runs); the sweep's own stall is in the same histogram.
  store = open(home.dir, { fullSweepIntervalMs: 0 });
  await store.listThreads({ ...LIST_FILTERS, pageSize: 50 });
  const during: number[] = [];
  const until = performance.now() + Math.max(2000, n / 20);
  const sweep = await maxStall(async () => {
    while (performance.now() < until) {
      during.push(await timed(() => store.listThreads({ ...LIST_FILTERS, pageSize: 50 })));
      await new Promise((r) => setTimeout(r, 5));
    }
  });
  await store.close();
  row.push(`${fmt(percentile(during, 99))} / ${fmt(sweep.stallMs)}`);

  // Another client's listings while `skein serve` re-reads every file (see reindex-serve.ts).
  const re = await measureReindexUnderServe(home.dir);
  const loop = re.loopP99Ms === null ? '—' : `${fmt(re.loopP99Ms)} / ${fmt(re.loopMaxMs ?? 0)}`;
  row.push(`${fmt(re.listP99Ms)} (${re.listCalls} calls in ${fmt(re.reindexMs)}) / ${loop}`);
  rows.push(row);
  console.error(`[open-by-id] ${row.join(' | ')}`);
}

const table = [
  '| threads | cold full index | its longest event-loop stall | open warm home → first page (in-process) | `readThread` known id p50 / p99 | `readThread` unknown id p50 / p99 | `skein threads list --json` (process start → exit) | listing p99 / longest stall during the background sweep | `skein serve` during a re-read of every file: listing p99 of a second client (calls in the re-read) / server event-loop delay p99 / max |',
  '|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ...rows.map((r) => `| ${r.join(' | ')} |`),
].join('\n');
console.log(table);

if (args.get('save') === 'yes') {
  const resultsFile = path.join(REPO, 'tools/bench/results.json');
  let results: ResultsFile;
  try {
    results = JSON.parse(readFileSync(resultsFile, 'utf8')) as ResultsFile;
  } catch {
    results = { machine: describeMachine(baseDir), sizes: {}, global: null, remote: null };
  }
  const given = process.argv.slice(2).join(' ');
  results.openById = {
    date: new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC',
    commit: gitRevision(),
    command: `node --import tsx tools/bench/open-by-id.ts ${given}`.trim(),
    load: `${loadBefore.toFixed(1)} → ${(loadavg()[0] ?? 0).toFixed(1)}`,
    table,
  };
  await saveResults(resultsFile, results);
  putSection(
    path.join(REPO, 'BENCHMARKS.md'),
    OPEN_BY_ID_HEADING,
    openByIdSection(results.openById),
    '## One large thread',
  );
}
