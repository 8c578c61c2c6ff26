import { createRequire } from 'node:module';
import type { Db } from './index-db.js';
import { FILE_SUM_COLUMNS, rowSum, sumOf, THREAD_SUM_COLUMNS } from './row-sum.js';
import { recountThreads, threadCountsAgree } from './thread-counts.js';

/**
 * The index's integrity pass, off the request path: every row's checksum (row-sum.ts) is
 * verified in small slices, one event-loop turn apart, so listings and reads go on in between;
 * SQLite's `quick_check` (the file's structure, which reads every page: ~0.6 s for 140 MB) runs
 * on a worker thread over its own read-only connection. The first problem found is reported;
 * the store then rebuilds the index from the rollout files.
 */

export interface IntegrityResult {
  ok: boolean;
  /** What was wrong (null when ok). */
  problem: string | null;
  /** Rows whose checksum was verified. */
  rowsChecked: number;
}

export interface IntegrityOptions {
  /** Rows per slice of the row pass (message rows count 10 each: they hold whole files' text). */
  sliceRows?: number;
  /** Aborted: the pass stops between slices and the quick_check worker is ended (the store is closing). */
  signal?: AbortSignal;
  /** Skip `quick_check` (tests of the row pass alone). */
  skipQuickCheck?: boolean;
}

interface Scan {
  label: string;
  sql: string;
  rows: number;
  /** The problem with a row, or null. */
  check: (row: Record<string, unknown>) => string | null;
}

const SCANS: Scan[] = [
  {
    label: 'threads',
    sql: 'SELECT rowid AS _rid, * FROM threads WHERE rowid > ? ORDER BY rowid LIMIT ?',
    rows: 1,
    check: (r) => (sumOf(r, THREAD_SUM_COLUMNS) === r.sum ? null : `thread ${String(r.thread_id)}`),
  },
  {
    label: 'files',
    sql: 'SELECT rowid AS _rid, * FROM files WHERE rowid > ? ORDER BY rowid LIMIT ?',
    rows: 1,
    check: (r) => (sumOf(r, FILE_SUM_COLUMNS) === r.sum ? null : `file ${String(r.rel)}`),
  },
  {
    label: 'messages',
    sql: `SELECT mf.rid AS _rid, mf.rel AS rel, mf.parts AS parts, mf.sum AS sum, m.text AS text
          FROM message_files mf LEFT JOIN messages m ON m.rowid = mf.rid WHERE mf.rid > ? ORDER BY mf.rid LIMIT ?`,
    rows: 10,
    check: (r) =>
      typeof r.text === 'string' && rowSum([r.text, r.parts]) === r.sum ? null : `messages of ${String(r.rel)}`,
  },
];

/** Verifies every row's checksum, a slice per event-loop turn. */
async function checkRows(db: Db, opts: IntegrityOptions): Promise<IntegrityResult> {
  const slice = opts.sliceRows ?? 500;
  let rowsChecked = 0;
  for (const scan of SCANS) {
    const limit = Math.max(1, Math.floor(slice / scan.rows));
    let after = -Infinity;
    for (;;) {
      if (opts.signal?.aborted) return { ok: true, problem: null, rowsChecked };
      const rows = db.prepare(scan.sql).all(after, limit) as Record<string, unknown>[];
      for (const r of rows) {
        const bad = scan.check(r);
        if (bad !== null)
          return { ok: false, problem: `the index row of ${bad} does not match its checksum`, rowsChecked };
        rowsChecked += 1;
      }
      if (rows.length < limit) break;
      after = rows[rows.length - 1]?._rid as number;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }
  return { ok: true, problem: null, rowsChecked };
}

/** A worker that opens the index read-only and runs quick_check (CommonJS, so it can be eval'd). */
const QUICK_CHECK_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.sqlite);
let db;
try {
  db = new Database(workerData.file, { readonly: true, fileMustExist: true });
  db.pragma('busy_timeout = 10000');
  parentPort.postMessage({ result: String(db.pragma('quick_check', { simple: true })) });
} catch (e) {
  parentPort.postMessage({ error: String(e && e.code ? e.code + ': ' + e.message : e) });
} finally {
  if (db) db.close();
}
`;

/** `quick_check` of the index file on a worker thread: 'ok', or what SQLite found. */
export async function quickCheckInWorker(
  file: string,
  signal?: AbortSignal,
): Promise<{ result?: string; error?: string }> {
  const sqlite = createRequire(import.meta.url).resolve('better-sqlite3');
  // worker_threads loads with the first check, not with every process that opens a store.
  const { Worker } = await import('node:worker_threads');
  return new Promise((resolve) => {
    const worker = new Worker(QUICK_CHECK_WORKER, { eval: true, workerData: { file, sqlite } });
    // A closing store does not wait for a whole-file read.
    signal?.addEventListener('abort', () => void worker.terminate(), { once: true });
    let settled = false;
    const done = (v: { result?: string; error?: string }): void => {
      if (settled) return;
      settled = true;
      resolve(v);
    };
    worker.once('message', (m: { result?: string; error?: string }) => done(m));
    worker.once('error', (e) => done({ error: e.message }));
    worker.once('exit', (code) => done({ error: `the quick_check worker exited with code ${code}` }));
  });
}

/** The whole pass: row checksums, then the file's structure. */
export async function checkIndexIntegrity(db: Db, file: string, opts: IntegrityOptions = {}): Promise<IntegrityResult> {
  const rows = await checkRows(db, opts);
  if (!rows.ok || opts.signal?.aborted) return rows;
  // The listing counts (thread-counts.ts) are derived from rows just verified: a wrong group is
  // counted again from the rows, no rebuild needed (one scan of the source index, ~10 ms at
  // 100,000 threads).
  if (!threadCountsAgree(db)) recountThreads(db);
  if (opts.skipQuickCheck === true) return rows;
  const qc = await quickCheckInWorker(file, opts.signal);
  // Damage is what quick_check reports, or an error saying the file is corrupt; a busy file or a
  // worker that could not run says nothing about the index.
  const damaged =
    (qc.result !== undefined && qc.result !== 'ok') ||
    (qc.error !== undefined && /SQLITE_CORRUPT|SQLITE_NOTADB/.test(qc.error));
  return damaged ? { ...rows, ok: false, problem: `quick_check: ${qc.result ?? qc.error}` } : rows;
}
