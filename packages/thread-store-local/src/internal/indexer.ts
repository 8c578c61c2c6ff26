import { closeSync, openSync, readSync, statSync } from 'node:fs';
import type { Stats } from 'node:fs';
import path from 'node:path';
import type { NormalizedListParams, PositionQuery, StoredThread } from '@skein/thread-store-api';
import type Database from 'better-sqlite3';
import type { Db } from './index-db.js';
import {
  buildThread,
  emptyFileState,
  FileScanner,
  fileThreadId,
  stateFromJson,
  stateToJson,
  threadFromJson,
  threadToJson,
} from './file-state.js';
import type { FileState } from './file-state.js';
import { parseRolloutFileName, plainRolloutPath } from './paths.js';
import type { HomeLayout } from './paths.js';
import { parseLine, readRawLines, readRawLinesSync } from './reader.js';
import type { RawLine } from './reader.js';
import { bytesSql, countSql, filterSql, pageSql, sourceColumns } from './list-query.js';
import type { PageRow, SqlFilter } from './list-query.js';
import { candidateSql, contentRow, firstMatch, normalizedTerm } from './content-search.js';
import { DamagedIndex } from './index-db.js';
import { FILE_SUM_COLUMNS, rowSum, sumOf, THREAD_SUM_COLUMNS } from './row-sum.js';
import { readSessionIndex } from './session-index.js';
import type { NameEntry } from './session-index.js';
import { turnRowById, turnRowsInWindow, TurnRowsSink } from './turn-index.js';
import type { TurnRow, TurnSegment } from './turn-index.js';
import type { HomeWatcher } from './watcher.js';
import { codexStateChanges, placesOf } from './change-scan.js';
import { foundFrom, statPaths, walkHome } from './discovery.js';
import type { Found } from './discovery.js';
import { HomeSync } from './home-sync.js';

/** A pass commits its batch and yields to the event loop after this much work (ms). */
const PASS_SLICE_MS = 50;

/** Prepared statements kept (see ThreadIndex.stmt). */
export const STATEMENT_CACHE_MAX = 128;

/** Files with at most this much to read are read in one synchronous read (see readRawLinesSync). */
const SYNC_READ_MAX = 8 << 20;

/** Progress of indexing a home: files and bytes read so far, of the totals found while scanning. */
export interface IndexProgress {
  phase: 'scanning' | 'indexing' | 'done';
  filesDone: number;
  filesTotal: number;
  bytesDone: number;
  bytesTotal: number;
}

/** Receives indexing progress, e.g. to draw a progress bar. */
export type IndexProgressListener = (p: IndexProgress) => void;

interface NameRow {
  thread_id: string;
  name: string;
  at_ms: number;
}

interface FileRow {
  rel: string;
  thread_id: string;
  archived: number;
  listable: number;
  zst: number;
  size: number;
  mtime_ms: number;
  ctime_ms: number;
  ino: number;
  indexed_bytes: number;
  /** Absent when the row was read without it (the sync pass); fetched when a tail is read. */
  state?: string;
  /** The row's checksum (row-sum.ts); present when `state` is. */
  sum?: number;
}

export interface LocatedThread {
  thread: StoredThread;
  /** Home-relative path of the file the thread is read from. */
  rel: string;
  abs: string;
  zst: boolean;
  archived: boolean;
  listable: boolean;
}

/** Keeps Skein's SQLite index in step with the rollout files and answers queries from it. */
export class ThreadIndex {
  private readonly layout: HomeLayout;
  private readonly db: Db;
  private readonly defaultModelProvider: string;
  private syncing: Promise<void> | null = null;
  private pathPasses: Promise<void> = Promise.resolve();
  /** States written by the running pass, by rel (see parseState). */
  private readonly passStates = new Map<string, { json: string; state: FileState }>();
  /** Set by the store when it watches the home: full sweeps (re)add folder watches. */
  watcher: HomeWatcher | null = null;
  /** performance.now() when the last full walk started. */
  lastSweepStartedAt = -Infinity;
  private readonly statements = new Map<string, Database.Statement>();

  /** Change detection, the background sweep and the early first page (home-sync.ts). */
  readonly changes: HomeSync;

  constructor(layout: HomeLayout, db: Db, defaultModelProvider: string, codexStateDb: string | null = null) {
    this.changes = new HomeSync(this, layout, db, codexStateDb);
    this.layout = layout;
    this.db = db;
    this.defaultModelProvider = defaultModelProvider;
  }

  /**
   * Prepared statements are cached: preparing per file was a large part of indexing time. The
   * cache is bounded (least recently used out): listing SQL varies with the length of each filter
   * list, so a client could otherwise grow it without limit.
   */
  stmt(sql: string): Database.Statement {
    let st = this.statements.get(sql);
    if (st) {
      // Most recently used last: Map iteration order is insertion order.
      this.statements.delete(sql);
    } else {
      st = this.db.prepare(sql);
      if (this.statements.size >= STATEMENT_CACHE_MAX) {
        const oldest = this.statements.keys().next().value;
        if (oldest !== undefined) this.statements.delete(oldest);
      }
    }
    this.statements.set(sql, st);
    return st;
  }

  /** How many prepared statements are cached (tests check the bound). */
  get cachedStatements(): number {
    return this.statements.size;
  }

  // ---- syncing -----------------------------------------------------------------------------

  /** Resolves when no sync pass is running (close waits for it before closing the database). */
  async whenIdle(): Promise<void> {
    await this.syncing?.catch(() => undefined);
    await this.pathPasses;
  }

  /** Brings the whole index up to date with the files (one pass at a time). */
  syncAll(onProgress?: IndexProgressListener): Promise<void> {
    if (this.syncing) return this.syncing;
    const paths = this.pathPasses;
    const run = (async () => {
      await paths;
      await this.doSyncAll(onProgress);
    })().finally(() => {
      this.syncing = null;
    });
    this.syncing = run;
    return run;
  }

  /**
   * Brings the index up to date for the given files only (absolute paths reported by the
   * watcher): each is stat-ed and compared with its row; vanished ones are dropped, and a file
   * that moved between two of them keeps its indexed state. Passes run one at a time.
   */
  syncPaths(paths: ReadonlySet<string>, onProgress?: IndexProgressListener): Promise<void> {
    const prev = this.pathPasses;
    const full = this.syncing;
    const run = (async () => {
      await full?.catch(() => undefined);
      await prev;
      await this.doSyncAll(onProgress, paths);
    })();
    const settled = run.catch(() => undefined);
    this.pathPasses = settled;
    return run;
  }

  private async doSyncAll(onProgress?: IndexProgressListener, paths?: ReadonlySet<string>): Promise<void> {
    const rows = new Map<string, FileRow>();
    const cols = 'rel, thread_id, archived, listable, zst, size, mtime_ms, ctime_ms, ino, indexed_bytes';
    let found: Found[];
    const walked = new Map<string, string>();
    let codexAtStart: { seen: number } | null = null;
    if (paths) {
      found = statPaths(this.layout, paths);
      const one = this.stmt(`SELECT ${cols} FROM files WHERE rel = ?`);
      for (const abs of paths) {
        let rel: string;
        try {
          rel = this.layout.rel(abs);
        } catch {
          continue;
        }
        const r = one.get(rel) as FileRow | undefined;
        if (r) rows.set(r.rel, r);
      }
    } else {
      this.lastSweepStartedAt = performance.now();
      codexAtStart = this.changes.codexStateDb ? codexStateChanges(this.changes.codexStateDb, null) : null;
      this.watcher?.beginSweep();
      try {
        found = walkHome(this.layout, walked, this.watcher);
      } finally {
        this.watcher?.endSweep();
      }
      for (const r of this.stmt(`SELECT ${cols} FROM files`).all() as FileRow[]) rows.set(r.rel, r);
    }
    const onDisk = new Map(found.map((f) => [f.rel, f]));
    const affected = new Set<string>();

    // Files that vanished; a file that moved (same name, inode and size) keeps its indexed state.
    const removed = [...rows.values()].filter((r) => !onDisk.has(r.rel));
    const fresh = found.filter((f) => !rows.has(f.rel));
    const byName = new Map<string, Found[]>();
    for (const f of fresh) {
      const k = path.basename(f.rel);
      byName.set(k, [...(byName.get(k) ?? []), f]);
    }
    const moved = new Set<string>();
    for (const r of removed) {
      const cands = byName.get(path.basename(r.rel)) ?? [];
      const m = cands.find((f) => !moved.has(f.rel) && f.ino === r.ino && f.size === r.size);
      if (m) {
        moved.add(m.rel);
        this.markPending([r.thread_id]);
        this.moveRow(r.rel, m);
        rows.set(m.rel, {
          ...r,
          rel: m.rel,
          archived: m.archived ? 1 : 0,
          listable: m.listable ? 1 : 0,
          mtime_ms: m.mtimeMs,
          ctime_ms: m.ctimeMs,
        });
      } else {
        this.markPending([r.thread_id]);
        this.deleteRow(r.rel);
      }
      rows.delete(r.rel);
      affected.add(r.thread_id);
    }

    const todo = found.filter((f) => {
      const r = rows.get(f.rel);
      if (!r) return true;
      if (r.size !== f.size || r.mtime_ms !== f.mtimeMs || r.ino !== f.ino) return true;
      if (r.ctime_ms !== f.ctimeMs || r.archived !== (f.archived ? 1 : 0)) {
        // Renamed or touched without new content: only the row's facts change.
        this.markPending([r.thread_id]);
        this.db
          .prepare('UPDATE files SET ctime_ms = ?, archived = ?, listable = ? WHERE rel = ?')
          .run(f.ctimeMs, f.archived ? 1 : 0, f.listable ? 1 : 0, f.rel);
        affected.add(r.thread_id);
      }
      return false;
    });
    const progress: IndexProgress = {
      phase: 'indexing',
      filesDone: 0,
      filesTotal: todo.length,
      bytesDone: 0,
      bytesTotal: todo.reduce((n, f) => n + this.bytesToRead(f, rows.get(f.rel)), 0),
    };
    onProgress?.({ ...progress, phase: 'scanning' });
    let batch: (() => void)[] = [];
    let batchBytes = 0;
    let sliceStart = performance.now();
    // The batch's writes run at its commit, after the reads that queued them; the reads of the
    // next slice get the share of PASS_SLICE_MS the last slice's reads had, so a slice's reads
    // and its commit together stay near PASS_SLICE_MS.
    let readBudget = PASS_SLICE_MS;
    const commit = (): void => {
      const writes = batch;
      batch = [];
      batchBytes = 0;
      if (writes.length > 0) this.db.transaction(() => writes.forEach((w) => w())).immediate();
    };
    for (const f of todo) {
      const ids = await this.indexFile(
        f,
        rows.get(f.rel),
        (bytes) => {
          if (onProgress) onProgress({ ...progress, bytesDone: progress.bytesDone + bytes });
        },
        (w) => batch.push(w),
      );
      for (const id of ids) affected.add(id);
      batch.push(() => this.markPending(ids));
      batchBytes += this.bytesToRead(f, rows.get(f.rel));
      const readMs = performance.now() - sliceStart;
      if (batch.length >= 500 || batchBytes >= 32 << 20 || readMs > readBudget) {
        const commitStart = performance.now();
        commit();
        const commitMs = performance.now() - commitStart;
        readBudget = Math.max(PASS_SLICE_MS / 10, (PASS_SLICE_MS * readMs) / (readMs + commitMs));
        // Other calls run between slices: a long pass never holds the event loop for long.
        await new Promise((resolve) => setImmediate(resolve));
        sliceStart = performance.now();
      }
      progress.filesDone += 1;
      progress.bytesDone += this.bytesToRead(f, rows.get(f.rel));
      onProgress?.({ ...progress });
    }
    commit();
    for (const id of this.syncNamesChanged(await this.namesIfChanged())) affected.add(id);
    for (const id of this.pendingThreads()) affected.add(id);
    await this.rebuildThreadsInSlices(affected);
    if (!paths) this.changes.saveSweep(walked, codexAtStart?.seen ?? null);
    onProgress?.({ ...progress, phase: 'done' });
  }

  private moveRow(oldRel: string, f: Found): void {
    this.db
      .transaction(() => {
        this.db
          .prepare('UPDATE files SET rel = ?, archived = ?, listable = ?, mtime_ms = ?, ctime_ms = ? WHERE rel = ?')
          .run(f.rel, f.archived ? 1 : 0, f.listable ? 1 : 0, f.mtimeMs, f.ctimeMs, oldRel);
        this.stmt('UPDATE message_files SET rel = ? WHERE rel = ?').run(f.rel, oldRel);
        this.stmt('UPDATE turns SET rel = ? WHERE rel = ?').run(f.rel, oldRel);
      })
      .immediate();
  }

  private deleteMessages(rel: string): void {
    // Row by row: FTS5 answers `rowid IN (subquery)` with a scan of the whole table.
    const rids = this.stmt('SELECT rid FROM message_files WHERE rel = ?').pluck().all(rel) as number[];
    if (rids.length === 0) return;
    const del = this.stmt('DELETE FROM messages WHERE rowid = ?');
    for (const rid of rids) del.run(rid);
    this.stmt('DELETE FROM message_files WHERE rel = ?').run(rel);
  }

  private deleteRow(rel: string): void {
    this.db
      .transaction(() => {
        this.stmt('DELETE FROM files WHERE rel = ?').run(rel);
        this.stmt('DELETE FROM turns WHERE rel = ?').run(rel);
        this.deleteMessages(rel);
      })
      .immediate();
  }

  /**
   * A file row's saved state JSON, checked against the row's checksum: a rebuilt thread row or
   * an appended tail would otherwise carry a damaged state forward as truth.
   */
  private stateOf(row: Pick<FileRow, 'rel' | 'state' | 'sum'>): string {
    const full =
      row.state !== undefined && row.sum !== undefined
        ? row
        : (this.stmt('SELECT * FROM files WHERE rel = ?').get(row.rel) as FileRow | undefined);
    if (!full || full.state === undefined) return stateToJson(emptyFileState());
    if (sumOf(full as unknown as Record<string, unknown>, FILE_SUM_COLUMNS) !== full.sum)
      throw new DamagedIndex(`the index row of file ${full.rel} does not match its checksum`);
    return full.state;
  }

  /**
   * A file row's saved state. The states a pass just wrote are reused while their JSON is still
   * what the row holds (parsing them back was a tenth of a cold index).
   */
  private parseState(row: FileRow): FileState {
    const json = this.stateOf(row);
    const fresh = this.passStates.get(row.rel);
    return fresh && fresh.json === json ? fresh.state : stateFromJson(json);
  }

  private static canReadTail(f: Found, prev: FileRow | undefined): prev is FileRow {
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
  private bytesToRead(f: Found, prev: FileRow | undefined): number {
    return ThreadIndex.canReadTail(f, prev) ? f.size - prev.indexed_bytes : f.size;
  }

  /**
   * Indexes one file: only the appended tail when the file grew in place, else the whole file.
   * Returns the thread ids whose rows must be rebuilt.
   */
  private async indexFile(
    f: Found,
    prev: FileRow | undefined,
    onBytes?: (n: number) => void,
    defer?: (write: () => void) => void,
  ): Promise<string[]> {
    let tail = ThreadIndex.canReadTail(f, prev);
    let saved: FileState | null = tail && prev ? stateFromJson(this.stateOf(prev)) : null;
    if (tail && prev && saved && saved.fingerprint !== (await fingerprint(f.abs, prev.indexed_bytes))) {
      // Rewritten in place (same inode, not an append): start over.
      tail = false;
      saved = null;
    }
    const start = tail && prev ? prev.indexed_bytes : 0;
    const initial: FileState = saved ?? emptyFileState();
    const turnRows = new TurnRowsSink(this.stmt.bind(this), f.rel, start > 0);
    const scanner = new FileScanner(initial, turnRows);
    let indexed = start;
    let sinceReport = 0;
    try {
      const all = f.zst ? null : readRawLinesSync(f.abs, start, SYNC_READ_MAX);
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
    if (!f.zst) state.fingerprint = await fingerprint(f.abs, indexed);
    const threadId = fileThreadId(state.derived.threadId, f.fileNameThreadId);
    const ids = new Set<string>([threadId]);
    if (prev) ids.add(prev.thread_id);
    const stateJson = stateToJson(state);
    const write = (): void => {
      if (tail) {
        const now = this.stmt('SELECT indexed_bytes FROM files WHERE rel = ?').get(f.rel) as
          { indexed_bytes: number } | undefined;
        // Another process indexed this tail meanwhile: keep its work.
        if (!now || now.indexed_bytes !== start) return;
      } else {
        this.deleteMessages(f.rel);
      }
      this.stmt(
        `INSERT INTO files (rel, thread_id, archived, listable, zst, size, mtime_ms, ctime_ms, ino, indexed_bytes, state,
             base_id, base_end, sum)
           VALUES (@rel, @thread_id, @archived, @listable, @zst, @size, @mtime_ms, @ctime_ms, @ino, @indexed_bytes, @state,
             @base_id, @base_end, @sum)
           ON CONFLICT(rel) DO UPDATE SET thread_id = excluded.thread_id, archived = excluded.archived,
             listable = excluded.listable, zst = excluded.zst, size = excluded.size, mtime_ms = excluded.mtime_ms,
             ctime_ms = excluded.ctime_ms, ino = excluded.ino, indexed_bytes = excluded.indexed_bytes, state = excluded.state,
             base_id = excluded.base_id, base_end = excluded.base_end, sum = excluded.sum`,
      ).run(
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
      this.passStates.set(f.rel, { json: stateJson, state });
      if (state.turns) turnRows.write(!tail, state.turns);
      const ins = this.stmt('INSERT INTO messages (text) VALUES (?)');
      const link = this.stmt('INSERT INTO message_files (rid, rel, parts, sum) VALUES (?, ?, ?, ?)');
      // One FTS row per file and pass (see contentRow): per-row FTS5 costs (a doclist entry per
      // distinct trigram per row) were the largest part of indexing.
      if (scanner.messages.length > 0) {
        const row = contentRow(scanner.messages);
        link.run(ins.run(row.text).lastInsertRowid, f.rel, row.parts, rowSum([row.text, row.parts]));
      }
    };
    // Writes of a big pass are committed in batches (one commit per file is slow).
    // Deferred writes run inside the pass's batch transaction (one commit per file is slow, and
    // so is making a transaction function per file).
    if (defer) defer(write);
    else this.db.transaction(write).immediate();
    return [...ids];
  }

  /**
   * Brings one thread's rows up to date without walking the home: each of its files, and the
   * places it may have moved to by name alone (archived, unarchived, compressed or not; see
   * placesOf), is stat-ed and compared with its row. A file the index has never seen is found by
   * change detection (the watch, or syncChanges), not here.
   */
  async refreshThread(threadId: string): Promise<void> {
    const rels = this.stmt('SELECT rel FROM files WHERE thread_id = ?').pluck().all(threadId) as string[];
    if (rels.length === 0) return;
    const paths = new Set<string>();
    for (const rel of rels) for (const p of placesOf(this.layout, this.layout.abs(rel))) paths.add(p);
    await this.syncPaths(paths);
  }

  /** Indexes one file given by path (for reads by rollout path); returns its thread. */
  async refreshFile(abs: string): Promise<LocatedThread | null> {
    let st: Stats;
    try {
      st = statSync(abs);
    } catch {
      return null;
    }
    const f = foundFrom(this.layout, abs, st);
    if (!f) return null;
    const prev = this.stmt('SELECT * FROM files WHERE rel = ?').get(f.rel) as FileRow | undefined;
    const affected = new Set<string>();
    if (
      !prev ||
      prev.size !== f.size ||
      prev.mtime_ms !== f.mtimeMs ||
      prev.ino !== f.ino ||
      prev.ctime_ms !== f.ctimeMs
    ) {
      const writes: (() => void)[] = [];
      const ids = await this.indexFile(f, prev, undefined, (w) => writes.push(w));
      this.db
        .transaction(() => {
          writes.forEach((w) => w());
          this.markPending(ids);
        })
        .immediate();
      for (const id of ids) affected.add(id);
    }
    for (const id of this.syncNamesChanged(await this.namesIfChanged())) affected.add(id);
    for (const id of this.pendingThreads()) affected.add(id);
    this.rebuildThreads(affected);
    const row = this.stmt('SELECT * FROM files WHERE rel = ?').get(f.rel) as FileRow | undefined;
    if (!row) return null;
    return { ...this.locatedFromFile(row), thread: this.threadForFile(row) };
  }

  // ---- names -------------------------------------------------------------------------------

  /**
   * session_index.jsonl's names when the file changed since the index last read it (its size,
   * mtime and inode), with the key to record; null when unchanged.
   */
  private async namesIfChanged(): Promise<{ names: Map<string, NameEntry>; key: string } | null> {
    let key = 'absent';
    try {
      const st = statSync(this.layout.sessionIndex);
      key = `${st.size}:${st.mtimeMs}:${st.ino}`;
    } catch {
      // no session_index.jsonl
    }
    const prev = this.stmt("SELECT value FROM kv WHERE key = 'session_index'").get() as { value: string } | undefined;
    if (prev?.value === key) return null;
    const names = key === 'absent' ? new Map<string, NameEntry>() : await readSessionIndex(this.layout);
    return { names, key };
  }

  /**
   * Replaces the indexed names; returns the threads whose name changed. The key of the file read
   * is recorded in the same transaction: a process killed in between must leave the names to be
   * read again, not marked current while they are not.
   */
  private syncNamesChanged(read: { names: Map<string, NameEntry>; key: string } | null): string[] {
    if (!read) return [];
    const { names, key } = read;
    const changed: string[] = [];
    this.db
      .transaction(() => {
        this.stmt("INSERT OR REPLACE INTO kv (key, value) VALUES ('session_index', ?)").run(key);
        const rows = this.stmt('SELECT thread_id, name, at_ms FROM names').all() as NameRow[];
        const old = new Map(rows.map((r) => [r.thread_id, r]));
        for (const [id, e] of names) {
          const o = old.get(id);
          if (!o || o.name !== e.name || o.at_ms !== e.atMs) changed.push(id);
        }
        for (const id of old.keys()) if (!names.has(id)) changed.push(id);
        this.markPending(changed);
        this.stmt('DELETE FROM names').run();
        const ins = this.stmt('INSERT INTO names (thread_id, name, at_ms) VALUES (?, ?, ?)');
        for (const [id, e] of names) ins.run(id, e.name, e.atMs);
      })
      .immediate();
    return changed;
  }

  /** The thread's session_index.jsonl entry as last indexed. */
  private nameEntry(threadId: string): NameEntry | undefined {
    const r = this.stmt('SELECT thread_id, name, at_ms FROM names WHERE thread_id = ?').get(threadId) as
      NameRow | undefined;
    return r ? { name: r.name, atMs: r.at_ms } : undefined;
  }

  /**
   * The name the file's last name patch set, when session_index.jsonl does not have it yet (a
   * crash between the patch line and its index mirror): what to append so Codex sees it too.
   */
  nameMirrorGap(threadId: string): { name: string | null; at: Date } | null {
    const w = this.pickWinner(this.stmt('SELECT * FROM files WHERE thread_id = ?').all(threadId) as FileRow[]);
    if (!w) return null;
    const state = this.parseState(w);
    const at = state.patchNameAtMs;
    if (at === undefined || at === null || at <= 0) return null;
    const entry = this.nameEntry(threadId);
    if (entry && entry.atMs >= at) return null;
    let name: string | null | undefined;
    for (const raw of state.patches) if ('name' in raw) name = raw.name as string | null;
    if (name === undefined || (name === null && !entry)) return null;
    return { name, at: new Date(at) };
  }

  // ---- thread rows -------------------------------------------------------------------------

  /**
   * The file a thread is read from and appended to: active before archived, then the newest
   * segment (rollout ids are UUIDv7, so they sort by creation; a thread's first file has the
   * thread id, older than any later segment), then plain before compressed.
   */
  private pickWinner(rows: FileRow[]): FileRow | undefined {
    const seg = (r: FileRow): string => parseRolloutFileName(path.basename(r.rel))?.rolloutId ?? '';
    return [...rows].sort(
      (a, b) =>
        a.archived - b.archived ||
        seg(b).localeCompare(seg(a)) ||
        a.zst - b.zst ||
        b.listable - a.listable ||
        b.mtime_ms - a.mtime_ms,
    )[0];
  }

  private threadForFile(row: FileRow, saved?: FileState, ignoreIndexName = false): StoredThread {
    const state = saved ?? this.parseState(row);
    const name = ignoreIndexName ? undefined : this.nameEntry(row.thread_id);
    let parentPreview: string | null = null;
    if (state.historyBase) {
      const p = this.stmt('SELECT data FROM threads WHERE thread_id = ?').get(state.historyBase.threadId) as
        { data: string } | undefined;
      if (p) parentPreview = threadFromJson(p.data).preview || null;
    }
    const parsed = parseRolloutFileName(path.basename(row.rel));
    return buildThread(
      state,
      {
        rolloutPath: plainRolloutPath(this.layout.abs(row.rel)),
        fileNameThreadId: parsed?.threadId ?? row.thread_id,
        fileNameTime: parsed?.stampAsUtc ?? null,
        archived: row.archived === 1,
        mtimeMs: row.mtime_ms,
        ctimeMs: row.ctime_ms,
      },
      { defaultModelProvider: this.defaultModelProvider, indexName: name, parentPreview },
    );
  }

  private locatedFromFile(row: FileRow): Omit<LocatedThread, 'thread'> {
    return {
      rel: row.rel,
      abs: this.layout.abs(row.rel),
      zst: row.zst === 1,
      archived: row.archived === 1,
      listable: row.listable === 1,
    };
  }

  /** Records that these threads' rows must be rebuilt (see `pending_threads` in index-db.ts). */
  private markPending(ids: Iterable<string>): void {
    const ins = this.stmt('INSERT OR IGNORE INTO pending_threads (thread_id) VALUES (?)');
    for (const id of ids) ins.run(id);
  }

  /** Threads whose rows a killed process left to be rebuilt. */
  private pendingThreads(): string[] {
    return this.stmt('SELECT thread_id FROM pending_threads').pluck().all() as string[];
  }

  rebuildThreads(ids: Iterable<string>): void {
    const all = [...new Set(ids)];
    if (all.length === 0) {
      this.passStates.clear();
      return;
    }
    const forks: string[] = [];
    try {
      this.db
        .transaction(() => {
          for (const id of all) this.rebuildThread(id, forks);
          for (const id of forks) this.rebuildThread(id, null);
        })
        .immediate();
    } finally {
      this.passStates.clear();
    }
  }

  /**
   * `rebuildThreads` for a full pass: the same rows, bases before forks, but committed a slice
   * at a time, yielding to the event loop after each slice's PASS_SLICE_MS of work, so rebuilding
   * every thread of a large home does not hold the event loop in one step.
   */
  private async rebuildThreadsInSlices(ids: Iterable<string>): Promise<void> {
    const forks: string[] = [];
    try {
      for (const [list, deferTo] of [
        [[...new Set(ids)], forks],
        [forks, null],
      ] as const) {
        let next = 0;
        while (next < list.length) {
          const sliceStart = performance.now();
          this.db
            .transaction(() => {
              do this.rebuildThread(list[next++]!, deferTo);
              while (next < list.length && (next % 64 !== 0 || performance.now() - sliceStart < PASS_SLICE_MS));
            })
            .immediate();
          if (next < list.length) await new Promise((resolve) => setImmediate(resolve));
        }
      }
    } finally {
      this.passStates.clear();
    }
  }

  /**
   * Writes one thread's row from its files (or deletes it when none is left). A fork is put on
   * `deferForks` instead when given, to be built after its base.
   */
  private rebuildThread(id: string, deferForks: string[] | null): void {
    const rows = this.stmt('SELECT * FROM files WHERE thread_id = ?').all(id) as FileRow[];
    const w = this.pickWinner(rows);
    if (!w) {
      this.stmt('DELETE FROM threads WHERE thread_id = ?').run(id);
      this.stmt('DELETE FROM pending_threads WHERE thread_id = ?').run(id);
      return;
    }
    const state = this.parseState(w);
    if (deferForks && state.historyBase) {
      deferForks.push(id);
      return;
    }
    this.stmt('DELETE FROM pending_threads WHERE thread_id = ?').run(id);
    const t = this.threadForFile(w, state);
    const [sourceKind, subagentKind, sourceKey] = sourceColumns(t.source);
    const row: Record<string, unknown> = {
      thread_id: id,
      rel: w.rel,
      archived: w.archived,
      listable: w.listable,
      has_preview: t.preview === '' ? 0 : 1,
      model_provider: t.modelProvider,
      cwd: t.cwd,
      created_ms: t.createdAt.getTime(),
      updated_ms: t.updatedAt.getTime(),
      recency_ms: t.recencyAt.getTime(),
      archived_ms: t.archivedAt?.getTime() ?? null,
      name: t.name,
      preview: t.preview,
      source: JSON.stringify(t.source),
      source_kind: sourceKind,
      subagent_kind: subagentKind,
      source_key: sourceKey,
      name_lc: (t.name ?? '').toLowerCase(),
      preview_lc: t.preview.toLowerCase(),
      data: threadToJson(t),
    };
    row.sum = sumOf(row, THREAD_SUM_COLUMNS);
    this.stmt(
      `INSERT OR REPLACE INTO threads (${[...THREAD_SUM_COLUMNS, 'sum'].join(', ')})
         VALUES (${[...THREAD_SUM_COLUMNS, 'sum'].map((c) => `@${c}`).join(', ')})`,
    ).run(row);
  }

  /** Clears everything (the next sync re-indexes the whole home). */
  clear(): void {
    this.db
      .transaction(() => {
        for (const t of ['files', 'threads', 'names', 'kv', 'messages', 'message_files', 'turns'])
          this.stmt(`DELETE FROM ${t}`).run();
      })
      .immediate();
  }

  /** Forgets a file (after Skein deleted it). */
  forgetFile(rel: string): void {
    this.deleteRow(rel);
  }

  // ---- queries -----------------------------------------------------------------------------

  locate(threadId: string): LocatedThread | null {
    const row = this.stmt('SELECT * FROM threads WHERE thread_id = ?').get(threadId) as
      { rel: string; data: string; archived: number; listable: number } | undefined;
    if (!row) return null;
    checkThreadRow(row);
    const f = this.stmt('SELECT zst FROM files WHERE rel = ?').get(row.rel) as { zst: number } | undefined;
    return {
      thread: threadFromJson(row.data),
      rel: row.rel,
      abs: this.layout.abs(row.rel),
      zst: f?.zst === 1,
      archived: row.archived === 1,
      listable: row.listable === 1,
    };
  }

  /** The name the thread's file itself records (rename events, patch lines), ignoring session_index.jsonl. */
  nameInFile(threadId: string): string | null {
    const w = this.pickWinner(this.stmt('SELECT * FROM files WHERE thread_id = ?').all(threadId) as FileRow[]);
    return w ? this.threadForFile(w, undefined, true).name : null;
  }

  /** Every file of a thread (active, archived, compressed copies). */
  filesOf(threadId: string): { rel: string; abs: string; zst: boolean; archived: boolean }[] {
    const rows = this.stmt('SELECT rel, zst, archived FROM files WHERE thread_id = ?').all(threadId) as FileRow[];
    return rows.map((r) => ({ rel: r.rel, abs: this.layout.abs(r.rel), zst: r.zst === 1, archived: r.archived === 1 }));
  }

  /** How many threads match a listing's filters (see list-query.ts). */
  countThreads(p: NormalizedListParams): number {
    return countSql(filterSql(p), (sql, args) => this.stmt(sql).get(...args) as { n: number });
  }

  /** The bytes of the rollout files of the threads a listing's filters match (see list-query.ts). */
  rolloutBytes(p: NormalizedListParams): number {
    return bytesSql(filterSql(p), (sql, args) => this.stmt(sql).get(...args) as { n: number | null });
  }

  /**
   * One listing page in SQL (see list-query.ts): filters, order and keyset paging in the query,
   * full rows parsed for the page only. `content` restricts it to threads whose file has a
   * message containing the term, and adds each item's snippet.
   */
  listPage(
    p: NormalizedListParams,
    storeKind: string,
    cursor: string | null | undefined,
    content?: string,
  ): { items: { thread: StoredThread; snippet: string }[]; nextCursor: string | null; backwardsCursor: string | null } {
    const found = content === undefined ? null : this.contentMatches(content);
    const extra: SqlFilter | undefined = found
      ? { where: 't.rel IN (SELECT value FROM json_each(?))', args: [JSON.stringify([...found.keys()])] }
      : undefined;
    const page = pageSql<PageRow & { data: string; rel: string }>(
      p,
      storeKind,
      cursor,
      filterSql(p, extra),
      't.*',
      (sql, args) => this.stmt(sql).all(...args) as (PageRow & { data: string; rel: string })[],
      (sql, args) => this.stmt(sql).get(...args) !== undefined,
    );
    for (const r of page.rows) checkThreadRow(r);
    return {
      items: page.rows.map((r) => ({
        thread: threadFromJson(r.data),
        snippet: content === undefined ? '' : snippetOf(found?.get(r.rel) ?? '', content),
      })),
      nextCursor: page.nextCursor,
      backwardsCursor: page.backwardsCursor,
    };
  }

  /**
   * The files whose thread shows a message containing `term`, each with the first such message
   * in history order: a paginated fork's inherited prefix (its parent's messages up to
   * history_base's offset, recursively) comes before its own.
   */
  private contentMatches(term: string): Map<string, string> {
    const lower = normalizedTerm(term);
    const cand = candidateSql(lower);
    const own = new Map<string, { text: string; end: number }>();
    const rows = this.stmt(
      `SELECT mf.rel AS rel, mf.parts AS parts, m.text AS text FROM messages m JOIN message_files mf ON mf.rid = m.rowid
       WHERE ${cand.where} ORDER BY mf.rid`,
    ).iterate(cand.arg) as Iterable<{ rel: string; parts: string; text: string }>;
    for (const r of rows) {
      if (own.has(r.rel)) continue;
      const hit = firstMatch(r, lower);
      if (hit) own.set(r.rel, hit);
    }
    const out = new Map<string, string>();
    for (const [rel, hit] of own) out.set(rel, hit.text);
    const forks = this.stmt(
      `SELECT t.rel AS rel, f.base_id AS base_id, f.base_end AS base_end FROM threads t JOIN files f ON f.rel = t.rel
       WHERE f.base_id IS NOT NULL`,
    ).all() as { rel: string; base_id: string; base_end: number }[];
    if (forks.length === 0) return out;
    const bases = new Map(forks.map((f) => [f.rel, f]));
    const relOf = this.stmt('SELECT rel FROM threads WHERE thread_id = ?').pluck();
    for (const fork of forks) {
      // Walk up the chain; the hit nearest the root comes first in the fork's history.
      let inherited: string | undefined;
      const seen = new Set([fork.rel]);
      for (let link = bases.get(fork.rel), depth = 0; link && depth < 32; depth++) {
        const parentRel = relOf.get(link.base_id) as string | undefined;
        if (parentRel === undefined || seen.has(parentRel)) break;
        seen.add(parentRel);
        const hit = own.get(parentRel);
        if (hit && hit.end <= link.base_end) inherited = hit.text;
        else if (hit) {
          // The parent's first match lies past the fork point: look for one before it.
          const before = this.firstMatchBefore(parentRel, lower, cand, link.base_end);
          if (before !== null) inherited = before;
        }
        link = bases.get(parentRel);
      }
      if (inherited !== undefined) out.set(fork.rel, inherited);
    }
    return out;
  }

  private firstMatchBefore(
    rel: string,
    lower: string,
    cand: { where: string; arg: string },
    before: number,
  ): string | null {
    const rows = this.stmt(
      `SELECT mf.parts AS parts, m.text AS text FROM messages m JOIN message_files mf ON mf.rid = m.rowid
       WHERE mf.rel = ? AND ${cand.where} ORDER BY mf.rid`,
    ).all(rel, cand.arg) as { parts: string; text: string }[];
    for (const r of rows) {
      const hit = firstMatch(r, lower, before);
      if (hit) return hit.text;
    }
    return null;
  }

  // ---- turns -------------------------------------------------------------------------------

  /**
   * The files a thread's turns come from, root first: for a paginated fork, each ancestor up to
   * the byte where the child forked from it (its `history_base`), then the thread's own file.
   * `refresh` brings an ancestor's rows up to date before they are used.
   */
  async turnSegments(
    own: { rel: string; abs: string; zst: boolean },
    refresh: (threadId: string) => Promise<void>,
  ): Promise<TurnSegment[]> {
    const segments: TurnSegment[] = [{ rel: own.rel, abs: own.abs, zst: own.zst, cut: null }];
    let rel = own.rel;
    for (let depth = 0; depth < 32; depth++) {
      const base = stateFromJson(this.stateOf({ rel })).historyBase;
      if (!base) break;
      await refresh(base.threadId);
      const parent = this.locate(base.threadId);
      if (!parent || segments.some((s) => s.rel === parent.rel)) break;
      segments.unshift({ rel: parent.rel, abs: parent.abs, zst: parent.zst, cut: base.endByteOffset });
      rel = parent.rel;
    }
    return segments;
  }

  /** Turn rows in a window of positions across a lineage (see turn-index.ts). */
  turnsInWindow(
    segments: readonly TurnSegment[],
    q: PositionQuery,
    itemsWindow = false,
  ): { row: TurnRow; segment: TurnSegment }[] {
    return turnRowsInWindow(this.stmt.bind(this), segments, q, itemsWindow);
  }

  turnById(segments: readonly TurnSegment[], turnId: string): { row: TurnRow; segment: TurnSegment } | null {
    return turnRowById(this.stmt.bind(this), segments, turnId);
  }

  /** Runs reads against one snapshot of the index (another process may commit in between). */
  snapshot<T>(read: () => T): T {
    return this.db.transaction(read)();
  }
}

/** A `threads` row read for an answer must hash to its `sum`, else the index is damaged. */
function checkThreadRow(row: object): void {
  const r = row as Record<string, unknown>;
  if (sumOf(r, THREAD_SUM_COLUMNS) !== r.sum)
    throw new DamagedIndex(`the index row of thread ${String(r.thread_id)} does not match its checksum`);
}

function withFileSum<T extends Record<string, unknown>>(row: T): T & { sum: number } {
  return { ...row, sum: sumOf(row, FILE_SUM_COLUMNS) };
}

/** See FileState.fingerprint. Synchronous: two tiny reads, cheaper than a thread-pool round trip. */
async function fingerprint(file: string, upTo: number): Promise<string> {
  let fd: number | null = null;
  try {
    fd = openSync(file, 'r');
    const head = Buffer.alloc(Math.min(256, upTo));
    readSync(fd, head, 0, head.length, 0);
    const n = Math.min(64, upTo);
    const tail = Buffer.alloc(n);
    readSync(fd, tail, 0, n, upTo - n);
    return `${head.toString('base64')}.${tail.toString('base64')}`;
  } catch {
    return '';
  } finally {
    if (fd !== null) closeSync(fd);
  }
}

/** The match with up to ~60 characters of context on each side. */
export function snippetOf(text: string, term: string): string {
  const at = text.toLowerCase().indexOf(term.toLowerCase());
  const flat = (s: string): string => s.replace(/\s+/g, ' ');
  if (at < 0) return flat(text.length > 160 ? `${text.slice(0, 160)}…` : text);
  const from = Math.max(0, at - 60);
  const to = Math.min(text.length, at + term.length + 60);
  return `${from > 0 ? '…' : ''}${flat(text.slice(from, to))}${to < text.length ? '…' : ''}`;
}
