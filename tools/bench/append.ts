/**
 * Write-side workloads: buffered append throughput (items/s, one `appendItems` call per item as
 * a live session makes them, and in batches of 100) and `flushThread` latency with fsync on.
 */
import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { RolloutItem, ThreadId } from '@skein/thread-store-api';
import { log } from './homes.js';
import { median, percentile } from './stats.js';
import { loadApi, loadLocalStore, type LocalStore } from './store-loader.js';
import { codexConfigToml, SYNTH_PROVIDER } from './synth-home.js';

export interface AppendResult {
  items: number;
  singleItemsPerSec: number;
  batchItemsPerSec: number;
  bytesWritten: number;
  flushSamples: number;
  flushFsyncMs: number[];
  flushNoFsyncMs: number[];
}

/** A realistic mix of small items (~150–600 bytes each), reused round-robin. */
function itemPool(): RolloutItem[] {
  const out: RolloutItem[] = [];
  for (let i = 0; i < 1000; i++) {
    const text = `Step ${i}: updated the cursor handling in src/listing.ts and re-ran the tests; ${'all green. '.repeat(1 + (i % 20))}`;
    switch (i % 5) {
      case 0:
        out.push({
          type: 'response_item',
          payload: {
            type: 'reasoning',
            summary: [{ type: 'summary_text', text: `**Step ${i}**` }],
            content: null,
            encrypted_content: 'gAAAAB' + 'x'.repeat(200),
          },
        });
        break;
      case 1:
        out.push({
          type: 'response_item',
          payload: {
            type: 'function_call',
            name: 'exec_command',
            arguments: JSON.stringify({ cmd: `pnpm test --filter pkg${i}` }),
            call_id: `call_${i}`,
          },
        });
        break;
      case 2:
        out.push({
          type: 'response_item',
          payload: { type: 'function_call_output', call_id: `call_${i - 1}`, output: `Exit code: 0\nOutput:\n${text}` },
        });
        break;
      case 3:
        out.push({
          type: 'response_item',
          payload: { type: 'message', role: 'assistant', content: [{ type: 'output_text', text }] },
        });
        break;
      default:
        out.push({ type: 'event_msg', payload: { type: 'agent_message', message: text, phase: null } });
    }
  }
  return out;
}

async function newThread(store: LocalStore, cwd: string): Promise<ThreadId> {
  const api = await loadApi();
  const threadId = api.newThreadId();
  await store.createThread({
    threadId,
    source: api.SessionSources.cli,
    originator: 'skein_bench',
    cliVersion: '0.0.0',
    baseInstructions: { text: 'You are a coding agent.' },
    metadata: { cwd, modelProvider: SYNTH_PROVIDER },
  });
  await store.appendItems({
    threadId,
    items: [
      {
        type: 'event_msg',
        payload: {
          type: 'user_message',
          message: 'benchmark the append path',
          images: [],
          local_images: [],
          text_elements: [],
        },
      },
    ],
  });
  await store.flushThread(threadId);
  return threadId;
}

export async function runAppend(baseDir: string, items: number, flushSamples: number): Promise<AppendResult> {
  const LocalThreadStore = await loadLocalStore();
  const home = path.join(baseDir, 'append-home');
  rmSync(home, { recursive: true, force: true });
  mkdirSync(home, { recursive: true });
  writeFileSync(path.join(home, 'config.toml'), codexConfigToml());
  const pool = itemPool();
  // The workload buffers every item before one flush (~70 MB at 200,000 items): above the
  // default cap of a writer's unflushed bytes (64 MiB), which would refuse the last appends.
  const store = new LocalThreadStore({
    home,
    defaultModelProvider: SYNTH_PROVIDER,
    fsync: 'always',
    maxBufferedBytes: 1 << 30,
  });
  try {
    // One call per item.
    let threadId = await newThread(store, home);
    let t0 = performance.now();
    for (let i = 0; i < items; i++) {
      await store.appendItems({ threadId, items: [pool[i % pool.length] as RolloutItem] });
    }
    await store.flushThread(threadId);
    const singleMs = performance.now() - t0;
    const read = await store.readThread({ threadId });
    const bytesWritten = read.rolloutPath ? statSync(read.rolloutPath).size : 0;
    await store.shutdownThread(threadId);
    log(
      `  append: ${items} single-item calls in ${singleMs.toFixed(0)} ms (${((items / singleMs) * 1000).toFixed(0)} items/s), ${(bytesWritten / 1e6).toFixed(1)} MB`,
    );

    // Batches of 100.
    threadId = await newThread(store, home);
    t0 = performance.now();
    for (let i = 0; i < items; i += 100) {
      const batch: RolloutItem[] = [];
      for (let j = i; j < Math.min(items, i + 100); j++) batch.push(pool[j % pool.length] as RolloutItem);
      await store.appendItems({ threadId, items: batch });
    }
    await store.flushThread(threadId);
    const batchMs = performance.now() - t0;
    await store.shutdownThread(threadId);
    log(`  append: ${items} items in batches of 100 in ${batchMs.toFixed(0)} ms`);

    const flushFsyncMs = await flushLatency(store, home, pool, flushSamples);
    log(
      `  flush with fsync: p50 ${median(flushFsyncMs).toFixed(2)} ms, p99 ${percentile(flushFsyncMs, 99).toFixed(2)} ms`,
    );
    await store.close();

    const noSync = new LocalThreadStore({ home, defaultModelProvider: SYNTH_PROVIDER, fsync: 'never' });
    const flushNoFsyncMs = await flushLatency(noSync, home, pool, flushSamples);
    await noSync.close();
    return {
      items,
      singleItemsPerSec: (items / singleMs) * 1000,
      batchItemsPerSec: (items / batchMs) * 1000,
      bytesWritten,
      flushSamples,
      flushFsyncMs,
      flushNoFsyncMs,
    };
  } finally {
    await store.close().catch(() => undefined);
  }
}

/** Appends one item and times the flush that follows, `samples` times. */
async function flushLatency(store: LocalStore, home: string, pool: RolloutItem[], samples: number): Promise<number[]> {
  const threadId = await newThread(store, home);
  const out: number[] = [];
  for (let i = 0; i < samples + 10; i++) {
    await store.appendItems({ threadId, items: [pool[i % pool.length] as RolloutItem] });
    const t0 = performance.now();
    await store.flushThread(threadId);
    if (i >= 10) out.push(performance.now() - t0);
  }
  await store.shutdownThread(threadId);
  return out;
}
