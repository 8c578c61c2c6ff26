// Benchmarks the remote store against the same workloads on a LocalThreadStore used directly:
// list latency (p50/p99) and calls/s over loopback HTTP/2, history streaming MB/s, and append
// throughput. Prints a markdown table; `--save` also writes it to bench-results/remote.md.
// Run: pnpm --filter @skein/thread-store-remote bench   (or: npx tsx bench/remote-bench.ts [--quick])
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RolloutItem, ThreadId, ThreadStore } from '@skein/thread-store-api';
import { newThreadId } from '@skein/thread-store-api';
import { LocalThreadStore } from '@skein/thread-store-local';
import { RemoteThreadStore, startThreadStoreServer } from '../src/index.js';

const quick = process.argv.includes('--quick');
const THREADS = quick ? 50 : 200;
const LIST_CALLS = quick ? 200 : 1000;
const HISTORY_ITEMS = quick ? 200 : 800;
const HISTORY_ITEM_BYTES = 64 * 1024;
const APPEND_ITEMS = quick ? 5_000 : 20_000;
const APPEND_BATCH = 100;

const userTurn = (i: number): RolloutItem[] => [
  { type: 'event_msg', payload: { type: 'user_message', message: `bench thread ${i}: please look at the build` } },
  { type: 'event_msg', payload: { type: 'agent_message', message: `looked at it (${i})` } },
];
const bulky = (i: number): RolloutItem => ({
  type: 'response_item',
  payload: {
    type: 'message',
    role: 'assistant',
    content: [{ type: 'output_text', text: `${i}:`.padEnd(HISTORY_ITEM_BYTES, 'x') }],
  },
});
const small = (i: number): RolloutItem => ({
  type: 'event_msg',
  payload: { type: 'agent_message', message: `item ${i} of the append benchmark` },
});

async function populate(store: ThreadStore): Promise<ThreadId> {
  for (let i = 0; i < THREADS; i++) {
    const threadId = newThreadId();
    await store.createThread({
      threadId,
      source: { kind: 'cli' },
      metadata: { cwd: '/bench', modelProvider: 'openai' },
    });
    await store.appendItems({ threadId, items: userTurn(i) });
    await store.shutdownThread(threadId);
  }
  const big = newThreadId();
  await store.createThread({
    threadId: big,
    source: { kind: 'cli' },
    metadata: { cwd: '/bench', modelProvider: 'openai' },
  });
  await store.appendItems({ threadId: big, items: userTurn(-1) });
  for (let i = 0; i < HISTORY_ITEMS; i += 50)
    await store.appendItems({ threadId: big, items: Array.from({ length: 50 }, (_, k) => bulky(i + k)) });
  await store.shutdownThread(big);
  return big;
}

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

interface Result {
  listP50Ms: number;
  listP99Ms: number;
  listCallsPerSec: number;
  historyMBps: number;
  appendItemsPerSec: number;
}

let historyBytes: number | undefined;
let historyItems = 0;

/** The JSON size of a thread's history (what a reader receives), and its item count. */
async function jsonBytes(store: ThreadStore, threadId: ThreadId): Promise<number> {
  let bytes = 0;
  historyItems = 0;
  for await (const item of store.loadHistory({ threadId })) {
    bytes += JSON.stringify(item).length;
    historyItems++;
  }
  return bytes;
}

async function measure(store: ThreadStore, big: ThreadId): Promise<Result> {
  for (let i = 0; i < 20; i++) await store.listThreads({ pageSize: 25 });
  const lat: number[] = [];
  const t0 = performance.now();
  for (let i = 0; i < LIST_CALLS; i++) {
    const s = performance.now();
    await store.listThreads({ pageSize: 25 });
    lat.push(performance.now() - s);
  }
  const listSecs = (performance.now() - t0) / 1000;
  lat.sort((a, b) => a - b);

  // The history's size is counted once, outside the timed read: the read itself only takes the
  // items (re-serialising each to count it would charge the reader for the measurement).
  historyBytes ??= await jsonBytes(store, big);
  let items = 0;
  const h0 = performance.now();
  for await (const _item of store.loadHistory({ threadId: big })) items++;
  const historyMBps = historyBytes / 1024 / 1024 / ((performance.now() - h0) / 1000);
  if (items !== historyItems) throw new Error(`read ${items} history items, expected ${historyItems}`);

  const threadId = newThreadId();
  await store.createThread({ threadId, source: { kind: 'cli' }, metadata: { cwd: '/bench', modelProvider: 'openai' } });
  const a0 = performance.now();
  for (let i = 0; i < APPEND_ITEMS; i += APPEND_BATCH)
    await store.appendItems({ threadId, items: Array.from({ length: APPEND_BATCH }, (_, k) => small(i + k)) });
  await store.flushThread(threadId);
  const appendItemsPerSec = APPEND_ITEMS / ((performance.now() - a0) / 1000);
  await store.shutdownThread(threadId);
  return {
    listP50Ms: pct(lat, 50),
    listP99Ms: pct(lat, 99),
    listCallsPerSec: LIST_CALLS / listSecs,
    historyMBps,
    appendItemsPerSec,
  };
}

const home = mkdtempSync(path.join(tmpdir(), 'skein-remote-bench-'));
try {
  const local = new LocalThreadStore({ home, defaultModelProvider: 'openai' });
  process.stderr.write(
    `populating ${THREADS} threads and a ${(HISTORY_ITEMS * HISTORY_ITEM_BYTES) / 2 ** 20} MiB history…\n`,
  );
  const big = await populate(local);
  process.stderr.write('direct…\n');
  const direct = await measure(local, big);
  const server = await startThreadStoreServer({ store: local, logger: false });
  const remote: Record<string, Result> = {};
  for (const protocol of ['grpc', 'connect'] as const) {
    process.stderr.write(`remote (${protocol})…\n`);
    const client = new RemoteThreadStore({ baseUrl: server.url, protocol });
    remote[protocol] = await measure(client, big);
    await client.close();
  }
  await server.close();
  await local.close();

  const f = (n: number, d = 1) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
  const rows: [string, keyof Result, boolean, number][] = [
    ['list (25/page) latency p50, ms', 'listP50Ms', false, 3],
    ['list (25/page) latency p99, ms', 'listP99Ms', false, 3],
    ['list calls/s (sequential)', 'listCallsPerSec', true, 0],
    ['history streaming, MB/s', 'historyMBps', true, 1],
    [`append throughput, items/s (batches of ${APPEND_BATCH})`, 'appendItemsPerSec', true, 0],
  ];
  const g = remote.grpc!;
  const c = remote.connect!;
  // Ratio: remote relative to direct, where > 1 means the remote is that many times slower.
  const ratio = (d: number, r: number, higherIsBetter: boolean) => f(higherIsBetter ? d / r : r / d, 2);
  const lines = [
    `# Remote store benchmark`,
    '',
    `LocalThreadStore used directly vs. through \`startThreadStoreServer\` + \`RemoteThreadStore\` over loopback HTTP/2.`,
    `${THREADS} threads, a ${(HISTORY_ITEMS * HISTORY_ITEM_BYTES) / 2 ** 20} MiB history, ${APPEND_ITEMS} appended items; ` +
      `Node ${process.version}, ${cpus().length} CPUs${quick ? ', --quick' : ''}. Slowdown = how many times slower the remote is.`,
    '',
    '| workload | direct | remote gRPC | remote Connect | slowdown gRPC | slowdown Connect |',
    '|---|---:|---:|---:|---:|---:|',
    ...rows.map(
      ([name, key, hib, d]) =>
        `| ${name} | ${f(direct[key], d)} | ${f(g[key], d)} | ${f(c[key], d)} | ${ratio(direct[key], g[key], hib)}× | ${ratio(direct[key], c[key], hib)}× |`,
    ),
    '',
  ];
  const table = lines.join('\n');
  process.stdout.write(`${table}\n`);
  if (process.argv.includes('--save')) {
    const outDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../bench-results');
    mkdirSync(outDir, { recursive: true });
    writeFileSync(path.join(outDir, 'remote.md'), table);
  }
} finally {
  rmSync(home, { recursive: true, force: true });
}
