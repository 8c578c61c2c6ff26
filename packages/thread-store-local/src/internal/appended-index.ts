import { statSync } from 'node:fs';
import type { Stats } from 'node:fs';
import { contentRow } from './content-search.js';
import { foundFrom } from './discovery.js';
import type { Found } from './discovery.js';
import { emptyFileState, FileScanner, fileThreadId, stateFromJson, stateToJson } from './file-state.js';
import type { FileState } from './file-state.js';
import { deleteMessages, stateOf, UPSERT_FILE_ROW, withFileSum } from './file-rows.js';
import { FILE_STAT_COLUMNS } from './index-context.js';
import type { FileRow, IndexContext } from './index-context.js';
import type { AppendedRun } from './recorder.js';
import { rowSum } from './row-sum.js';
import { rebuildThreads, writeThreadRow } from './thread-rows.js';
import { TurnRowsSink } from './turn-index.js';

/**
 * Indexing what this store's writers just appended, from the lines they wrote rather than by
 * reading the files back (see RolloutRecorder.takeAppended). The lines go through the same
 * FileScanner as a read of the file, continuing the state saved in the file's row, so the rows
 * are those a tail read would write. A run is used only when its file is still what the writer
 * left (same size) and the row is exactly where the run starts (same offset, inode and
 * fingerprint); otherwise its file is read like any changed file (the caller's fallback).
 */

/**
 * The states this module last wrote, per index database and file, with the row's checksum
 * then: a row whose checksum is still that one holds that state (the checksum covers it), so
 * the next round of the same writer neither reads nor parses it again.
 */
const written = new WeakMap<object, Map<string, { sum: number; state: FileState }>>();

function writtenStates(ctx: IndexContext): Map<string, { sum: number; state: FileState }> {
  let m = written.get(ctx.db);
  if (!m) written.set(ctx.db, (m = new Map()));
  return m;
}

/** A run checked against the file and its row, with the scan of its lines done. */
interface Scanned {
  f: Found;
  prev: FileRow | undefined;
  tail: boolean;
  state: FileState;
  stateJson: string;
  scanner: FileScanner;
  turnRows: TurnRowsSink;
  ids: string[];
}

/**
 * Where in `run` its file's row continues, with the state saved in the row: the run's start, or
 * a later offset where one of the writer's writes began (the row was brought there by a read of
 * the file meanwhile), when the row is of the same file (inode, not compressed) and holds the
 * fingerprint the writer saw there. Null when the row is elsewhere.
 */
function stateAtMark(
  ctx: IndexContext,
  run: AppendedRun,
  f: Found,
  prev: FileRow | undefined,
): { at: number; state: FileState } | null {
  if (run.start === 0 && (!prev || prev.ino !== f.ino || prev.indexed_bytes === 0))
    return { at: 0, state: emptyFileState() };
  if (!prev || prev.zst !== 0 || prev.ino !== f.ino) return null;
  const mark = run.marks.find((m) => m.at === prev.indexed_bytes);
  if (!mark) return null;
  if (mark.at === 0) return { at: 0, state: emptyFileState() };
  const known = writtenStates(ctx).get(prev.rel);
  const state = known && known.sum === prev.sum ? known.state : stateFromJson(stateOf(ctx, prev));
  return state.fingerprint === mark.print ? { at: mark.at, state } : null;
}

/** Scans a run's lines from where its file's row is; `current` when the row holds them all already, null when it cannot be used. */
function scanRun(ctx: IndexContext, run: AppendedRun): Scanned | 'current' | null {
  let st: Stats;
  try {
    st = statSync(run.path);
  } catch {
    return null;
  }
  const f = foundFrom(ctx.layout, run.path, st);
  // The file must end where the writer left it: bytes from anyone else are read from the file.
  if (!f || f.zst || !st.isFile() || f.size !== run.end) return null;
  // The state is read (and its checksum checked) only when this module did not write it.
  const prev = ctx.stmt(`SELECT ${FILE_STAT_COLUMNS}, sum FROM files WHERE rel = ?`).get(f.rel) as FileRow | undefined;
  if (
    prev?.ino === f.ino &&
    prev.indexed_bytes === f.size &&
    prev.size === f.size &&
    prev.mtime_ms === f.mtimeMs &&
    prev.ctime_ms === f.ctimeMs &&
    prev.zst === 0
  )
    return 'current'; // a read of the file indexed it all meanwhile
  const from = stateAtMark(ctx, run, f, prev);
  if (!from) return null;
  const tail = from.at > 0;
  const turnRows = new TurnRowsSink(ctx.stmt.bind(ctx), f.rel, tail);
  const scanner = new FileScanner(from.state, turnRows);
  for (const line of run.lines) {
    if (line.start < from.at) continue;
    scanner.lineEnd = line.end;
    scanner.line(line.text, line);
  }
  const state = scanner.finish();
  state.fingerprint = run.endPrint;
  const threadId = fileThreadId(state.derived.threadId, f.fileNameThreadId);
  const ids = new Set<string>([threadId]);
  if (prev) ids.add(prev.thread_id);
  return { f, prev, tail, state, stateJson: stateToJson(state), scanner, turnRows, ids: [...ids] };
}

/** An append to a row that stays the same file of the same thread: what it changes, no more (no update of files_thread). */
const UPDATE_APPENDED = `UPDATE files SET size = @size, mtime_ms = @mtime_ms, ctime_ms = @ctime_ms,
     indexed_bytes = @indexed_bytes, state = @state, base_id = @base_id, base_end = @base_end, sum = @sum
   WHERE rel = @rel`;

/**
 * Writes one scanned run's rows: the same rows file-indexing.ts writes after a read of the
 * file. Returns the file's row as written.
 */
function writeScanned(ctx: IndexContext, s: Scanned): FileRow & { state: string; sum: number } {
  const { f, state, prev } = s;
  if (!s.tail) deleteMessages(ctx, f.rel);
  const row = withFileSum({
    rel: f.rel,
    thread_id: fileThreadId(state.derived.threadId, f.fileNameThreadId),
    archived: f.archived ? 1 : 0,
    listable: f.listable ? 1 : 0,
    zst: 0,
    size: f.size,
    mtime_ms: f.mtimeMs,
    ctime_ms: f.ctimeMs,
    ino: f.ino,
    indexed_bytes: f.size,
    state: s.stateJson,
    base_id: state.historyBase?.threadId ?? null,
    base_end: state.historyBase?.endByteOffset ?? null,
  });
  if (
    s.tail &&
    prev &&
    prev.thread_id === row.thread_id &&
    prev.archived === row.archived &&
    prev.listable === row.listable &&
    prev.zst === 0 &&
    prev.ino === row.ino
  ) {
    const { thread_id: _t, archived: _a, listable: _l, zst: _z, ino: _i, ...changed } = row;
    ctx.stmt(UPDATE_APPENDED).run(changed);
  } else ctx.stmt(UPSERT_FILE_ROW).run(row);
  writtenStates(ctx).set(f.rel, { sum: row.sum, state });
  ctx.passStates.set(f.rel, { json: s.stateJson, state });
  if (state.turns) s.turnRows.write(!s.tail, state.turns);
  if (s.scanner.messages.length > 0) {
    const content = contentRow(s.scanner.messages);
    const rid = ctx.stmt('INSERT INTO messages (text) VALUES (?)').run(content.text).lastInsertRowid;
    ctx
      .stmt('INSERT INTO message_files (rid, rel, parts, sum) VALUES (?, ?, ?, ?)')
      .run(rid, f.rel, content.parts, rowSum([content.text, content.parts]));
  }
  return row;
}

/**
 * Writes the thread rows of the scanned files: a thread whose only file is the one scanned gets
 * its row from the state at hand (bases before forks, which show their base's preview); the
 * others are rebuilt from their files (see rebuildThreads).
 */
function writeThreads(ctx: IndexContext, done: { s: Scanned; row: FileRow }[]): void {
  const direct: { id: string; row: FileRow; state: FileState }[] = [];
  const rebuild = new Set<string>();
  for (const { s, row } of done) {
    const alone =
      s.ids.length === 1 &&
      s.ids[0] === row.thread_id &&
      (ctx.stmt('SELECT COUNT(*) FROM files WHERE thread_id = ?').pluck().get(row.thread_id) as number) === 1;
    if (alone && !rebuild.has(row.thread_id)) direct.push({ id: row.thread_id, row, state: s.state });
    else for (const id of s.ids) rebuild.add(id);
  }
  const own = direct.filter((d) => !rebuild.has(d.id));
  const write = (d: (typeof own)[number]): void => {
    ctx.stmt('DELETE FROM pending_threads WHERE thread_id = ?').run(d.id);
    writeThreadRow(ctx, d.id, d.row, d.state);
  };
  for (const d of own) if (!d.state.historyBase) write(d);
  rebuildThreads(ctx, rebuild);
  for (const d of own) if (d.state.historyBase) write(d);
}

/**
 * Indexes what writers appended, in one transaction: each run's file rows from its lines, then
 * the rows of the threads they belong to. Returns the paths of the runs that could not be used
 * (the file or its row is not where the run starts or ends): those files must be read.
 */
export function indexAppended(ctx: IndexContext, runs: readonly AppendedRun[]): string[] {
  const reread: string[] = [];
  const scanned: Scanned[] = [];
  for (const run of runs) {
    let s: Scanned | 'current' | null = null;
    try {
      s = scanRun(ctx, run);
    } catch {
      // The scan may have changed a kept state in part.
      written.delete(ctx.db);
      s = null;
    }
    if (s === null) reread.push(run.path);
    else if (s !== 'current') scanned.push(s);
  }
  if (scanned.length === 0) return reread;
  // Its own cache of fresh states: a pass running meanwhile keeps its own (see parseState).
  const local: IndexContext = { ...ctx, stmt: ctx.stmt, passStates: new Map() };
  try {
    ctx.db
      .transaction(() => {
        const done = scanned.map((s) => ({ s, row: writeScanned(local, s) }));
        writeThreads(local, done);
      })
      .immediate();
  } catch (e) {
    // What was kept of the states may describe rows that were not written.
    written.delete(ctx.db);
    throw e;
  }
  return reread;
}
