import path from 'node:path';
import { codexStateChanges } from './change-scan.js';
import { statPaths, walkHome } from './discovery.js';
import type { Found } from './discovery.js';
import { bytesToRead, indexFile } from './file-indexing.js';
import {
  allFileRows,
  deleteFileRow,
  fileRowsOf,
  markPending,
  moveFileRow,
  pendingThreads,
  touchFileRow,
} from './file-rows.js';
import type { FileRow, IndexContext } from './index-context.js';
import { yieldTurn } from './index-context.js';
import type { IndexProgress, IndexProgressListener, ThreadIndex } from './indexer.js';
import { namesIfChanged, syncNamesChanged } from './names-sync.js';
import { rebuildThreadsInSlices } from './thread-rows.js';

/**
 * One pass of the index over the home (every file) or over given files: what changed is found
 * by comparing stats with rows, the changed files are read in slices, each slice's writes
 * committed in one transaction, and the event loop gets a turn between slices.
 */

/**
 * A pass commits its batch and yields to the event loop after this much work (ms): a full pass
 * (callers wait for it; fewer, larger commits cost less CPU) and a pass over given files (the
 * watcher's changes and the background sweep, which run while other calls are answered).
 */
export const FULL_PASS_SLICE_MS = 50;
const PATH_PASS_SLICE_MS = 10;

/** What a pass found to do: the files to read (with their rows), and the threads to rebuild. */
export interface PassWork {
  /** Files whose content changed since their rows (or that have none). */
  todo: Found[];
  /** The rows of the files in `todo` that have one. */
  rows: FileRow[];
  /** Threads whose rows must be rebuilt whatever is read (moved, removed or touched files). */
  affected: string[];
  /** Whether this is a pass over given files (shorter slices) rather than a full pass. */
  paths: boolean;
}

/** Bytes a pass's work reads (the appended tails, or whole files). */
export function workBytes(work: PassWork): number {
  const rows = new Map(work.rows.map((r) => [r.rel, r]));
  return work.todo.reduce((n, f) => n + bytesToRead(f, rows.get(f.rel)), 0);
}

/**
 * Where the heavy part of a pass (applyChanges) runs: on this thread, or handed to the index
 * worker (index-worker.ts). Resolves with the pass's final progress.
 */
export type ApplyChanges = (work: PassWork, onProgress: IndexProgressListener | undefined) => Promise<IndexProgress>;

/**
 * Brings the index up to date with the files: all of them (a walk of the home), or only the
 * given ones (absolute paths: each is stat-ed and compared with its row; vanished ones are
 * dropped, and a file that moved between two of them keeps its indexed state). The walk and
 * the comparison run here; reading the changed files and writing their rows runs in `apply`.
 */
export async function runPass(
  ctx: IndexContext,
  index: ThreadIndex,
  onProgress: IndexProgressListener | undefined,
  paths: ReadonlySet<string> | undefined,
  apply: ApplyChanges,
): Promise<void> {
  if (paths) {
    const progress = await apply(findPathChanges(ctx, paths), onProgress);
    onProgress?.({ ...progress, phase: 'done' });
    return;
  }
  index.lastSweepStartedAt = performance.now();
  const codexDb = index.changes.codexStateDb;
  const codexAtStart = codexDb ? codexStateChanges(codexDb, null) : null;
  const walked = new Map<string, string>();
  const watcher = index.watcher;
  let found: Found[];
  watcher?.beginSweep();
  try {
    found = (await walkHome(ctx.layout, walked, watcher ? (dir) => watcher.visitDir(dir) : null)) ?? [];
  } finally {
    watcher?.endSweep();
  }
  const progress = await apply(compareWithRows(ctx, found, await allFileRows(ctx), false), onProgress);
  index.changes.saveSweep(walked, codexAtStart?.seen ?? null);
  onProgress?.({ ...progress, phase: 'done' });
}

/** What a pass over the given files (absolute paths) has to do: see runPass. */
export function findPathChanges(ctx: IndexContext, paths: Iterable<string>): PassWork {
  const set = [...paths];
  return compareWithRows(ctx, statPaths(ctx.layout, set), fileRowsOf(ctx, set), true);
}

/**
 * Compares the files found with their rows: moved and removed files are settled, renamed or
 * touched ones get their row's facts updated, and the files whose content changed are returned.
 */
function compareWithRows(ctx: IndexContext, found: Found[], rows: Map<string, FileRow>, paths: boolean): PassWork {
  const affected = new Set<string>();
  settleMovesAndRemovals(ctx, found, rows, affected);
  const todo = found.filter((f) => {
    const r = rows.get(f.rel);
    if (!r) return true;
    if (r.size !== f.size || r.mtime_ms !== f.mtimeMs || r.ino !== f.ino) return true;
    if (r.ctime_ms !== f.ctimeMs || r.archived !== (f.archived ? 1 : 0)) {
      // Renamed or touched without new content: only the row's facts change.
      markPending(ctx, [r.thread_id]);
      touchFileRow(ctx, f);
      affected.add(r.thread_id);
    }
    return false;
  });
  const todoRows: FileRow[] = [];
  for (const f of todo) {
    const r = rows.get(f.rel);
    if (r) todoRows.push(r);
  }
  return { todo, rows: todoRows, affected: [...affected], paths };
}

/** How applyChanges runs. */
export interface ApplyOptions {
  /**
   * Whether to also rebuild the threads other passes left marked (see `pending_threads`):
   * asked after the files are written. False while a pass of the index worker may still be
   * writing the rows of the threads it marked (it rebuilds them itself).
   */
  pending?: () => boolean;
  /** The length of a slice (ms; default: by the kind of pass). */
  sliceMs?: number;
}

/**
 * The heavy part of a pass: the changed files are read, each slice's writes committed in one
 * transaction (the event loop gets a turn between slices), then session_index.jsonl's names
 * and the affected threads' rows.
 */
export async function applyChanges(
  ctx: IndexContext,
  work: PassWork,
  onProgress: IndexProgressListener | undefined,
  options: ApplyOptions = {},
): Promise<IndexProgress> {
  const { todo, paths } = work;
  const rows = new Map(work.rows.map((r) => [r.rel, r]));
  const affected = new Set(work.affected);
  const progress: IndexProgress = {
    phase: 'indexing',
    filesDone: 0,
    filesTotal: todo.length,
    bytesDone: 0,
    bytesTotal: workBytes(work),
  };
  onProgress?.({ ...progress, phase: 'scanning' });
  let batch: (() => void)[] = [];
  let batchBytes = 0;
  let sliceStart = performance.now();
  // The batch's writes run at its commit, after the reads that queued them. What a commit costs
  // per byte read is learnt from the commits so far (the first file is committed alone to learn
  // it), and a slice ends when its reads plus the commit they would need reach its length.
  const sliceMs = options.sliceMs ?? (paths ? PATH_PASS_SLICE_MS : FULL_PASS_SLICE_MS);
  let commitMsPerByte = 0;
  const commit = (): void => {
    const writes = batch;
    batch = [];
    batchBytes = 0;
    if (writes.length > 0) ctx.db.transaction(() => writes.forEach((w) => w())).immediate();
  };
  for (const f of todo) {
    const prev = rows.get(f.rel);
    const bytes = bytesToRead(f, prev);
    const { ids, write } = await indexFile(
      ctx,
      f,
      prev,
      onProgress ? (n) => onProgress({ ...progress, bytesDone: progress.bytesDone + n }) : undefined,
    );
    for (const id of ids) affected.add(id);
    batch.push(write, () => markPending(ctx, ids));
    batchBytes += bytes;
    const readMs = performance.now() - sliceStart;
    if (
      batch.length >= 500 ||
      batchBytes >= 32 << 20 ||
      commitMsPerByte === 0 ||
      readMs + commitMsPerByte * batchBytes > sliceMs
    ) {
      const committed = Math.max(1, batchBytes);
      const commitStart = performance.now();
      commit();
      const perByte = (performance.now() - commitStart) / committed;
      commitMsPerByte = commitMsPerByte === 0 ? perByte : 0.7 * commitMsPerByte + 0.3 * perByte;
      // Other calls run between slices: a long pass never holds the event loop for long.
      await yieldTurn();
      sliceStart = performance.now();
    }
    progress.filesDone += 1;
    progress.bytesDone += bytes;
    onProgress?.({ ...progress });
  }
  commit();
  for (const id of syncNamesChanged(ctx, await namesIfChanged(ctx))) affected.add(id);
  if (options.pending?.() ?? true) for (const id of pendingThreads(ctx)) affected.add(id);
  await rebuildThreadsInSlices(ctx, affected, options.sliceMs);
  return progress;
}

/**
 * Rows of files no longer on disk: a file that moved (same name, inode and size) keeps its
 * indexed state under its new path, the others' rows go. Their threads are marked and added to
 * `affected`; `rows` is updated to match.
 */
function settleMovesAndRemovals(
  ctx: IndexContext,
  found: readonly Found[],
  rows: Map<string, FileRow>,
  affected: Set<string>,
): void {
  const onDisk = new Set(found.map((f) => f.rel));
  const removed = [...rows.values()].filter((r) => !onDisk.has(r.rel));
  if (removed.length === 0) return;
  const byName = new Map<string, Found[]>();
  for (const f of found) {
    if (rows.has(f.rel)) continue;
    const k = path.basename(f.rel);
    byName.set(k, [...(byName.get(k) ?? []), f]);
  }
  const moved = new Set<string>();
  for (const r of removed) {
    const cands = byName.get(path.basename(r.rel)) ?? [];
    const m = cands.find((f) => !moved.has(f.rel) && f.ino === r.ino && f.size === r.size);
    markPending(ctx, [r.thread_id]);
    if (m) {
      moved.add(m.rel);
      moveFileRow(ctx, r.rel, m);
      rows.set(m.rel, {
        ...r,
        rel: m.rel,
        archived: m.archived ? 1 : 0,
        listable: m.listable ? 1 : 0,
        mtime_ms: m.mtimeMs,
        ctime_ms: m.ctimeMs,
      });
    } else {
      deleteFileRow(ctx, r.rel);
    }
    rows.delete(r.rel);
    affected.add(r.thread_id);
  }
}
