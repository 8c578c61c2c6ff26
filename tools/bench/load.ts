/**
 * Write load through `skein serve`: N clients (each its own `RemoteThreadStore`, its own thread)
 * append batches of B items and flush after each batch, for S seconds, while one more client
 * lists threads (a page of 25) in a loop. Prints items/s, flush p50/p99 and list p50/p99 during
 * the load, and list p50/p99 on the same server idle afterwards.
 *
 *   npx tsx tools/bench/load.ts [--clients 20] [--batch 5] [--seconds 10] [--store URL]
 *                               [--home DIR] [--cpu-prof DIR] [--json FILE] [--in-process]
 *
 * Without `--store` the server runs over a fresh local home (fsync `always`, the default);
 * `--store postgres://…` runs it over PostgreSQL. `--servers 3` starts that many servers on the
 * same store (PostgreSQL only) and spreads the clients over them. `--cpu-prof DIR` runs the
 * servers under `node --cpu-prof`. `--in-process` runs the same workload on one LocalThreadStore
 * in this process, without a server (what the store costs without the wire). Build first (`pnpm build`): the server is `packages/skein/dist`
 * (or the `bin.js` named by `SKEIN_LOAD_BIN`, e.g. a copy of an older build inside `packages/skein/`).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { RolloutItem, ThreadId, ThreadStore } from '@skein/thread-store-api';
import { loadLocalStore } from './store-loader.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** `SKEIN_LOAD_BIN` runs another build of the CLI (a copy of `packages/skein/dist` beside it, for A/B runs). */
const BIN = process.env.SKEIN_LOAD_BIN
  ? path.resolve(process.env.SKEIN_LOAD_BIN)
  : path.join(REPO, 'packages/skein/dist/bin.js');

function arg(name: string, fallback: string): string;
function arg(name: string): string | undefined;
function arg(name: string, fallback?: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

interface RemoteCtor {
  new (options: { baseUrl: string | string[]; clientId?: string }): ThreadStore;
}

export async function loadRemote(): Promise<{ RemoteThreadStore: RemoteCtor; newThreadId: () => ThreadId }> {
  const req = createRequire(path.join(REPO, 'packages/skein/package.json'));
  const remote = (await import(pathToFileURL(req.resolve('@skein/thread-store-remote')).href)) as {
    RemoteThreadStore: RemoteCtor;
  };
  const api = (await import(pathToFileURL(req.resolve('@skein/thread-store-api')).href)) as {
    newThreadId: () => ThreadId;
  };
  return { RemoteThreadStore: remote.RemoteThreadStore, newThreadId: api.newThreadId };
}

export interface Served {
  url: string;
  child: ChildProcess;
}

/**
 * Starts `skein serve --port 0` and reads the endpoint it prints. `nodeArgs` go to node before
 * the CLI (e.g. `--import` of a preload), `env` is added to this process's environment.
 */
export function serve(
  where: string[],
  cpuProfDir: string | undefined,
  nodeArgs: string[] = [],
  env: Record<string, string> = {},
): Promise<Served> {
  const prof = cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`] : [];
  const child = spawn(process.execPath, [...prof, ...nodeArgs, BIN, 'serve', ...where, '--port', '0', '--log', 'off'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, SKEIN_TOKEN: '', ...env },
  });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const m = /Endpoint:\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) resolve({ url: m[1]!, child });
    });
    child.on('exit', (code) => reject(new Error(`skein serve exited ${String(code)}: ${out}${err}`)));
  });
}

export function stop(s: Served): Promise<void> {
  return new Promise((resolve) => {
    if (s.child.exitCode !== null) return resolve();
    s.child.on('exit', () => resolve());
    s.child.kill('SIGTERM');
  });
}

/**
 * CPU time (user + system, µs) a child process has used so far, from `/proc/PID/stat` (Linux);
 * null elsewhere. Clock ticks are taken as 100 per second (Linux's USER_HZ).
 */
export function childCpuUs(child: ChildProcess): number | null {
  try {
    const stat = readFileSync(`/proc/${String(child.pid)}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10_000;
  } catch {
    return null;
  }
}

const cpuNowUs = (): number => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

export const pct = (xs: number[], p: number): number => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

const item = (client: number, i: number): RolloutItem => ({
  type: 'event_msg',
  payload: { type: 'agent_message', message: `client ${client} item ${i}: the load benchmark writes this line` },
});

async function listLoop(store: ThreadStore, until: () => boolean, lat: number[]): Promise<void> {
  while (!until()) {
    const t = performance.now();
    await store.listThreads({ pageSize: 25 });
    lat.push(performance.now() - t);
  }
}

export interface LoadOptions {
  clients: number;
  batch: number;
  seconds: number;
  /** A PostgreSQL URL; without it the server runs over `home` (or a fresh temp home). */
  storeUrl?: string | undefined;
  home?: string | undefined;
  servers?: number;
  cpuProfDir?: string | undefined;
  /** No server: every client and the lister share one LocalThreadStore in this process. */
  inProcess?: boolean;
}

export interface LoadResult {
  store: 'local' | 'postgres';
  servers: number;
  clients: number;
  batch: number;
  seconds: number;
  itemsPerSec: number;
  flushP50Ms: number;
  flushP99Ms: number;
  listCalls: number;
  listP50Ms: number;
  listP99Ms: number;
  idleListP50Ms: number;
  idleListP99Ms: number;
  /**
   * CPU time per item during the load (µs): of this driver process (the clients, or in process
   * the clients and the store) and of the servers (null in process, or without `/proc`). Unlike
   * the wall figures these hardly depend on how busy the machine is.
   */
  driverCpuUsPerItem: number;
  serverCpuUsPerItem: number | null;
  loadavg1Before: number;
  loadavg1After: number;
}

/** Runs the workload once (servers started and stopped here). */
export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const { clients, batch, seconds, storeUrl, cpuProfDir } = o;
  const servers = o.servers ?? 1;
  if (servers > 1 && !storeUrl) throw new Error('--servers > 1 needs --store postgres://…');
  const home = storeUrl ? null : (o.home ?? mkdtempSync(path.join(tmpdir(), 'skein-load-')));
  const where = storeUrl ? ['--store', storeUrl] : ['--home', home!];

  const { RemoteThreadStore, newThreadId } = await loadRemote();
  const served: Served[] = [];
  const local = o.inProcess ? new (await loadLocalStore())({ home: home!, defaultModelProvider: 'openai' }) : null;
  if (!local) for (let i = 0; i < servers; i += 1) served.push(await serve(where, cpuProfDir));
  const loadBefore = loadavg()[0]!;
  try {
    const writers = Array.from({ length: clients }, (_, i) =>
      local ? local : new RemoteThreadStore({ baseUrl: served[i % servers]!.url }),
    );
    const lister = local ?? new RemoteThreadStore({ baseUrl: served[0]!.url });
    const ids = writers.map(() => newThreadId());
    await Promise.all(
      writers.map((w, i) =>
        w.createThread({
          threadId: ids[i]!,
          source: { kind: 'cli' },
          metadata: { cwd: '/bench/load', modelProvider: 'openai' },
        }),
      ),
    );
    // Warm up: every thread exists on disk, the listing has indexed them once.
    await Promise.all(writers.map((w, i) => w.appendItems({ threadId: ids[i]!, items: [item(i, -1)] })));
    await Promise.all(writers.map((w, i) => w.flushThread(ids[i]!)));
    for (let i = 0; i < 20; i += 1) await lister.listThreads({ pageSize: 25 });

    const flushLat: number[] = [];
    const listLat: number[] = [];
    let items = 0;
    const serverCpu = (): number | null => {
      const each = served.map((x) => childCpuUs(x.child));
      return each.some((x) => x === null) || each.length === 0 ? null : each.reduce((a, b) => a! + b!, 0);
    };
    const driverCpu0 = cpuNowUs();
    const serverCpu0 = serverCpu();
    const t0 = performance.now();
    const deadline = t0 + seconds * 1000;
    const done = (): boolean => performance.now() >= deadline;
    await Promise.all([
      ...writers.map(async (w, c) => {
        let n = 0;
        while (!done()) {
          const batchItems = Array.from({ length: batch }, () => item(c, n++));
          await w.appendItems({ threadId: ids[c]!, items: batchItems });
          const t = performance.now();
          await w.flushThread(ids[c]!);
          flushLat.push(performance.now() - t);
          items += batch;
        }
      }),
      listLoop(lister, done, listLat),
    ]);
    const elapsed = (performance.now() - t0) / 1000;
    const driverCpuUs = cpuNowUs() - driverCpu0;
    const serverCpu1 = serverCpu();
    const serverCpuUs = serverCpu0 === null || serverCpu1 === null ? null : serverCpu1 - serverCpu0;
    const loadDuring = loadavg()[0]!;

    const idleLat: number[] = [];
    for (let i = 0; i < 200; i += 1) {
      const t = performance.now();
      await lister.listThreads({ pageSize: 25 });
      idleLat.push(performance.now() - t);
    }
    await Promise.all(writers.map((w, i) => w.shutdownThread(ids[i]!)));
    await Promise.all([...new Set([...writers, lister])].map((w) => w.close()));
    const r2 = (x: number): number => Number(x.toFixed(2));
    return {
      store: storeUrl ? 'postgres' : 'local',
      servers,
      clients,
      batch,
      seconds: Number(elapsed.toFixed(1)),
      itemsPerSec: Math.round(items / elapsed),
      flushP50Ms: r2(pct(flushLat, 50)),
      flushP99Ms: r2(pct(flushLat, 99)),
      listCalls: listLat.length,
      listP50Ms: r2(pct(listLat, 50)),
      listP99Ms: r2(pct(listLat, 99)),
      idleListP50Ms: r2(pct(idleLat, 50)),
      idleListP99Ms: r2(pct(idleLat, 99)),
      driverCpuUsPerItem: Math.round(driverCpuUs / items),
      serverCpuUsPerItem: serverCpuUs === null ? null : Math.round(serverCpuUs / items),
      loadavg1Before: r2(loadBefore),
      loadavg1After: r2(loadDuring),
    };
  } finally {
    await Promise.all(served.map(stop));
    if (home && !o.home) rmSync(home, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const result = await runLoad({
    clients: Number(arg('clients', '20')),
    batch: Number(arg('batch', '5')),
    seconds: Number(arg('seconds', '10')),
    storeUrl: arg('store'),
    home: arg('home'),
    servers: Number(arg('servers', '1')),
    cpuProfDir: arg('cpu-prof'),
    inProcess: process.argv.includes('--in-process'),
  });
  console.log(JSON.stringify(result, null, 2));
  const jsonOut = arg('json');
  if (jsonOut) writeFileSync(jsonOut, JSON.stringify(result, null, 2) + '\n');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href)
  main().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
