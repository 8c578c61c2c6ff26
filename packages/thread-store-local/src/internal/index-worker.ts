import { readlinkSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { sweepScan } from './home-sync.js';
import { isIndexCorruption } from './index-db.js';
import type { IndexContext } from './index-context.js';
import { applyChanges, findPathChanges, FULL_PASS_SLICE_MS } from './index-pass.js';
import type { IndexProgress } from './indexer.js';
import { HomeLayout } from './paths.js';
import { sqliteAddon } from './sqlite-addon.js';
import type { IndexWorkerData, WorkerJob, WorkerReply } from './index-worker-client.js';

/**
 * The index worker (a worker_threads thread started by index-worker-client.ts): it runs the
 * heavy part of large passes (reading the changed files, writing their rows, the names and the
 * thread rows) over its own connection to the index file, so the store's thread stays free to
 * answer calls. SQLite's WAL lets the store's connection read while this one writes; the write
 * transactions are kept short, since a write of the store's thread waits for them.
 */

/**
 * The worker thread's nice value (Linux: each thread has its own): when the CPUs are busy, the
 * store's thread, answering calls, goes first.
 */
const WORKER_NICE = 10;

/** Lowers this thread's priority where a thread has its own (Linux); elsewhere nothing. */
function lowerPriority(): void {
  try {
    // /proc/thread-self → <pid>/task/<tid>
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isSafeInteger(tid) && tid > 0) setPriority(tid, Math.max(WORKER_NICE, getPriority(tid)));
  } catch {
    // no /proc, or not allowed: the worker runs at the process's priority
  }
}

const port = parentPort;
if (!port) throw new Error('index-worker.ts runs as a worker thread');
const data = workerData as IndexWorkerData;
lowerPriority();

const db = new Database(data.file, { ...sqliteAddon(), fileMustExist: true });
db.pragma('busy_timeout = 10000');
db.pragma('synchronous = NORMAL');
const statements = new Map<string, Database.Statement>();
const ctx: IndexContext = {
  layout: new HomeLayout(data.home),
  db,
  defaultModelProvider: data.defaultModelProvider,
  // The indexing code uses a fixed set of statements: cached without bound.
  stmt: (sql) => {
    let st = statements.get(sql);
    if (!st) {
      st = db.prepare(sql);
      statements.set(sql, st);
    }
    return st;
  },
  passStates: new Map(),
};

async function run(job: WorkerJob): Promise<void> {
  const reply = (r: WorkerReply): void => port?.postMessage(r);
  const onProgress = job.progress
    ? (p: IndexProgress) => reply({ id: job.id, type: 'progress', progress: p })
    : undefined;
  try {
    if (job.scan) {
      reply({ id: job.id, type: 'scanned', scan: await sweepScan(ctx.layout, ctx.stmt) });
      return;
    }
    const work = job.work ?? findPathChanges(ctx, job.paths ?? []);
    // Slices as long as a full pass's, whatever the pass: they do not hold the store's event
    // loop, and fewer commits cost less (a write of the store's thread waits for a commit).
    const progress = await applyChanges(ctx, work, onProgress, { sliceMs: FULL_PASS_SLICE_MS });
    reply({ id: job.id, type: 'done', progress });
  } catch (e) {
    const err = e as { message?: unknown; code?: unknown };
    reply({
      id: job.id,
      type: 'error',
      message: String(err?.message ?? e),
      code: typeof err?.code === 'string' ? err.code : null,
      damaged: isIndexCorruption(e),
    });
  }
}

let queue: Promise<void> = Promise.resolve();
port.on('message', (m: WorkerJob | { close: true }) => {
  if ('close' in m) {
    queue = queue.then(() => {
      db.close();
      port.close();
    });
    return;
  }
  queue = queue.then(() => run(m));
});
port.postMessage({ id: 0, type: 'ready' } satisfies WorkerReply);
