/**
 * Turn and item pages at the end of one large thread: the turn index must make the newest page
 * cost the same whatever the thread's size. Standalone (not part of `pnpm bench`):
 *
 *   pnpm turbo run build --filter=@skein/thread-store-local
 *   node --import tsx tools/bench/turn-pages.ts [--dir DIR] [--mb 100] [--runs 200] [--save yes]
 *
 * Uses the cached single-thread home of the history benchmark (`big-<mb>mb` under --dir,
 * generated when missing) and prints a Markdown table; `--save yes` also keeps it in
 * tools/bench/results.json and puts it in BENCHMARKS.md (where `pnpm bench` renders it again).
 */
import { readFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import type { ThreadId } from '@skein/thread-store-api';
import { ensureBigThread } from './homes.js';
import { describeMachine, gitRevision } from './machine.js';
import { putSection, saveResults, TURN_PAGES_HEADING, turnPagesSection } from './report.js';
import type { ResultsFile } from './report.js';
import { loadLocalStore } from './store-loader.js';
import { SYNTH_PROVIDER } from './synth-home.js';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2)
  args.set(process.argv[i]!.replace(/^--/, ''), process.argv[i + 1] ?? '');
const baseDir = args.get('dir') ?? path.join(tmpdir(), 'skein-bench');
const mb = Number(args.get('mb') ?? '100');
const runs = Number(args.get('runs') ?? '200');

const loadBefore = loadavg()[0] ?? 0;
const big = ensureBigThread(baseDir, mb);
const LocalThreadStore = await loadLocalStore();
const threadId = big.id as ThreadId;

function fmt(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : ms >= 1 ? `${ms.toFixed(2)} ms` : `${(ms * 1000).toFixed(0)} µs`;
}

async function timed<T>(work: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await work();
  return { ms: performance.now() - t0, value };
}

/**
 * Wall-clock p50 / p99 of `runs` calls, and the process's CPU time per call: on a shared machine
 * the wall clock also counts the time other work held the cores.
 */
async function repeat(work: () => Promise<unknown>): Promise<string> {
  const ms: number[] = [];
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < runs; i++) ms.push((await timed(work)).ms);
  const cpu = process.cpuUsage(cpu0);
  ms.sort((a, b) => a - b);
  const p50 = ms[Math.floor(ms.length / 2)] ?? NaN;
  const p99 = ms[Math.min(ms.length - 1, Math.floor(ms.length * 0.99))] ?? NaN;
  return `${fmt(p50)} / ${fmt(p99)} (CPU ${fmt((cpu.user + cpu.system) / 1000 / runs)} per call)`;
}

const store = new LocalThreadStore({ home: big.dir, defaultModelProvider: SYNTH_PROVIDER });
const rows: [string, string][] = [];
try {
  const cold = await timed(() => store.listTurns({ threadId, pageSize: 20 }));
  const page = cold.value as { turns: { turnId: string }[] };
  rows.push([`First call on a new index: index the ${mb} MB file + last page of 20 turns`, fmt(cold.ms)]);
  const all = await timed(async () => {
    let n = 0;
    let cursor: string | null = null;
    do {
      const p: { turns: unknown[]; nextCursor: string | null } = await store.listTurns({
        threadId,
        pageSize: 1000,
        itemsView: 'notLoaded',
        cursor,
      });
      n += p.turns.length;
      cursor = p.nextCursor;
    } while (cursor !== null);
    return n;
  });
  const turns = all.value;
  const warm = await repeat(() => store.listTurns({ threadId, pageSize: 20 }));
  rows.push([`Last page of 20 turns (of ${turns}), summary items, warm (p50 / p99 of ${runs})`, warm]);
  const full = await repeat(() => store.listTurns({ threadId, pageSize: 20, itemsView: 'full' }));
  rows.push([`… with every item of the 20 turns (\`itemsView: 'full'\`)`, full]);
  const bare = await repeat(() => store.listTurns({ threadId, pageSize: 20, itemsView: 'notLoaded' }));
  rows.push([`… without items (\`itemsView: 'notLoaded'\`)`, bare]);
  const items = await repeat(() => store.listItems({ threadId, pageSize: 50, sortDirection: 'desc' }));
  rows.push([`Last 50 items of the thread (\`listItems\`, desc)`, items]);
  rows.push([`Paging through all ${turns} turns, 1,000 per page, no items`, fmt(all.ms)]);
  if (page.turns.length !== 20) throw new Error(`expected a page of 20 turns, got ${page.turns.length}`);
} finally {
  await store.close();
}
const table = [
  `| Workload (${mb} MB thread, ${big.lines.toLocaleString('en-US')} lines) | Skein |`,
  '| --- | ---: |',
  ...rows.map(([k, v]) => `| ${k} | ${v} |`),
].join('\n');
console.log(table);

if (args.get('save') === 'yes') {
  const repo = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
  const resultsFile = path.join(repo, 'tools/bench/results.json');
  // Only this entry changes: the other figures stay whatever machine they were measured on.
  let results: ResultsFile;
  try {
    results = JSON.parse(readFileSync(resultsFile, 'utf8')) as ResultsFile;
  } catch {
    results = { machine: describeMachine(baseDir), sizes: {}, global: null, remote: null };
  }
  const given = process.argv.slice(2).join(' ');
  results.turnPages = {
    date: new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC',
    commit: gitRevision(),
    command: `node --import tsx tools/bench/turn-pages.ts ${given}`.trim(),
    load: `${loadBefore.toFixed(1)} → ${(loadavg()[0] ?? 0).toFixed(1)}`,
    table,
  };
  await saveResults(resultsFile, results);
  // The section goes before the remote store's, replacing an earlier one.
  putSection(
    path.join(repo, 'BENCHMARKS.md'),
    TURN_PAGES_HEADING,
    turnPagesSection(results.turnPages),
    '## Remote store',
  );
}
