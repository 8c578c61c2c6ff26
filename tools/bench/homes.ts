/** Making, reusing and resetting the synthetic homes the benchmarks run on. */
import { openSync, readdirSync, readSync, closeSync, rmSync, existsSync } from 'node:fs';
import path from 'node:path';
import { generateBigThread, generateHome, listRollouts, readManifest, MANIFEST, type BigThread } from './synth-home.js';
import { fmtCount } from './stats.js';

/** What a pristine synthetic home holds; anything else at its root was made by a store or Codex. */
const PRISTINE = new Set(['sessions', 'archived_sessions', 'config.toml', 'session_index.jsonl', MANIFEST]);

export interface BenchHome {
  dir: string;
  threads: number;
  bytes: number;
  /** Rollout paths relative to the home, oldest first. */
  files: string[];
  /** Seconds spent generating it, or null when a cached copy was reused. */
  generatedSeconds: number | null;
}

export function log(msg: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

/** Returns the home for N threads, generating it unless an identical one is cached in baseDir. */
export function ensureHome(baseDir: string, threads: number, seed: number): BenchHome {
  const dir = path.join(baseDir, `home-${threads}`);
  const cached = readManifest(dir, threads, seed);
  if (cached) {
    resetHome(dir);
    const files = listRollouts(dir);
    if (files.length === threads) {
      log(`reusing ${dir} (${fmtCount(threads)} threads)`);
      return { dir, threads, bytes: cached.bytes, files, generatedSeconds: null };
    }
  }
  rmSync(dir, { recursive: true, force: true });
  log(`generating ${fmtCount(threads)} threads in ${dir}`);
  const made = generateHome({
    dir,
    threads,
    seed,
    onProgress: (done, total) => {
      if (done % 10_000 === 0 || done === total) log(`  ${fmtCount(done)}/${fmtCount(total)}`);
    },
  });
  log(`  ${(made.bytes / 1e6).toFixed(0)} MB in ${made.seconds.toFixed(1)} s`);
  return { dir, threads, bytes: made.bytes, files: made.files, generatedSeconds: made.seconds };
}

/** The 10 MB / 100 MB single-thread homes (one thread each), cached like the others. */
export function ensureBigThread(baseDir: string, megabytes: number): BigThread {
  const dir = path.join(baseDir, `big-${megabytes}mb`);
  const files = existsSync(dir) ? listRollouts(dir) : [];
  if (files.length !== 1 || !existsSync(path.join(dir, `.big-${megabytes}-v1`))) {
    rmSync(dir, { recursive: true, force: true });
    log(`generating a ${megabytes} MB thread in ${dir}`);
    const big = generateBigThread(dir, megabytes);
    closeSync(openSync(path.join(dir, `.big-${megabytes}-v1`), 'w'));
    return big;
  }
  resetHome(dir, new Set([`.big-${megabytes}-v1`]));
  const rel = files[0] ?? '';
  const id = /-([0-9a-f-]{36})\.jsonl$/.exec(rel)?.[1] ?? '';
  const abs = path.join(dir, rel);
  const fd = openSync(abs, 'r');
  let bytes = 0;
  let lines = 0;
  const buf = Buffer.allocUnsafe(1 << 20);
  for (;;) {
    const n = readSync(fd, buf, 0, buf.length, null);
    if (n <= 0) break;
    bytes += n;
    for (let i = 0; i < n; i++) if (buf[i] === 10) lines++;
  }
  closeSync(fd);
  return { dir, id, path: abs, bytes, lines };
}

/** Removes everything a store or Codex added at the home's root (indexes, state DBs, logs). */
export function resetHome(dir: string, keep: ReadonlySet<string> = new Set()): string[] {
  const removed: string[] = [];
  for (const entry of readdirSync(dir)) {
    if (PRISTINE.has(entry) || keep.has(entry)) continue;
    rmSync(path.join(dir, entry), { recursive: true, force: true });
    removed.push(entry);
  }
  return removed;
}

/** Root entries now present that were not in `before`: what a store created. */
export function newRootEntries(dir: string, before: ReadonlySet<string>): string[] {
  return readdirSync(dir).filter((e) => !before.has(e));
}

export function rootEntries(dir: string): Set<string> {
  return new Set(readdirSync(dir));
}

export function removeEntries(dir: string, entries: readonly string[]): void {
  for (const e of entries) rmSync(path.join(dir, e), { recursive: true, force: true });
}

/**
 * Reads every rollout once so both Skein and Codex start from a warm page cache (dropping the
 * cache needs root; warming it is the fair alternative).
 */
export function warmPageCache(home: BenchHome): void {
  const buf = Buffer.allocUnsafe(1 << 20);
  for (const rel of home.files) {
    const fd = openSync(path.join(home.dir, rel), 'r');
    while (readSync(fd, buf, 0, buf.length, null) > 0) {
      // Reading is the point.
    }
    closeSync(fd);
  }
}
