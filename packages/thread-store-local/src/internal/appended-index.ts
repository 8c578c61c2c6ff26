import { statSync } from 'node:fs';
import type { Stats } from 'node:fs';
import { contentRow } from './content-search.js';
import { foundFrom } from './discovery.js';
import type { Found } from './discovery.js';
import { emptyFileState, FileScanner, fileThreadId, stateFromJson, stateToJson } from './file-state.js';
import type { FileState } from './file-state.js';
import { deleteMessages, stateOf, withFileSum } from './file-rows.js';
import type { FileRow, IndexContext } from './index-context.js';
import type { AppendedRun } from './recorder.js';
import { rowSum } from './row-sum.js';
import { rebuildThreads } from './thread-rows.js';
import { TurnRowsSink } from './turn-index.js';

/**
 * Indexing what this store's writers just appended, from the lines they wrote rather than by
 * reading the files back (see RolloutRecorder.takeAppended). The lines go through the same
 * FileScanner as a read of the file, continuing the state saved in the file's row, so the rows
 * are those a tail read would write. A run is used only when its file is still what the writer
 * left (same size) and the row is exactly where the run starts (same offset, inode and
 * fingerprint); otherwise its file is read like any changed file (the caller's fallback).
 */

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
  const state = stateFromJson(stateOf(ctx, prev));
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
  const prev = ctx.stmt('SELECT * FROM files WHERE rel = ?').get(f.rel) as FileRow | undefined;
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

/** Writes one scanned run's rows (the same rows file-indexing.ts writes after a read). */
function writeScanned(ctx: IndexContext, s: Scanned, states: IndexContext['passStates']): void {
  const { f, state } = s;
  if (!s.tail) deleteMessages(ctx, f.rel);
  ctx
    .stmt(
      `INSERT INTO files (rel, thread_id, archived, listable, zst, size, mtime_ms, ctime_ms, ino, indexed_bytes, state,
           base_id, base_end, sum)
         VALUES (@rel, @thread_id, @archived, @listable, @zst, @size, @mtime_ms, @ctime_ms, @ino, @indexed_bytes, @state,
           @base_id, @base_end, @sum)
         ON CONFLICT(rel) DO UPDATE SET thread_id = excluded.thread_id, archived = excluded.archived,
           listable = excluded.listable, zst = excluded.zst, size = excluded.size, mtime_ms = excluded.mtime_ms,
           ctime_ms = excluded.ctime_ms, ino = excluded.ino, indexed_bytes = excluded.indexed_bytes, state = excluded.state,
           base_id = excluded.base_id, base_end = excluded.base_end, sum = excluded.sum`,
    )
    .run(
      withFileSum({
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
      }),
    );
  states.set(f.rel, { json: s.stateJson, state });
  if (state.turns) s.turnRows.write(!s.tail, state.turns);
  if (s.scanner.messages.length > 0) {
    const row = contentRow(s.scanner.messages);
    const rid = ctx.stmt('INSERT INTO messages (text) VALUES (?)').run(row.text).lastInsertRowid;
    ctx
      .stmt('INSERT INTO message_files (rid, rel, parts, sum) VALUES (?, ?, ?, ?)')
      .run(rid, f.rel, row.parts, rowSum([row.text, row.parts]));
  }
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
      s = null;
    }
    if (s === null) reread.push(run.path);
    else if (s !== 'current') scanned.push(s);
  }
  if (scanned.length === 0) return reread;
  // Its own cache of fresh states: a pass running meanwhile keeps its own (see parseState).
  const local: IndexContext = { ...ctx, stmt: ctx.stmt, passStates: new Map() };
  ctx.db
    .transaction(() => {
      const ids = new Set<string>();
      for (const s of scanned) {
        writeScanned(local, s, local.passStates);
        for (const id of s.ids) ids.add(id);
      }
      rebuildThreads(local, ids);
    })
    .immediate();
  return reread;
}
