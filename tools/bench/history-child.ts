/**
 * Child process: streams one thread's history through `readThread({includeHistory:true})` and
 * reports throughput and the memory high-water marks. Run in its own process so that its RSS
 * and heap are the store's alone, and so that `--max-old-space-size` can prove that memory stays
 * flat (a store that buffered a 100 MB history would die with a heap-limit error).
 *
 * argv: <home> <threadId> <runs>; prints one JSON object on stdout.
 */
import { statSync } from 'node:fs';
import v8 from 'node:v8';
import type { ThreadId } from '@skein/thread-store-api';
import { loadLocalStore } from './store-loader.js';
import { SYNTH_PROVIDER } from './synth-home.js';

interface Peaks {
  rss: number;
  heapUsed: number;
  external: number;
}

const [home, threadId, runsArg] = process.argv.slice(2);
if (!home || !threadId) {
  console.error('usage: history-child.ts <home> <threadId> [runs]');
  process.exit(2);
}
const runs = Number(runsArg ?? '3');

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

const peaks: Peaks = { rss: 0, heapUsed: 0, external: 0 };
function sample(): void {
  const m = process.memoryUsage();
  if (m.rss > peaks.rss) peaks.rss = m.rss;
  if (m.heapUsed > peaks.heapUsed) peaks.heapUsed = m.heapUsed;
  if (m.external + m.arrayBuffers > peaks.external) peaks.external = m.external + m.arrayBuffers;
}

const LocalThreadStore = await loadLocalStore();
const store = new LocalThreadStore({ home, defaultModelProvider: SYNTH_PROVIDER });
await store.indexNow();
const first = await store.readThread({ threadId: threadId as ThreadId });
const bytes = first.rolloutPath ? statSync(first.rolloutPath).size : Number.NaN;
gc();
const base = process.memoryUsage();
peaks.rss = base.rss;
peaks.heapUsed = base.heapUsed;
peaks.external = base.external + base.arrayBuffers;
const timer = setInterval(sample, 5);

const ms: number[] = [];
let items = 0;
for (let r = 0; r < runs; r++) {
  const t0 = performance.now();
  const thread = await store.readThread({ threadId: threadId as ThreadId, includeHistory: true });
  let n = 0;
  if (thread.history) {
    for await (const item of thread.history) {
      // Touch the item so the loop cannot be optimised away.
      if (item.type.length === 0) throw new Error('empty item type');
      if ((++n & 1023) === 0) sample();
    }
  }
  ms.push(performance.now() - t0);
  items = n;
  sample();
}
clearInterval(timer);
await store.close();
const heapLimit = v8.getHeapStatistics().heap_size_limit;
process.stdout.write(
  JSON.stringify({
    bytes,
    items,
    ms,
    baseRss: base.rss,
    baseHeapUsed: base.heapUsed,
    peakRss: peaks.rss,
    peakHeapUsed: peaks.heapUsed,
    peakExternal: peaks.external,
    heapLimit,
  }) + '\n',
);
