import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Worker } from 'node:worker_threads';
import { DamagedIndex } from './index-db.js';
import type { SweepScan } from './home-sync.js';
import type { PassWork } from './index-pass.js';
import type { IndexProgress, IndexProgressListener } from './indexer.js';

/**
 * The store's side of the index worker (index-worker.ts): started on the first pass large
 * enough to need it, given one pass at a time (jobs queue in the worker), and closed with the
 * index. A pass that fails in the worker fails with its error (a damaged index is reported as
 * DamagedIndex, so the store replaces the index as it would for its own query); a worker that
 * cannot start or dies rejects with WorkerUnavailable, and the caller runs the pass itself.
 */

/** What the worker is started with. */
export interface IndexWorkerData {
  /** The index file. */
  file: string;
  /** The home folder. */
  home: string;
  defaultModelProvider: string;
}

/**
 * A job for the worker: the work a pass of the store found, given files to compare and index,
 * or the background sweep's walk (`scan`, see sweepScan).
 */
export interface WorkerJob {
  id: number;
  work?: PassWork;
  paths?: string[];
  scan?: true;
  /** Whether to send progress. */
  progress: boolean;
}

/** What the worker sends back for a job (id 0: started, its connection open). */
export type WorkerReply =
  | { id: number; type: 'ready' }
  | { id: number; type: 'progress'; progress: IndexProgress }
  | { id: number; type: 'done'; progress: IndexProgress }
  | { id: number; type: 'scanned'; scan: SweepScan | null }
  | { id: number; type: 'error'; message: string; code: string | null; damaged: boolean };

/** The worker could not run the pass (it did not start, or it exited): run it on this thread. */
export class WorkerUnavailable extends Error {}

/**
 * Where the worker's module is, when a program bundles this package: a bundle sets this global
 * (a file URL, or its href) to the worker entry it emits next to itself; see the skein CLI.
 */
export const INDEX_WORKER_URL_KEY = Symbol.for('skein.thread-store-local.index-worker');

/** The worker's module: the bundle's (see INDEX_WORKER_URL_KEY), else the file next to this one; null when missing. */
function workerUrl(): URL | null {
  const given = (globalThis as Record<symbol, unknown>)[INDEX_WORKER_URL_KEY];
  const here = import.meta.url;
  const candidates: URL[] = [];
  if (typeof given === 'string' || given instanceof URL) candidates.push(new URL(given));
  // Run from the TypeScript sources (the tests), the worker is a .ts file too.
  candidates.push(new URL(here.endsWith('.ts') ? './index-worker.ts' : './index-worker.js', here));
  for (const url of candidates) {
    try {
      if (url.protocol === 'file:' && existsSync(fileURLToPath(url))) return url;
    } catch {
      // not a usable file URL
    }
  }
  return null;
}

/**
 * Run from the TypeScript sources (the tests run them with vitest), the worker loads its module
 * through tsx's loader (a development dependency), registered in the worker itself: Node 20 does
 * not take `--import` from a worker's execArgv.
 */
function typeScriptBootstrap(url: URL): string {
  return `
const { createRequire } = require('node:module');
const path = require('node:path');
const { pathToFileURL } = require('node:url');
const req = createRequire(${JSON.stringify(url.href)});
const pkg = req.resolve('tsx/package.json');
const api = path.join(path.dirname(pkg), req(pkg).exports['./esm/api'].import.default);
import(pathToFileURL(api).href)
  .then((tsx) => { tsx.register(); return import(${JSON.stringify(url.href)}); });
`;
}

/** How long close() waits for the worker to close its connection before it is terminated (ms). */
const CLOSE_WAIT_MS = 2000;

interface Pending {
  resolve: (result: IndexProgress | SweepScan | null) => void;
  reject: (e: Error) => void;
  onProgress: IndexProgressListener | undefined;
}

/** One index worker over one index file. */
export class IndexWorker {
  private readonly data: IndexWorkerData;
  private worker: Worker | null = null;
  private starting: Promise<Worker> | null = null;
  /** Resolves when the started worker has exited. */
  private exited: Promise<void> = Promise.resolve();
  /** Set when the worker cannot be used (it failed to start or died): passes run on the store's thread. */
  private failed = false;
  private closed = false;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  constructor(data: IndexWorkerData) {
    this.data = data;
  }

  /** Whether passes can go to the worker (false once it failed to start or died, or when closed). */
  get usable(): boolean {
    return !this.failed && !this.closed;
  }

  /** Runs a pass in the worker; resolves with its final progress. */
  async run(
    job: { work: PassWork } | { paths: string[] },
    onProgress: IndexProgressListener | undefined,
  ): Promise<IndexProgress> {
    return (await this.send(job, onProgress)) as IndexProgress;
  }

  /** The background sweep's walk of the home, in the worker (see sweepScan). */
  async scan(): Promise<SweepScan | null> {
    return (await this.send({ scan: true }, undefined)) as SweepScan | null;
  }

  private async send(
    job: Omit<WorkerJob, 'id' | 'progress'>,
    onProgress: IndexProgressListener | undefined,
  ): Promise<IndexProgress | SweepScan | null> {
    if (!this.usable) throw new WorkerUnavailable('the index worker is not available');
    const worker = await this.start();
    const id = this.nextId++;
    return new Promise<IndexProgress | SweepScan | null>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, onProgress });
      // Only a worker with passes under way keeps the process alive.
      if (this.pending.size === 1) worker.ref();
      worker.postMessage({ ...job, id, progress: onProgress !== undefined } satisfies WorkerJob);
    });
  }

  private start(): Promise<Worker> {
    this.starting ??= (async () => {
      const url = workerUrl();
      if (!url) throw this.fail(new WorkerUnavailable('the index worker module was not found'));
      const { Worker } = await import('node:worker_threads');
      let worker: Worker;
      try {
        worker = url.pathname.endsWith('.ts')
          ? new Worker(typeScriptBootstrap(url), { eval: true, workerData: this.data })
          : new Worker(url, { workerData: this.data });
      } catch (e) {
        throw this.fail(new WorkerUnavailable(`the index worker did not start: ${(e as Error).message}`));
      }
      this.exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
      worker.unref();
      worker.on('message', (m: WorkerReply) => this.receive(m));
      worker.on('error', (e) => this.fail(new WorkerUnavailable(`the index worker failed: ${e.message}`)));
      worker.on('exit', (code) => this.fail(new WorkerUnavailable(`the index worker exited with code ${code}`)));
      this.worker = worker;
      return worker;
    })();
    return this.starting;
  }

  private receive(m: WorkerReply): void {
    const p = this.pending.get(m.id);
    if (!p) return;
    if (m.type === 'progress') {
      p.onProgress?.(m.progress);
      return;
    }
    if (m.type === 'ready') return;
    this.settle(m.id);
    if (m.type === 'done') p.resolve(m.progress);
    else if (m.type === 'scanned') p.resolve(m.scan);
    else if (m.damaged) p.reject(new DamagedIndex(m.message));
    else p.reject(Object.assign(new Error(m.message), m.code === null ? {} : { code: m.code }));
  }

  private settle(id: number): void {
    this.pending.delete(id);
    if (this.pending.size === 0) this.worker?.unref();
  }

  /** The worker is not used again; passes under way in it fail with `e` (their callers run them here). */
  private fail(e: Error): Error {
    if (!this.closed) this.failed = true;
    this.worker = null;
    const waiting = [...this.pending.values()];
    this.pending.clear();
    for (const p of waiting) p.reject(e);
    return e;
  }

  /**
   * Closes the worker: its connection is closed once the passes given to it are done (the index
   * waits for them first); one that does not exit soon is terminated. `now`: terminated at once
   * (the index file is being replaced).
   */
  async close(now = false): Promise<void> {
    this.closed = true;
    const worker = this.starting ? await this.starting.catch(() => null) : null;
    if (!worker) return;
    const exited = this.exited;
    if (now) {
      await worker.terminate();
      return;
    }
    worker.ref();
    worker.postMessage({ close: true });
    const timer = setTimeout(() => void worker.terminate(), CLOSE_WAIT_MS);
    await exited;
    clearTimeout(timer);
  }
}
