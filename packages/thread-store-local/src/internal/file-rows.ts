import { DamagedIndex } from './index-db.js';
import { emptyFileState, stateToJson } from './file-state.js';
import type { Found } from './discovery.js';
import { FILE_STAT_COLUMNS, yieldTurn } from './index-context.js';
import type { FileRow, IndexContext } from './index-context.js';
import { FILE_SUM_COLUMNS, sumOf } from './row-sum.js';

/**
 * The `files` rows and what hangs off them (`turns`, the `messages` FTS rows), and the
 * `pending_threads` marks: reads, moves and deletes. The write of a freshly indexed file is in
 * file-indexing.ts.
 */

/** Rows read per statement (and per turn of the event loop) when a pass reads every row. */
const ROWS_PER_SLICE = 2048;

/**
 * Every `files` row (without its state), read in keyset pages with a turn of the event loop
 * between them: at 100,000 files one read of all of them held the loop for a long step.
 */
export async function allFileRows(ctx: IndexContext): Promise<Map<string, FileRow>> {
  const rows = new Map<string, FileRow>();
  const page = ctx.stmt(`SELECT ${FILE_STAT_COLUMNS} FROM files WHERE rel > ? ORDER BY rel LIMIT ${ROWS_PER_SLICE}`);
  for (let after = ''; ;) {
    const got = page.all(after) as FileRow[];
    for (const r of got) rows.set(r.rel, r);
    if (got.length < ROWS_PER_SLICE) return rows;
    after = got[got.length - 1]?.rel ?? '';
    await yieldTurn();
  }
}

/** Writes a file's whole row (named parameters: every column of `files`), replacing one there. */
export const UPSERT_FILE_ROW = `INSERT INTO files (rel, thread_id, archived, listable, zst, size, mtime_ms, ctime_ms, ino, indexed_bytes,
     state, base_id, base_end, sum)
   VALUES (@rel, @thread_id, @archived, @listable, @zst, @size, @mtime_ms, @ctime_ms, @ino, @indexed_bytes, @state,
     @base_id, @base_end, @sum)
   ON CONFLICT(rel) DO UPDATE SET thread_id = excluded.thread_id, archived = excluded.archived,
     listable = excluded.listable, zst = excluded.zst, size = excluded.size, mtime_ms = excluded.mtime_ms,
     ctime_ms = excluded.ctime_ms, ino = excluded.ino, indexed_bytes = excluded.indexed_bytes, state = excluded.state,
     base_id = excluded.base_id, base_end = excluded.base_end, sum = excluded.sum`;

/** The rows of the given files (absolute paths; those outside the home are skipped). */
export function fileRowsOf(ctx: IndexContext, paths: Iterable<string>): Map<string, FileRow> {
  const rows = new Map<string, FileRow>();
  const one = ctx.stmt(`SELECT ${FILE_STAT_COLUMNS} FROM files WHERE rel = ?`);
  for (const abs of paths) {
    let rel: string;
    try {
      rel = ctx.layout.rel(abs);
    } catch {
      continue;
    }
    const r = one.get(rel) as FileRow | undefined;
    if (r) rows.set(r.rel, r);
  }
  return rows;
}

export function withFileSum<T extends Record<string, unknown>>(row: T): T & { sum: number } {
  return { ...row, sum: sumOf(row, FILE_SUM_COLUMNS) };
}

/**
 * A file row's saved state JSON, checked against the row's checksum: a rebuilt thread row or
 * an appended tail would otherwise carry a damaged state forward as truth.
 */
export function stateOf(ctx: IndexContext, row: Pick<FileRow, 'rel' | 'state' | 'sum'>): string {
  const full =
    row.state !== undefined && row.sum !== undefined
      ? row
      : (ctx.stmt('SELECT * FROM files WHERE rel = ?').get(row.rel) as FileRow | undefined);
  if (!full || full.state === undefined) return stateToJson(emptyFileState());
  if (sumOf(full as unknown as Record<string, unknown>, FILE_SUM_COLUMNS) !== full.sum)
    throw new DamagedIndex(`the index row of file ${full.rel} does not match its checksum`);
  return full.state;
}

/** A file renamed or touched without new content: only the row's facts change. */
export function touchFileRow(ctx: IndexContext, f: Found): void {
  ctx
    .stmt('UPDATE files SET ctime_ms = ?, archived = ?, listable = ? WHERE rel = ?')
    .run(f.ctimeMs, f.archived ? 1 : 0, f.listable ? 1 : 0, f.rel);
}

/** A file that moved (same name, inode and size): its rows follow it. */
export function moveFileRow(ctx: IndexContext, oldRel: string, f: Found): void {
  ctx.db
    .transaction(() => {
      ctx
        .stmt('UPDATE files SET rel = ?, archived = ?, listable = ?, mtime_ms = ?, ctime_ms = ? WHERE rel = ?')
        .run(f.rel, f.archived ? 1 : 0, f.listable ? 1 : 0, f.mtimeMs, f.ctimeMs, oldRel);
      ctx.stmt('UPDATE message_files SET rel = ? WHERE rel = ?').run(f.rel, oldRel);
      ctx.stmt('UPDATE turns SET rel = ? WHERE rel = ?').run(f.rel, oldRel);
    })
    .immediate();
}

export function deleteMessages(ctx: IndexContext, rel: string): void {
  // Row by row: FTS5 answers `rowid IN (subquery)` with a scan of the whole table.
  const rids = ctx.stmt('SELECT rid FROM message_files WHERE rel = ?').pluck().all(rel) as number[];
  if (rids.length === 0) return;
  const del = ctx.stmt('DELETE FROM messages WHERE rowid = ?');
  for (const rid of rids) del.run(rid);
  ctx.stmt('DELETE FROM message_files WHERE rel = ?').run(rel);
}

/** A file that is gone: its row, turns and messages go. */
export function deleteFileRow(ctx: IndexContext, rel: string): void {
  ctx.db
    .transaction(() => {
      ctx.stmt('DELETE FROM files WHERE rel = ?').run(rel);
      ctx.stmt('DELETE FROM turns WHERE rel = ?').run(rel);
      deleteMessages(ctx, rel);
    })
    .immediate();
}

/** Records that these threads' rows must be rebuilt (see `pending_threads` in index-db.ts). */
export function markPending(ctx: IndexContext, ids: Iterable<string>): void {
  const ins = ctx.stmt('INSERT OR IGNORE INTO pending_threads (thread_id) VALUES (?)');
  for (const id of ids) ins.run(id);
}

/** Threads whose rows a killed process left to be rebuilt. */
export function pendingThreads(ctx: IndexContext): string[] {
  return ctx.stmt('SELECT thread_id FROM pending_threads').pluck().all() as string[];
}
