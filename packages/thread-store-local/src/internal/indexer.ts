import { closeSync, lstatSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
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
import { isArchivedRel, isDatedSessionRel, parseRolloutFileName, plainRolloutPath } from './paths.js';
import type { HomeLayout } from './paths.js';
import { parseLine, readRawLines, readRawLinesSync } from './reader.js';
import type { RawLine } from './reader.js';
import { filterSql, pageSql, sourceColumns } from './list-query.js';
import type { PageRow, SqlFilter } from './list-query.js';
import { readSessionIndex } from './session-index.js';
import type { NameEntry } from './session-index.js';
import { turnRowById, turnRowsInWindow, TurnRowsSink } from './turn-index.js';
import type { TurnRow, TurnSegment } from './turn-index.js';
import type { HomeWatcher } from './watcher.js';

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

/** A rollout file found on disk. */
interface Found {
  rel: string;
  abs: string;
  archived: boolean;
  listable: boolean;
  zst: boolean;
  fileNameThreadId: string;
  fileNameTime: Date | null;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  ino: number;
}

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

function foundFrom(layout: HomeLayout, abs: string, st: Stats): Found | null {
  const name = parseRolloutFileName(path.basename(abs));
  if (!name) return null;
  const rel = layout.rel(abs);
  const archived = isArchivedRel(rel);
  const listable = archived ? /^archived_sessions\/[^/]+$/.test(rel) : isDatedSessionRel(rel);
  return {
    rel,
    abs,
    archived,
    listable,
    zst: name.zst,
    fileNameThreadId: name.threadId,
    fileNameTime: name.stampAsUtc,
    size: st.size,
    mtimeMs: st.mtimeMs,
    ctimeMs: st.ctimeMs,
    ino: st.ino,
  };
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

  constructor(layout: HomeLayout, db: Db, defaultModelProvider: string) {
    this.layout = layout;
    this.db = db;
    this.defaultModelProvider = defaultModelProvider;
  }

  /** Prepared statements are cached: preparing per file was a large part of indexing time. */
  private stmt(sql: string): Database.Statement {
    let st = this.statements.get(sql);
    if (!st) {
      st = this.db.prepare(sql);
      this.statements.set(sql, st);
    }
    return st;
  }

  // ---- discovery ---------------------------------------------------------------------------

  private statInside(abs: string, isLink: boolean): Stats | null {
    if (isLink && !this.layout.contains(abs)) return null; // a symlink pointing out of the home
    try {
      const st = statSync(abs);
      return st.isFile() ? st : null;
    } catch {
      return null;
    }
  }

  /** Every rollout file under `sessions/` (recursively) and in `archived_sessions/`. */
  private walk(): Found[] {
    const out: Found[] = [];
    const visit = (dir: string, recurse: boolean): void => {
      // Watched before it is read: a file created after the read is then reported.
      this.watcher?.visitDir(dir);
      let entries;
      try {
        entries = readdirSync(dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const e of entries) {
        const abs = path.join(dir, e.name);
        if (e.isDirectory()) {
          if (recurse) visit(abs, true);
          continue;
        }
        if (!e.isFile() && !e.isSymbolicLink()) continue;
        if (!parseRolloutFileName(e.name)) continue;
        const st = this.statInside(abs, e.isSymbolicLink());
        if (!st) continue;
        const f = foundFrom(this.layout, abs, st);
        if (f) out.push(f);
      }
    };
    visit(this.layout.sessions, true);
    visit(this.layout.archived, false);
    return out;
  }

  /** Rollout files among the given paths (the dirty list of the watcher), one stat each. */
  private statPaths(paths: Iterable<string>): Found[] {
    const out: Found[] = [];
    for (const abs of paths) {
      let rel: string;
      try {
        rel = this.layout.rel(abs);
      } catch {
        continue;
      }
      // Only where the walk would find it: under sessions/, or directly in archived_sessions/.
      if (!rel.startsWith('sessions/') && !/^archived_sessions\/[^/]+$/.test(rel)) continue;
      let isLink = false;
      try {
        isLink = lstatSync(abs).isSymbolicLink();
      } catch {
        continue;
      }
      const st = this.statInside(abs, isLink);
      if (!st) continue;
      const f = foundFrom(this.layout, abs, st);
      if (f) out.push(f);
    }
    return out;
  }

  /** Rollout files whose name carries `threadId` (no stat of other files). */
  findFilesByName(threadId: string): string[] {
    const hits: string[] = [];
    const suffixes = [`-${threadId}.jsonl`, `-${threadId}.jsonl.zst`];
    // Later segments of the thread: `…-<thread>_<rollout>.jsonl`.
    const segment = new RegExp(`-${threadId}_[0-9a-f-]{36}\\.jsonl(\\.zst)?$`);
    const visit = (dir: string, recurse: boolean): void => {
      let entries;
      try {
        entries = readdirSync(dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const e of entries) {
        const abs = path.join(dir, e.name);
        if (e.isDirectory()) {
          if (recurse) visit(abs, true);
        } else {
          const lower = e.name.toLowerCase();
          if (suffixes.some((s) => lower.endsWith(s)) || segment.test(lower)) hits.push(abs);
        }
      }
    };
    visit(this.layout.sessions, true);
    visit(this.layout.archived, false);
    return hits;
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
    if (paths) {
      found = this.statPaths(paths);
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
      this.watcher?.beginSweep();
      try {
        found = this.walk();
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
      batchBytes += this.bytesToRead(f, rows.get(f.rel));
      if (batch.length >= 500 || batchBytes >= 32 << 20) commit();
      progress.filesDone += 1;
      progress.bytesDone += this.bytesToRead(f, rows.get(f.rel));
      onProgress?.({ ...progress });
    }
    commit();
    for (const id of this.syncNamesChanged(await this.namesIfChanged())) affected.add(id);
    this.rebuildThreads(affected);
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

  private stateOf(rel: string): string {
    const r = this.stmt('SELECT state FROM files WHERE rel = ?').get(rel) as { state: string } | undefined;
    return r?.state ?? stateToJson(emptyFileState());
  }

  /**
   * A file row's saved state. The states a pass just wrote are reused while their JSON is still
   * what the row holds (parsing them back was a tenth of a cold index).
   */
  private parseState(row: FileRow): FileState {
    const json = row.state ?? this.stateOf(row.rel);
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
    let saved: FileState | null = tail && prev ? stateFromJson(prev.state ?? this.stateOf(f.rel)) : null;
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
        `INSERT INTO files (rel, thread_id, archived, listable, zst, size, mtime_ms, ctime_ms, ino, indexed_bytes, state)
           VALUES (@rel, @thread_id, @archived, @listable, @zst, @size, @mtime_ms, @ctime_ms, @ino, @indexed_bytes, @state)
           ON CONFLICT(rel) DO UPDATE SET thread_id = excluded.thread_id, archived = excluded.archived,
             listable = excluded.listable, zst = excluded.zst, size = excluded.size, mtime_ms = excluded.mtime_ms,
             ctime_ms = excluded.ctime_ms, ino = excluded.ino, indexed_bytes = excluded.indexed_bytes, state = excluded.state`,
      ).run({
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
      });
      this.passStates.set(f.rel, { json: stateJson, state });
      if (state.turns) turnRows.write(!tail, state.turns);
      const ins = this.stmt('INSERT INTO messages (text) VALUES (?)');
      const link = this.stmt('INSERT INTO message_files (rid, rel) VALUES (?, ?)');
      // One FTS row per file and pass, the messages joined by MESSAGE_SEP: per-row FTS5 costs
      // (a doclist entry per distinct trigram per row) were the largest part of indexing.
      if (scanner.messages.length > 0)
        link.run(ins.run(scanner.messages.map((m) => m.text).join(MESSAGE_SEP)).lastInsertRowid, f.rel);
    };
    // Writes of a big pass are committed in batches (one commit per file is slow).
    // Deferred writes run inside the pass's batch transaction (one commit per file is slow, and
    // so is making a transaction function per file).
    if (defer) defer(write);
    else this.db.transaction(write).immediate();
    return [...ids];
  }

  /** Refreshes the rows of one thread cheaply; falls back to a full sync when files moved. */
  async refreshThread(threadId: string): Promise<void> {
    const rows = this.stmt('SELECT * FROM files WHERE thread_id = ?').all(threadId) as FileRow[];
    const named = this.findFilesByName(threadId).map((abs) => this.layout.rel(abs));
    const known = new Set(rows.map((r) => r.rel));
    if (rows.length === 0 || named.some((rel) => !known.has(rel))) {
      await this.syncAll();
      return;
    }
    const affected = new Set<string>([threadId]);
    for (const r of rows) {
      const abs = this.layout.abs(r.rel);
      let st: Stats;
      try {
        st = statSync(abs);
      } catch {
        await this.syncAll();
        return;
      }
      if (st.size === r.size && st.mtimeMs === r.mtime_ms && st.ino === r.ino && st.ctimeMs === r.ctime_ms) continue;
      const f = foundFrom(this.layout, abs, st);
      if (!f) continue;
      for (const id of await this.indexFile(f, r)) affected.add(id);
    }
    for (const id of this.syncNamesChanged(await this.namesIfChanged())) affected.add(id);
    this.rebuildThreads(affected);
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
    )
      for (const id of await this.indexFile(f, prev)) affected.add(id);
    for (const id of this.syncNamesChanged(await this.namesIfChanged())) affected.add(id);
    this.rebuildThreads(affected);
    const row = this.stmt('SELECT * FROM files WHERE rel = ?').get(f.rel) as FileRow | undefined;
    if (!row) return null;
    return { ...this.locatedFromFile(row), thread: this.threadForFile(row) };
  }

  // ---- names -------------------------------------------------------------------------------

  private async namesIfChanged(): Promise<Map<string, NameEntry> | null> {
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
    this.stmt("INSERT OR REPLACE INTO kv (key, value) VALUES ('session_index', ?)").run(key);
    return names;
  }

  private syncNamesChanged(names: Map<string, NameEntry> | null): string[] {
    if (!names) return [];
    const changed: string[] = [];
    this.db
      .transaction(() => {
        const rows = this.stmt('SELECT thread_id, name, at_ms FROM names').all() as NameRow[];
        const old = new Map(rows.map((r) => [r.thread_id, r]));
        for (const [id, e] of names) {
          const o = old.get(id);
          if (!o || o.name !== e.name || o.at_ms !== e.atMs) changed.push(id);
        }
        for (const id of old.keys()) if (!names.has(id)) changed.push(id);
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

  rebuildThreads(ids: Iterable<string>): void {
    const all = [...new Set(ids)];
    if (all.length === 0) {
      this.passStates.clear();
      return;
    }
    const forks: string[] = [];
    const build = (id: string, allowDefer: boolean): void => {
      const rows = this.stmt('SELECT * FROM files WHERE thread_id = ?').all(id) as FileRow[];
      const w = this.pickWinner(rows);
      if (!w) {
        this.stmt('DELETE FROM threads WHERE thread_id = ?').run(id);
        return;
      }
      const state = this.parseState(w);
      if (allowDefer && state.historyBase) {
        forks.push(id);
        return;
      }
      const t = this.threadForFile(w, state);
      this.stmt(
        `INSERT OR REPLACE INTO threads (thread_id, rel, archived, listable, has_preview, model_provider, cwd,
             created_ms, updated_ms, recency_ms, archived_ms, name, preview, source,
             source_kind, subagent_kind, source_key, name_lc, preview_lc, data)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        id,
        w.rel,
        w.archived,
        w.listable,
        t.preview === '' ? 0 : 1,
        t.modelProvider,
        t.cwd,
        t.createdAt.getTime(),
        t.updatedAt.getTime(),
        t.recencyAt.getTime(),
        t.archivedAt?.getTime() ?? null,
        t.name,
        t.preview,
        JSON.stringify(t.source),
        ...sourceColumns(t.source),
        (t.name ?? '').toLowerCase(),
        t.preview.toLowerCase(),
        threadToJson(t),
      );
    };
    try {
      this.db
        .transaction(() => {
          for (const id of all) build(id, true);
          for (const id of forks) build(id, false);
        })
        .immediate();
    } finally {
      this.passStates.clear();
    }
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
    let extra: SqlFilter | undefined;
    if (content !== undefined) {
      const m = contentMatch(content);
      extra = {
        where: `t.rel IN (SELECT mf.rel FROM messages m JOIN message_files mf ON mf.rid = m.rowid WHERE ${m.where})`,
        args: [m.arg],
      };
    }
    const page = pageSql<PageRow & { data: string; rel: string }>(
      p,
      storeKind,
      cursor,
      filterSql(p, extra),
      't.thread_id, t.rel, t.data',
      (sql, args) => this.stmt(sql).all(...args) as (PageRow & { data: string; rel: string })[],
      (sql, args) => this.stmt(sql).get(...args) !== undefined,
    );
    const snippets = new Map<string, string>();
    if (content !== undefined && page.rows.length > 0) {
      const m = contentMatch(content);
      const rels = page.rows.map((r) => r.rel);
      const hits = this.db
        .prepare(
          `SELECT mf.rel AS rel, min(m.rowid) AS rid FROM messages m JOIN message_files mf ON mf.rid = m.rowid
           WHERE ${m.where} AND mf.rel IN (${rels.map(() => '?').join(',')}) GROUP BY mf.rel`,
        )
        .all(m.arg, ...rels) as { rel: string; rid: number }[];
      const text = this.stmt('SELECT text FROM messages WHERE rowid = ?');
      for (const h of hits)
        snippets.set(h.rel, messageSnippet((text.get(h.rid) as { text: string } | undefined)?.text ?? '', content));
    }
    return {
      items: page.rows.map((r) => ({ thread: threadFromJson(r.data), snippet: snippets.get(r.rel) ?? '' })),
      nextCursor: page.nextCursor,
      backwardsCursor: page.backwardsCursor,
    };
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
      const base = stateFromJson(this.stateOf(rel)).historyBase;
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

/**
 * The message condition for a content search: the FTS5 trigram index for terms of 3+ characters
 * (case-insensitive substring), a LIKE scan for shorter ones (too short for trigrams).
 */
function contentMatch(term: string): { where: string; arg: string } {
  if ([...term].length >= 3) return { where: 'messages MATCH ?', arg: `"${term.replace(/"/g, '""')}"` };
  return { where: "m.text LIKE ? ESCAPE '\\'", arg: `%${term.replace(/[\\%_]/g, (c) => `\\${c}`)}%` };
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

/**
 * Separates the messages of one FTS row. No search term contains a NUL, so a match never spans
 * two messages (the `\n` around it keeps trigrams of neighbours apart for short-term LIKE too).
 */
const MESSAGE_SEP = '\n\u0000\n';

/** The snippet of the first message in an FTS row that contains the term. */
function messageSnippet(row: string, term: string): string {
  const parts = row.split(MESSAGE_SEP);
  const lower = term.toLowerCase();
  const hit = parts.find((p) => p.toLowerCase().includes(lower)) ?? parts[0] ?? '';
  return snippetOf(hit, term);
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
