// Benchmarks the remote store against the same workloads on a LocalThreadStore used directly:
// list latency (p50/p99) and calls/s over loopback HTTP/2, history streaming MB/s, and append
// throughput. The server runs in the benchmark's own process (client and server then share one
// thread) and, as `skein serve` runs, in a process of its own (bench/serve-home.ts). Prints a
// markdown table; `--save` also writes it to bench-results/remote.md.
// Run: pnpm --filter @skein/thread-store-remote bench   (or: npx tsx bench/remote-bench.ts [--quick])
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as http2 from 'node:http2';
import { createInterface } from 'node:readline';
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

/** p50 of `calls` sequential runs of `fn` (after as many unmeasured ones), in ms. */
async function p50Of(calls: number, fn: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < calls; i++) await fn();
  const lat: number[] = [];
  for (let i = 0; i < calls; i++) {
    const s = performance.now();
    await fn();
    lat.push(performance.now() - s);
  }
  return pct(
    lat.sort((a, b) => a - b),
    50,
  );
}

/**
 * Where a remote listing's time goes: the p50 of the whole call; of the same call to a server
 * whose store hands back a page it already has (the wire and its libraries, client and server);
 * and of a bare node:http2 request and answer of the page's size, headers and trailers as gRPC
 * sends them (the floor under any HTTP/2 transport in Node).
 */
async function listingParts(local: ThreadStore): Promise<{ whole: number; memory: number; bare: number }> {
  const page = await local.listThreads({ pageSize: 25 });
  const fromMemory = new Proxy(local, {
    get: (target, key, receiver) =>
      key === 'listThreads' ? async () => page : (Reflect.get(target, key, receiver) as unknown),
  });
  const measureOver = async (store: ThreadStore): Promise<number> => {
    const server = await startThreadStoreServer({ store, logger: false });
    const client = new RemoteThreadStore({ baseUrl: server.url, protocol: 'grpc' });
    try {
      return await p50Of(LIST_CALLS, () => client.listThreads({ pageSize: 25 }));
    } finally {
      await client.close();
      await server.close();
    }
  };
  const whole = await measureOver(local);
  const memory = await measureOver(fromMemory);
  const answer = Buffer.alloc(JSON.stringify(page).length);
  const bare = http2.createServer();
  bare.on('stream', (stream) => {
    stream.resume();
    stream.on('end', () => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(answer);
    });
  });
  await new Promise<void>((resolve) => bare.listen(0, '127.0.0.1', resolve));
  const session = http2.connect(`http://127.0.0.1:${(bare.address() as { port: number }).port}`);
  const request = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const req = session.request({
        ':method': 'POST',
        ':path': '/bench',
        'content-type': 'application/grpc',
        te: 'trailers',
      });
      req.on('data', () => undefined);
      req.on('end', resolve);
      req.on('error', reject);
      req.end(Buffer.alloc(16));
    });
  const bareMs = await p50Of(LIST_CALLS, request);
  session.close();
  await new Promise((resolve) => bare.close(resolve));
  return { whole, memory, bare: bareMs };
}

/** Starts bench/serve-home.ts on `home`; resolves with its URL and a function that stops it. */
async function serverProcess(home: string): Promise<{ url: string; stop: () => Promise<void> }> {
  const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'serve-home.ts');
  const child = spawn(process.execPath, ['--import', 'tsx', script, home], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const lines = createInterface({ input: child.stdout });
  const url = await new Promise<string>((resolve, reject) => {
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`the server process exited (${code}) before it served`)));
  });
  return {
    url,
    stop: async () => {
      child.stdin.end();
      await exited;
    },
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
  process.stderr.write('where a listing’s time goes…\n');
  const parts = await listingParts(local);
  await local.close();
  process.stderr.write('remote (grpc, server in its own process)…\n');
  const child = await serverProcess(home);
  const apart = new RemoteThreadStore({ baseUrl: child.url, protocol: 'grpc' });
  const own = await measure(apart, big);
  await apart.close();
  await child.stop();

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
    `LocalThreadStore used directly vs. through \`startThreadStoreServer\` + \`RemoteThreadStore\` over loopback HTTP/2, ` +
      `the server in the client's process (one thread does both sides' work) and in a process of its own (as \`skein serve\`).`,
    `${THREADS} threads, a ${(HISTORY_ITEMS * HISTORY_ITEM_BYTES) / 2 ** 20} MiB history, ${APPEND_ITEMS} appended items; ` +
      `Node ${process.version}, ${cpus().length} CPUs${quick ? ', --quick' : ''}. Slowdown = how many times slower the remote is.`,
    '',
    '| workload | direct | remote gRPC | remote Connect | remote gRPC, server process | slowdown gRPC | slowdown Connect | slowdown gRPC, server process |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map(
      ([name, key, hib, d]) =>
        `| ${name} | ${f(direct[key], d)} | ${f(g[key], d)} | ${f(c[key], d)} | ${f(own[key], d)} | ` +
        `${ratio(direct[key], g[key], hib)}× | ${ratio(direct[key], c[key], hib)}× | ${ratio(direct[key], own[key], hib)}× |`,
    ),
    '',
    `Where a gRPC listing's time goes (p50, ms, server in the client's process): the whole call ${f(parts.whole, 3)}; ` +
      `the same call to a server whose store hands back a page it already has (the wire: Connect and Skein's ` +
      `encoding, client and server) ${f(parts.memory, 3)}; a bare node:http2 request and answer of the page's size ` +
      `${f(parts.bare, 3)}.`,
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
