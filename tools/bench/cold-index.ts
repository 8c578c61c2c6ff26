/**
 * The cold full index of a synthetic home, alone: the home's Skein index is deleted, a store
 * is opened and `indexNow()` builds the index from the rollout files. Prints wall time and this
 * process's CPU time (user + system) for each run; on a machine shared with other work the CPU
 * time is the figure to compare. Standalone:
 *
 *   node --import tsx tools/bench/cold-index.ts [--dir DIR] [--size 10000] [--runs 3] [--stores A,B]
 *
 * `--stores`: entry files of builds of `@skein/thread-store-local` (their `dist/index.js`) run
 * one after the other in each round, for an A/B comparison in one process (the default is this
 * checkout's build). `--search TERM` also times a content search after the index is built (it
 * must find the same threads with every build), `--search-runs N` times it N more times. Use
 * `node --cpu-prof` for a profile.
 */
import { pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ensureHome, resetHome } from './homes.js';
import { SYNTH_PROVIDER } from './synth-home.js';
import type { LocalStore, LocalStoreOptions } from './store-loader.js';
import { median } from './stats.js';

const REPO = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2)
  args.set(process.argv[i]!.replace(/^--/, ''), process.argv[i + 1] ?? '');
const baseDir = args.get('dir') ?? path.join(tmpdir(), 'skein-bench');
const size = Number(args.get('size') ?? '10000');
const runs = Number(args.get('runs') ?? '3');
const term = args.get('search');
const searchRuns = Number(args.get('search-runs') ?? '0');
const defaultEntry = createRequire(path.join(REPO, 'packages/thread-store-local/package.json')).resolve(
  '@skein/thread-store-local',
);
const stores = (args.get('stores') ?? defaultEntry).split(',').map((e) => path.resolve(e));
// `--envs 'A=1 B=2|C=3'`: environment settings, each run with every store (experiments).
const envs = (args.get('envs') ?? '').split('|').map((e) =>
  e
    .split(' ')
    .filter(Boolean)
    .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)] as const),
);
const entries = stores.flatMap((s) => envs.map((e) => ({ store: s, env: e })));

type Ctor = new (o: LocalStoreOptions) => LocalStore;
const ctors: Ctor[] = [];
for (const e of entries)
  ctors.push(((await import(pathToFileURL(e.store).href)) as { LocalThreadStore: Ctor }).LocalThreadStore);
const label = (i: number): string =>
  `${path.relative(REPO, entries[i]!.store)}${entries[i]!.env.map(([k, v]) => ` ${k}=${v}`).join('')}`;

const home = ensureHome(baseDir, size, 1);
const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

const results = entries.map(() => ({ wall: [] as number[], cpu: [] as number[] }));
for (let r = 0; r < runs; r++) {
  for (let i = 0; i < ctors.length; i++) {
    resetHome(home.dir);
    const set = entries[i]!.env;
    for (const [k, v] of set) process.env[k] = v;
    const Store = ctors[i]!;
    const w0 = performance.now();
    const c0 = cpuMs();
    const store = new Store({ home: home.dir, defaultModelProvider: SYNTH_PROVIDER });
    await store.indexNow();
    const wall = performance.now() - w0;
    const cpu = cpuMs() - c0;
    results[i]!.wall.push(wall);
    results[i]!.cpu.push(cpu);
    let found = '';
    if (term) {
      // The first search, then the median of `--search-runs` more.
      const times: number[] = [];
      let n = 0;
      for (let k = 0; k <= searchRuns; k++) {
        const s0 = performance.now();
        n = 0;
        for (let cursor: string | null = null; ;) {
          const page = await store.searchThreads({ searchTerm: term, pageSize: 100, cursor });
          n += page.items.length;
          cursor = page.nextCursor;
          if (!cursor) break;
        }
        times.push(performance.now() - s0);
      }
      const rest = times.slice(1);
      found = ` search "${term}": ${n} threads, first ${times[0]!.toFixed(0)} ms${rest.length > 0 ? `, then median ${median(rest).toFixed(1)} ms` : ''}`;
    }
    await store.close();
    for (const [k] of set) delete process.env[k];
    process.stdout.write(`run ${r + 1} ${label(i)}: wall ${wall.toFixed(0)} ms, cpu ${cpu.toFixed(0)} ms${found}\n`);
  }
}
for (let i = 0; i < entries.length; i++)
  process.stdout.write(
    `median ${label(i)}: wall ${median(results[i]!.wall).toFixed(0)} ms, cpu ${median(results[i]!.cpu).toFixed(0)} ms (${size} threads, ${runs} runs)\n`,
  );
resetHome(home.dir);
