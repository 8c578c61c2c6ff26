/**
 * Listings from a client of `skein serve` while the server re-reads every rollout file of the
 * home in the background: the client's `listThreads` latencies (p50 / p99 / max) and the
 * server's event-loop delay (perf_hooks.monitorEventLoopDelay, through loop-delay-preload.mjs)
 * over the re-index.
 *
 * The home's index is built first (in this process, when it has none or is behind), and the
 * server started and warmed up with 20 listings. The rows of the files (their states, turns and
 * messages) are then dropped, the thread rows kept, and the last full look at the home dated to
 * 1970: the server answers listings from the thread rows, and its background sweep, due at the
 * next listing, finds every file new and reads it again. The client lists (a page of 25, then
 * 5 ms) until the sweep has re-read every file.
 *
 *   pnpm turbo run build --filter=skein...
 *   node --import tsx tools/bench/reindex-serve.ts --home DIR [--cpu-prof DIR]
 *
 * `--cpu-prof DIR` runs the server under `node --cpu-prof` (see cpuprofile-top.mjs).
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { loadavg } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { childCpuUs, loadRemote, pct, serve, stop } from './load.js';
import { loadLocalStore } from './store-loader.js';
import { SYNTH_PROVIDER } from './synth-home.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const PRELOAD = pathToFileURL(path.join(REPO, 'tools/bench/loop-delay-preload.mjs')).href;

interface SqliteDb {
  prepare(sql: string): { get(...args: unknown[]): unknown };
  exec(sql: string): void;
  close(): void;
}
type SqliteCtor = new (file: string, options?: { readonly?: boolean }) => SqliteDb;

function sqlite(): SqliteCtor {
  const req = createRequire(path.join(REPO, 'packages/thread-store-local/package.json'));
  return req('better-sqlite3') as SqliteCtor;
}

function indexFile(home: string): string {
  const name = readdirSync(home).find((n) => /^skein_index_\d+\.sqlite$/.test(n));
  if (!name) throw new Error(`no Skein index in ${home}`);
  return path.join(home, name);
}

export interface ReindexResult {
  files: number;
  /** From the first listing to the sweep's end (ms). */
  reindexMs: number;
  listCalls: number;
  listP50Ms: number;
  listP99Ms: number;
  listMaxMs: number;
  /** The server's event-loop delay over the same window (ms), or null without a reading. */
  loopP99Ms: number | null;
  loopMaxMs: number | null;
  /** CPU time the server used over the re-index (ms), or null without `/proc`. */
  serverCpuMs: number | null;
  load: string;
}

/** Runs the measurement on `home` (a synthetic home of `pnpm bench`). */
export async function measureReindexUnderServe(home: string, cpuProfDir?: string): Promise<ReindexResult> {
  const loadBefore = loadavg()[0] ?? 0;
  const LocalThreadStore = await loadLocalStore();
  const local = new LocalThreadStore({ home, defaultModelProvider: SYNTH_PROVIDER });
  await local.indexNow();
  await local.close();

  const Database = sqlite();
  const file = indexFile(home);
  const delayFile = path.join(home, `.loop-delay-${process.pid}.json`);
  const served = await serve(
    ['--home', home, '--default-provider', SYNTH_PROVIDER],
    cpuProfDir,
    ['--import', PRELOAD],
    {
      SKEIN_BENCH_LOOP_DELAY_FILE: delayFile,
    },
  );
  const { RemoteThreadStore } = await loadRemote();
  const client = new RemoteThreadStore({ baseUrl: served.url });
  const watch = new Database(file, { readonly: true });
  const lat: number[] = [];
  let reindexMs = 0;
  let loop: { p99: number; max: number } | null = null;
  let serverCpuMs: number | null = null;
  let files = 0;
  try {
    // The server is warm (its first listings done, its watches added) before the rows go.
    for (let i = 0; i < 20; i++) await client.listThreads({ pageSize: 25 });
    const db = new Database(file);
    files = (db.prepare('SELECT count(*) AS n FROM files').get() as { n: number }).n;
    // The FTS table is made again, empty (deleting its rows one by one would leave delete
    // markers for FTS5 to merge away, which a fresh index does not have).
    const fts = (db.prepare("SELECT sql FROM sqlite_master WHERE name = 'messages'").get() as { sql: string }).sql;
    db.exec(`BEGIN IMMEDIATE;
      DELETE FROM files; DELETE FROM turns; DELETE FROM message_files; DROP TABLE messages; ${fts};
      UPDATE kv SET value = '0' WHERE key = 'swept';
      COMMIT;`);
    db.close();
    const reread = (): boolean => {
      const n = (watch.prepare('SELECT count(*) AS n FROM files').get() as { n: number }).n;
      const swept = watch.prepare("SELECT value FROM kv WHERE key = 'swept'").get() as { value: string } | undefined;
      return n >= files && Number(swept?.value ?? 0) > 0;
    };
    served.child.kill('SIGUSR2'); // starts the server's delay histogram over
    const cpu0 = childCpuUs(served.child);
    const t0 = performance.now();
    let checked = t0;
    for (;;) {
      const t = performance.now();
      await client.listThreads({ pageSize: 25 });
      lat.push(performance.now() - t);
      if (performance.now() - checked > 200) {
        checked = performance.now();
        if (reread()) break;
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    reindexMs = performance.now() - t0;
    const cpu1 = childCpuUs(served.child);
    if (cpu0 !== null && cpu1 !== null) serverCpuMs = Math.round((cpu1 - cpu0) / 1000);
    rmSync(delayFile, { force: true });
    served.child.kill('SIGUSR2');
    for (let i = 0; i < 100 && loop === null; i++) {
      await new Promise((r) => setTimeout(r, 20));
      try {
        loop = JSON.parse(readFileSync(delayFile, 'utf8')) as { p99: number; max: number };
      } catch {
        // not written yet
      }
    }
  } finally {
    watch.close();
    await client.close();
    await stop(served);
    rmSync(delayFile, { force: true });
  }
  const r2 = (x: number): number => Number(x.toFixed(2));
  return {
    files,
    reindexMs: Math.round(reindexMs),
    listCalls: lat.length,
    listP50Ms: r2(pct(lat, 50)),
    listP99Ms: r2(pct(lat, 99)),
    listMaxMs: r2(Math.max(...lat)),
    loopP99Ms: loop?.p99 ?? null,
    loopMaxMs: loop?.max ?? null,
    serverCpuMs,
    load: `${loadBefore.toFixed(1)} → ${(loadavg()[0] ?? 0).toFixed(1)}`,
  };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const i = process.argv.indexOf('--home');
  const home = i >= 0 ? process.argv[i + 1] : undefined;
  if (!home) {
    console.error('usage: reindex-serve.ts --home DIR');
    process.exit(2);
  }
  const p = process.argv.indexOf('--cpu-prof');
  const prof = p >= 0 ? process.argv[p + 1] : undefined;
  console.log(JSON.stringify(await measureReindexUnderServe(path.resolve(home), prof), null, 2));
}
