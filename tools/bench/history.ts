/** Runs history-child.ts in fresh Node processes and collects what it reports. */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BigThread } from './synth-home.js';
import { log } from './homes.js';
import { median } from './stats.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));

export interface HistoryChildReport {
  bytes: number;
  items: number;
  ms: number[];
  baseRss: number;
  baseHeapUsed: number;
  peakRss: number;
  peakHeapUsed: number;
  peakExternal: number;
  heapLimit: number;
}

export interface HistoryResult {
  megabytes: number;
  report: HistoryChildReport;
  mbPerSec: number;
}

export interface HeapCapResult {
  capMb: number;
  ok: boolean;
  detail: string;
}

function runChild(
  big: BigThread,
  runs: number,
  nodeFlags: string[],
): { ok: boolean; report?: HistoryChildReport; stderr: string } {
  const r = spawnSync(
    process.execPath,
    [...nodeFlags, '--import', 'tsx', path.join(HERE, 'history-child.ts'), big.dir, big.id, String(runs)],
    {
      cwd: path.resolve(HERE, '../..'),
      encoding: 'utf8',
      maxBuffer: 16 * 1024 * 1024,
      timeout: 20 * 60_000,
    },
  );
  if (r.status !== 0) return { ok: false, stderr: `${r.stderr}`.slice(-3000) };
  const line = r.stdout.trim().split('\n').pop() ?? '';
  return { ok: true, report: JSON.parse(line) as HistoryChildReport, stderr: r.stderr };
}

/** Throughput and memory high-water marks while streaming one big thread (median of `runs`). */
export function measureHistory(big: BigThread, megabytes: number, runs: number): HistoryResult {
  const r = runChild(big, runs, ['--expose-gc']);
  if (!r.ok || !r.report) throw new Error(`history child failed:\n${r.stderr}`);
  const mbPerSec = r.report.bytes / 1e6 / (median(r.report.ms) / 1000);
  log(
    `  history ${megabytes} MB: ${mbPerSec.toFixed(0)} MB/s, ${r.report.items} items, peak heap ${(r.report.peakHeapUsed / 2 ** 20).toFixed(0)} MiB, peak RSS ${(r.report.peakRss / 2 ** 20).toFixed(0)} MiB`,
  );
  return { megabytes, report: r.report, mbPerSec };
}

/**
 * The proof that memory does not grow with the thread: stream the whole history with the V8 heap
 * capped well below the file's size. A store that buffered the history would abort.
 */
export function heapCapProof(big: BigThread, capMb: number): HeapCapResult {
  const r = runChild(big, 1, [`--max-old-space-size=${capMb}`]);
  const detail =
    r.ok && r.report
      ? `streamed ${r.report.items} items (${(r.report.bytes / 1e6).toFixed(0)} MB) with the old space capped at ${capMb} MiB`
      : `failed with the heap capped at ${capMb} MiB: ${r.stderr
          .split('\n')
          .filter((l) => /heap|memory|Error/i.test(l))
          .slice(0, 3)
          .join(' | ')}`;
  log(`  heap-cap proof: ${detail}`);
  return { capMb, ok: r.ok, detail };
}
