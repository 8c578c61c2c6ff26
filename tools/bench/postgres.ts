/**
 * The PostgreSQL store side by side with the local store, in one run (`pnpm bench -- --postgres
 * URL`, or alone: `npx tsx tools/bench/postgres.ts --postgres URL [--threads 100000]`):
 *
 * - list (first page of 50, newest first) and search (a term in 1% of threads, a term in none)
 *   on N threads, p50/p99, each store called directly;
 * - appends/s, batches of 100 with a flush each, 8 clients through `skein serve`: local home,
 *   PostgreSQL through one server, PostgreSQL through three;
 * - history read MB/s of one 20 MB thread.
 *
 * Seeding is fast on both sides: one template thread is written through each store's API, then
 * cloned N − 1 times — on PostgreSQL by `INSERT … SELECT` over `unnest()` of the new ids (rows
 * and items copied in SQL, ids replaced in the stored JSON), locally by writing the rollout
 * file's bytes under new names. The database is created for the run (`skein_bench_<random>`,
 * on the server the URL names) and dropped after it.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { RolloutItem, ThreadId, ThreadStore } from '@skein/thread-store-api';
import { runLoad } from './load.js';
import type { LoadResult } from './load.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const req = createRequire(path.join(REPO, 'packages/skein/package.json'));
const load = async <T>(name: string): Promise<T> => (await import(pathToFileURL(req.resolve(name)).href)) as T;

interface PgClient {
  connect(): Promise<void>;
  query(sql: string, params?: unknown[]): Promise<{ rows: Record<string, unknown>[]; rowCount: number | null }>;
  end(): Promise<void>;
}
type PgModule = { default: { Client: new (o: { connectionString: string }) => PgClient } };
type BenchStore = ThreadStore & {
  indexNow?: () => Promise<unknown>;
  checkIndexIntegrity?: () => Promise<unknown>;
};

const HIT = 'zebrafish';
const MISS = 'quokkaplatypus';
const PAGE = 50;

export interface PostgresBenchOptions {
  url: string;
  threads: number;
  appendSeconds: number;
}

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};
const ms = (x: number): string => (x < 10 ? x.toFixed(2) : x.toFixed(1));
const log = (s: string): void => void process.stderr.write(`[postgres bench] ${s}\n`);

async function timeRuns(n: number, f: () => Promise<unknown>): Promise<number[]> {
  for (let i = 0; i < Math.min(5, n); i += 1) await f();
  const out: number[] = [];
  for (let i = 0; i < n; i += 1) {
    const t = performance.now();
    await f();
    out.push(performance.now() - t);
  }
  return out;
}

const turn = (i: number): RolloutItem[] => [
  { type: 'event_msg', payload: { type: 'user_message', message: `thread ${i}: please look at the build and fix it` } },
  {
    type: 'event_msg',
    payload: { type: 'agent_message', message: 'looked at the build; the test fails on a timeout' },
  },
];

async function template(store: ThreadStore, newThreadId: () => ThreadId): Promise<ThreadId> {
  const threadId = newThreadId();
  await store.createThread({ threadId, source: { kind: 'cli' }, metadata: { cwd: '/bench', modelProvider: 'openai' } });
  await store.appendItems({ threadId, items: [...turn(0), ...turn(1)] });
  await store.shutdownThread(threadId);
  return threadId;
}

/** N − 1 copies of the template thread, by SQL (ids replaced in the stored JSON; 1% get the hit term). */
async function seedPostgres(c: PgClient, tid: string, ids: string[]): Promise<void> {
  const chunk = 5000;
  for (let i = 0; i < ids.length; i += chunk) {
    const part = ids.slice(i, i + chunk);
    const base = i;
    await c.query('BEGIN');
    await c.query(
      `INSERT INTO skein_threads
       SELECT t.tenant, n.id, t.archived, t.has_preview, t.created_ms - (n.k + $3) * 60000, t.updated_ms - (n.k + $3) * 60000,
              t.recency_ms - (n.k + $3) * 60000, t.model_provider, t.cwd, t.source_kind, t.subagent_kind, t.source_key,
              t.name_lc, t.preview_lc, t.item_count, replace(t.thread, $1, n.id), replace(t.state, $1, n.id)
       FROM skein_threads t, unnest($2::text[]) WITH ORDINALITY AS n(id, k) WHERE t.thread_id = $1`,
      [tid, part, base],
    );
    await c.query(
      `INSERT INTO skein_items
       SELECT i.tenant, n.id, i.seq,
              CASE WHEN (n.k + $3) % 100 = 0 THEN replace(replace(i.line, $1, n.id), 'build', '${HIT}') ELSE replace(i.line, $1, n.id) END,
              CASE WHEN (n.k + $3) % 100 = 0 THEN replace(i.message_lc, 'build', '${HIT}') ELSE i.message_lc END
       FROM skein_items i, unnest($2::text[]) WITH ORDINALITY AS n(id, k) WHERE i.thread_id = $1`,
      [tid, part, base],
    );
    await c.query('COMMIT');
  }
  await c.query('ANALYZE skein_threads');
  await c.query('ANALYZE skein_items');
}

/** N − 1 copies of the template's rollout file (ids replaced; 1% get the hit term), over 28 day folders. */
function seedLocal(home: string, tid: string, ids: string[]): void {
  const files: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true }))
      if (e.isDirectory()) walk(path.join(d, e.name));
      else if (e.name.includes(tid)) files.push(path.join(d, e.name));
  };
  walk(path.join(home, 'sessions'));
  const file = files[0]!;
  const text = readFileSync(file, 'utf8');
  const name = path.basename(file);
  ids.forEach((id, k) => {
    const dir = path.join(home, 'sessions', '2026', '01', String((k % 28) + 1).padStart(2, '0'));
    if (k < 28) mkdirSync(dir, { recursive: true });
    let body = text.split(tid).join(id);
    if ((k + 1) % 100 === 0) body = body.split('build').join(HIT);
    writeFileSync(path.join(dir, name.replace(tid, id)), body);
  });
}

interface ReadFigures {
  listP50: number;
  listP99: number;
  hitP50: number;
  hitP99: number;
  hits: number;
  missP50: number;
  missP99: number;
  historyMBps: number;
}

async function bigThread(store: ThreadStore, newThreadId: () => ThreadId): Promise<{ id: ThreadId; bytes: number }> {
  const id = newThreadId();
  await store.createThread({
    threadId: id,
    source: { kind: 'cli' },
    metadata: { cwd: '/bench', modelProvider: 'openai' },
  });
  let bytes = 0;
  for (let b = 0; b < 20; b += 1) {
    const items: RolloutItem[] = Array.from({ length: 100 }, (_, k) => ({
      type: 'response_item',
      payload: {
        type: 'message',
        role: 'assistant',
        content: [{ type: 'output_text', text: `${b}.${k} `.padEnd(10_000, 'x') }],
      },
    }));
    bytes += items.reduce((n, i) => n + JSON.stringify(i).length, 0);
    await store.appendItems({ threadId: id, items });
    await store.flushThread(id);
  }
  await store.shutdownThread(id);
  return { id, bytes };
}

async function readFigures(store: ThreadStore, big: { id: ThreadId; bytes: number }): Promise<ReadFigures> {
  const filters = { allowedSources: ['cli' as const], modelProviders: [] as string[] };
  const list = await timeRuns(100, () => store.listThreads({ ...filters, pageSize: PAGE }));
  let hits = 0;
  const hit = await timeRuns(10, async () => {
    hits = (await store.searchThreads({ ...filters, pageSize: PAGE, searchTerm: HIT })).items.length;
  });
  const miss = await timeRuns(10, () => store.searchThreads({ ...filters, pageSize: PAGE, searchTerm: MISS }));
  const times: number[] = [];
  for (let r = 0; r < 3; r += 1) {
    const t = performance.now();
    for await (const item of store.loadHistory({ threadId: big.id })) void item;
    times.push(performance.now() - t);
  }
  return {
    listP50: pct(list, 50),
    listP99: pct(list, 99),
    hitP50: pct(hit, 50),
    hitP99: pct(hit, 99),
    hits,
    missP50: pct(miss, 50),
    missP99: pct(miss, 99),
    historyMBps: big.bytes / 1e6 / (pct(times, 50) / 1000),
  };
}

export interface PostgresBenchResult {
  threads: number;
  load: string;
  local: ReadFigures;
  postgres: ReadFigures;
  seedSeconds: { local: number; localIndex: number; postgres: number };
  appends: { local: LoadResult; pg1: LoadResult; pg3: LoadResult };
}

export async function runPostgresBench(o: PostgresBenchOptions): Promise<PostgresBenchResult> {
  const pg = (await load<PgModule>('pg')).default;
  const api = await load<{ newThreadId: () => ThreadId }>('@skein/thread-store-api');
  const { PostgresThreadStore } = await load<{
    PostgresThreadStore: { open(o: { connectionString: string; poolSize?: number }): Promise<BenchStore> };
  }>('@skein/thread-store-postgres');
  const { LocalThreadStore } = await load<{
    LocalThreadStore: new (o: { home: string; defaultModelProvider?: string }) => BenchStore;
  }>('@skein/thread-store-local');
  const load0 = loadavg()[0]!;
  const name = `skein_bench_${randomBytes(4).toString('hex')}`;
  const adminUrl = o.url;
  const dbUrl = (() => {
    const u = new URL(o.url);
    u.pathname = `/${name}`;
    return u.toString();
  })();
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const home = mkdtempSync(path.join(tmpdir(), 'skein-bench-pg-local-'));
  try {
    const ids = Array.from({ length: o.threads - 1 }, () => api.newThreadId());
    // PostgreSQL: template, clones, big thread.
    const pgStore = await PostgresThreadStore.open({ connectionString: dbUrl });
    let t = performance.now();
    const ptid = await template(pgStore, api.newThreadId);
    const c = new pg.Client({ connectionString: dbUrl });
    await c.connect();
    await seedPostgres(c, ptid, ids);
    await c.end();
    const pgSeed = (performance.now() - t) / 1000;
    log(`postgres: ${o.threads} threads seeded in ${pgSeed.toFixed(1)} s`);
    const pgBig = await bigThread(pgStore, api.newThreadId);
    const postgres = await readFigures(pgStore, pgBig);
    await pgStore.close();

    // Local home: template, clones, cold index, big thread.
    t = performance.now();
    const seedStore = new LocalThreadStore({ home });
    const ltid = await template(seedStore, api.newThreadId);
    await seedStore.close();
    seedLocal(home, ltid, ids);
    const localSeed = (performance.now() - t) / 1000;
    const localStore = new LocalThreadStore({ home });
    t = performance.now();
    await localStore.indexNow?.();
    const localIndex = (performance.now() - t) / 1000;
    // The first listing starts the store's background integrity pass over the new index; it
    // is measured apart from the reads (join it before they start).
    await localStore.listThreads({ pageSize: 1 });
    await localStore.checkIndexIntegrity?.();
    log(`local: ${o.threads} threads written in ${localSeed.toFixed(1)} s, indexed in ${localIndex.toFixed(1)} s`);
    const localBig = await bigThread(localStore, api.newThreadId);
    const local = await readFigures(localStore, localBig);
    await localStore.close();

    // Appends through servers.
    const appendOpts = { clients: 8, batch: 100, seconds: o.appendSeconds };
    const localAppend = await runLoad({ ...appendOpts });
    const pg1 = await runLoad({ ...appendOpts, storeUrl: dbUrl, servers: 1 });
    const pg3 = await runLoad({ ...appendOpts, storeUrl: dbUrl, servers: 3 });
    return {
      threads: o.threads,
      load: `${load0.toFixed(1)} → ${loadavg()[0]!.toFixed(1)}`,
      local,
      postgres,
      seedSeconds: { local: localSeed, localIndex, postgres: pgSeed },
      appends: { local: localAppend, pg1, pg3 },
    };
  } finally {
    rmSync(home, { recursive: true, force: true });
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
    await admin.end();
  }
}

/** The section of BENCHMARKS.md. */
export function postgresTable(r: PostgresBenchResult): string {
  const n = r.threads.toLocaleString('en-US');
  const row = (what: string, l: string, p: string): string => `| ${what} | ${l} | ${p} |`;
  const a = r.appends;
  return [
    `| workload (${n} threads) | local store (SQLite index over rollout files) | PostgreSQL store |`,
    '|---|---|---|',
    row(
      `list, first page of ${PAGE}, p50 / p99`,
      `${ms(r.local.listP50)} / ${ms(r.local.listP99)} ms`,
      `${ms(r.postgres.listP50)} / ${ms(r.postgres.listP99)} ms`,
    ),
    row(
      `search, a term in 1% of threads (${r.local.hits} / ${r.postgres.hits} found on the first page), p50 / p99`,
      `${ms(r.local.hitP50)} / ${ms(r.local.hitP99)} ms`,
      `${ms(r.postgres.hitP50)} / ${ms(r.postgres.hitP99)} ms`,
    ),
    row(
      'search, a term in no thread, p50 / p99',
      `${ms(r.local.missP50)} / ${ms(r.local.missP99)} ms`,
      `${ms(r.postgres.missP50)} / ${ms(r.postgres.missP99)} ms`,
    ),
    row(
      'history read, 20 MB thread',
      `${r.local.historyMBps.toFixed(0)} MB/s`,
      `${r.postgres.historyMBps.toFixed(0)} MB/s`,
    ),
    row(
      'appends, batches of 100 with a flush each, 8 clients, one `skein serve`',
      `${a.local.itemsPerSec.toLocaleString('en-US')} items/s (flush p50 ${ms(a.local.flushP50Ms)} ms)`,
      `${a.pg1.itemsPerSec.toLocaleString('en-US')} items/s (flush p50 ${ms(a.pg1.flushP50Ms)} ms)`,
    ),
    row(
      'appends, same, clients spread over three `skein serve` on one database',
      '— (one home, one server)',
      `${a.pg3.itemsPerSec.toLocaleString('en-US')} items/s (flush p50 ${ms(a.pg3.flushP50Ms)} ms)`,
    ),
    row(
      'seeding (bench fixture, not a product path)',
      `${r.seedSeconds.local.toFixed(1)} s to write the files, ${r.seedSeconds.localIndex.toFixed(1)} s cold index`,
      `${r.seedSeconds.postgres.toFixed(1)} s (INSERT … SELECT)`,
    ),
  ].join('\n');
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : fallback;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  runPostgresBench({
    url: arg('postgres', process.env.SKEIN_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'),
    threads: Number(arg('threads', '100000')),
    appendSeconds: Number(arg('append-seconds', '10')),
  })
    .then((r) => {
      console.log(postgresTable(r));
      console.log(`\nload average (1 min) ${r.load}`);
    })
    .catch((e: unknown) => {
      console.error(e);
      process.exit(1);
    });
}
