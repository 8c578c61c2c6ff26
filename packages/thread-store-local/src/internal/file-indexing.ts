import { closeSync, openSync, readSync } from 'node:fs';
import { emptyFileState, FileScanner, fileThreadId, stateFromJson, stateToJson } from './file-state.js';
import type { FileState } from './file-state.js';
import type { Found } from './discovery.js';
import { parseLine, readRawLines, readRawLinesSync } from './reader.js';
import type { RawLine } from './reader.js';
import { contentRow } from './content-search.js';
import { rowSum } from './row-sum.js';
import { TurnRowsSink } from './turn-index.js';
import { deleteMessages, stateOf, UPSERT_FILE_ROW, withFileSum } from './file-rows.js';
import type { FileRow, IndexContext } from './index-context.js';

/**
 * Reading one rollout file into its index rows: the file's state (file-state.ts), its turns
 * (turn-index.ts) and its messages for content search (content-search.ts). Only the appended
 * tail is read when the file grew in place.
 */

/** Files with at most this much to read are read in one synchronous read (see readRawLinesSync). */
const SYNC_READ_MAX = 8 << 20;

/** What indexing one file produced: the threads whose rows must be rebuilt, and its row writes. */
export interface IndexedFile {
  ids: string[];
  /** Writes the file's rows; run inside the caller's transaction. */
  write: () => void;
}

/** Whether the file grew in place since its row was written (only its tail needs reading). */
export function canReadTail(f: Found, prev: FileRow | undefined): prev is FileRow {
  return (
    prev !== undefined &&
    !f.zst &&
    prev.zst === 0 &&
    prev.ino === f.ino &&
    f.size >= prev.size &&
    prev.indexed_bytes <= f.size
  );
}

/** Bytes the next pass reads from a file: the appended tail, or all of it. */
export function bytesToRead(f: Found, prev: FileRow | undefined): number {
  return canReadTail(f, prev) ? f.size - prev.indexed_bytes : f.size;
}

/**
 * Indexes one file: only the appended tail when the file grew in place, else the whole file.
 * The rows are written by the returned `write`, which the caller runs in its transaction (one
 * commit per file is slow, and so is making a transaction function per file).
 */
export async function indexFile(
  ctx: IndexContext,
  f: Found,
  prev: FileRow | undefined,
  onBytes?: (n: number) => void,
): Promise<IndexedFile> {
  let tail = canReadTail(f, prev);
  let saved: FileState | null = tail && prev ? stateFromJson(stateOf(ctx, prev)) : null;
  if (tail && prev && saved && saved.fingerprint !== fingerprint(f.abs, prev.indexed_bytes)) {
    // Rewritten in place (same inode, not an append): start over.
    tail = false;
    saved = null;
  }
  const start = tail && prev ? prev.indexed_bytes : 0;
  const initial: FileState = saved ?? emptyFileState();
  const turnRows = new TurnRowsSink(ctx.stmt.bind(ctx), f.rel, start > 0);
  const scanner = new FileScanner(initial, turnRows);
  let indexed = start;
  let sinceReport = 0;
  // The file's bytes from offset 0 when they were read in one piece: its fingerprint is taken
  // from them rather than from a second open and read of the file.
  const read: { bytes: Buffer | null } = { bytes: null };
  try {
    const all = f.zst
      ? null
      : readRawLinesSync(f.abs, start, SYNC_READ_MAX, (b) => {
          if (start === 0) read.bytes = b;
        });
    const lines: Iterable<RawLine> | AsyncIterable<RawLine> = all ?? readRawLines(f.abs, { start, zst: f.zst });
    for await (const line of lines) {
      // A last line without newline that does not parse is torn or still being written.
      if (!line.complete && parseLine(line.text).kind === 'bad') break;
      scanner.lineEnd = line.end;
      scanner.line(line.text, line);
      if (onBytes && line.end - indexed + sinceReport > 1 << 22) {
        sinceReport = 0;
        onBytes(line.end - start);
      }
      indexed = line.end;
    }
  } catch {
    // Unreadable (vanished, permissions, damaged zstd): index what was read.
  }
  const state = scanner.finish();
  if (!f.zst)
    state.fingerprint =
      read.bytes && indexed <= read.bytes.length ? fingerprintOf(read.bytes, indexed) : fingerprint(f.abs, indexed);
  read.bytes = null;
  const threadId = fileThreadId(state.derived.threadId, f.fileNameThreadId);
  const ids = new Set<string>([threadId]);
  if (prev) ids.add(prev.thread_id);
  const stateJson = stateToJson(state);
  const write = (): void => {
    if (tail) {
      const now = ctx.stmt('SELECT indexed_bytes FROM files WHERE rel = ?').get(f.rel) as
        { indexed_bytes: number } | undefined;
      // Another process indexed this tail meanwhile: keep its work.
      if (!now || now.indexed_bytes !== start) return;
    } else {
      deleteMessages(ctx, f.rel);
    }
    ctx.stmt(UPSERT_FILE_ROW).run(
      withFileSum({
        rel: f.rel,
        thread_id: threadId,
        archived: f.archived ? 1 : 0,
        listable: f.listable ? 1 : 0,
        zst: f.zst ? 1 : 0,
        size: f.size,
        mtime_ms: f.mtimeMs,
        ctime_ms: f.ctimeMs,
        ino: f.ino,
        indexed_bytes: indexed,
        state: stateJson,
        base_id: state.historyBase?.threadId ?? null,
        base_end: state.historyBase?.endByteOffset ?? null,
      }),
    );
    ctx.passStates.set(f.rel, { json: stateJson, state });
    if (state.turns) turnRows.write(!tail, state.turns);
    // One FTS row per file and pass (see contentRow): per-row FTS5 costs (a doclist entry per
    // distinct trigram per row) were the largest part of indexing.
    if (scanner.messages.length > 0) {
      const row = contentRow(scanner.messages);
      const rid = ctx.stmt('INSERT INTO messages (text) VALUES (?)').run(row.text).lastInsertRowid;
      ctx
        .stmt('INSERT INTO message_files (rid, rel, parts, sum) VALUES (?, ?, ?, ?)')
        .run(rid, f.rel, row.parts, rowSum([row.text, row.parts]));
    }
  };
  return { ids: [...ids], write };
}

/** The fingerprint of a file's first `upTo` bytes, given them (see FileState.fingerprint). */
function fingerprintOf(bytes: Buffer, upTo: number): string {
  return fingerprintText(bytes.subarray(0, Math.min(256, upTo)), bytes.subarray(upTo - Math.min(64, upTo), upTo));
}

/** A fingerprint from the file's first (up to 256) bytes and the (up to 64) bytes before `upTo`. */
function fingerprintText(head: Buffer, tail: Buffer): string {
  return `${head.toString('base64')}.${tail.toString('base64')}`;
}

/** See FileState.fingerprint. Synchronous: two tiny reads, cheaper than a thread-pool round trip. */
function fingerprint(file: string, upTo: number): string {
  let fd: number | null = null;
  try {
    fd = openSync(file, 'r');
    const head = Buffer.alloc(Math.min(256, upTo));
    readSync(fd, head, 0, head.length, 0);
    const n = Math.min(64, upTo);
    const tail = Buffer.alloc(n);
    readSync(fd, tail, 0, n, upTo - n);
    return fingerprintText(head, tail);
  } catch {
    return '';
  } finally {
    if (fd !== null) closeSync(fd);
  }
}
