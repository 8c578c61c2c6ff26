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
const FULL_PASS_SLICE_MS = 50;
const PATH_PASS_SLICE_MS = 10;

/**
 * Brings the index up to date with the files: all of them (a walk of the home), or only the
 * given ones (absolute paths: each is stat-ed and compared with its row; vanished ones are
 * dropped, and a file that moved between two of them keeps its indexed state).
 */
export async function runPass(
  ctx: IndexContext,
  index: ThreadIndex,
  onProgress?: IndexProgressListener,
  paths?: ReadonlySet<string>,
): Promise<void> {
  let rows: Map<string, FileRow>;
  let found: Found[];
  const walked = new Map<string, string>();
  let codexAtStart: { seen: number } | null = null;
  if (paths) {
    found = statPaths(ctx.layout, paths);
    rows = fileRowsOf(ctx, paths);
  } else {
    index.lastSweepStartedAt = performance.now();
    const codexDb = index.changes.codexStateDb;
    codexAtStart = codexDb ? codexStateChanges(codexDb, null) : null;
    const watcher = index.watcher;
    watcher?.beginSweep();
    try {
      found = (await walkHome(ctx.layout, walked, watcher ? (dir) => watcher.visitDir(dir) : null)) ?? [];
    } finally {
      watcher?.endSweep();
    }
    rows = await allFileRows(ctx);
  }
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
  const progress: IndexProgress = {
    phase: 'indexing',
    filesDone: 0,
    filesTotal: todo.length,
    bytesDone: 0,
    bytesTotal: todo.reduce((n, f) => n + bytesToRead(f, rows.get(f.rel)), 0),
  };
  onProgress?.({ ...progress, phase: 'scanning' });
  let batch: (() => void)[] = [];
  let batchBytes = 0;
  let sliceStart = performance.now();
  // The batch's writes run at its commit, after the reads that queued them. What a commit costs
  // per byte read is learnt from the commits so far (the first file is committed alone to learn
  // it), and a slice ends when its reads plus the commit they would need reach its length.
  const sliceMs = paths ? PATH_PASS_SLICE_MS : FULL_PASS_SLICE_MS;
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
  for (const id of pendingThreads(ctx)) affected.add(id);
  await rebuildThreadsInSlices(ctx, affected);
  if (!paths) index.changes.saveSweep(walked, codexAtStart?.seen ?? null);
  onProgress?.({ ...progress, phase: 'done' });
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
