import { statSync } from 'node:fs';
import type { Stats } from 'node:fs';
import type { NormalizedListParams, PositionQuery, StoredThread } from '@skein/thread-store-api';
import type Database from 'better-sqlite3';
import type { Db } from './index-db.js';
import { stateFromJson, threadFromJson } from './file-state.js';
import type { FileState } from './file-state.js';
import type { HomeLayout } from './paths.js';
import { bytesSql, countSql, filterSql, pageSql } from './list-query.js';
import type { PageRow, SqlFilter } from './list-query.js';
import { turnRowById, turnRowsInWindow } from './turn-index.js';
import type { TurnRow, TurnSegment } from './turn-index.js';
import type { HomeWatcher } from './watcher.js';
import { placesOf } from './change-scan.js';
import { foundFrom } from './discovery.js';
import { HomeSync } from './home-sync.js';
import type { SweepScan } from './home-sync.js';
import type { FileRow, IndexContext } from './index-context.js';
import { deleteFileRow, markPending, pendingThreads, stateOf } from './file-rows.js';
import { indexFile } from './file-indexing.js';
import { applyChanges, runPass, workBytes } from './index-pass.js';
import type { ApplyChanges, PassWork } from './index-pass.js';
import { IndexWorker, WorkerUnavailable } from './index-worker-client.js';
import { indexAppended } from './appended-index.js';
import type { AppendedRun } from './recorder.js';
import { namesIfChanged, syncNamesChanged } from './names-sync.js';
import {
  checkThreadRow,
  filesOfThread,
  firstRolloutRow,
  nameEntry,
  parseState,
  pickWinner,
  rebuildThreads,
  threadForFile,
} from './thread-rows.js';
import { contentMatches, snippetOf } from './content-matches.js';

/**
 * Skein's SQLite index of a home, kept in step with the rollout files: the passes that bring it
 * up to date (index-pass.ts: the walk in discovery.ts, each file read by file-indexing.ts, rows
 * in file-rows.ts, thread-rows.ts and names-sync.ts) and the queries answered from it.
 */

/**
 * A pass hands its work to the index worker (see index-worker.ts) from this many files to read,
 * or this many bytes: a smaller one costs the event loop less than the hand-over.
 */
const WORKER_MIN_FILES = 64;
const WORKER_MIN_BYTES = 8 << 20;

/** Prepared statements kept (see ThreadIndex.stmt). */
export const STATEMENT_CACHE_MAX = 128;

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
  private syncing: Promise<void> | null = null;
  private pathPasses: Promise<void> = Promise.resolve();
  /** Set by the store when it watches the home: full sweeps (re)add folder watches. */
  watcher: HomeWatcher | null = null;
  /** performance.now() when the last full walk started. */
  lastSweepStartedAt = -Infinity;
  private readonly statements = new Map<string, Database.Statement>();
  private readonly ctx: IndexContext;
  /** The index worker, or null when passes run on this thread only. */
  private readonly worker: IndexWorker | null;
  /** Path passes of this thread queued or under way (see sweepPaths). */
  private mainPasses = 0;
  /** The background sweep's pass under way in the worker: its files, and its end. */
  private sweeping: { rels: Set<string>; done: Promise<void> } | null = null;

  /** Change detection, the background sweep and the early first page (home-sync.ts). */
  readonly changes: HomeSync;

  /**
   * `worker`: large passes run their heavy part (reading files, writing rows) in an index worker
   * thread over its own connection to the index file `file` (see index-worker.ts); without it,
   * or when the worker cannot start, every pass runs on this thread.
   */
  constructor(
    layout: HomeLayout,
    db: Db,
    defaultModelProvider: string,
    codexStateDb: string | null = null,
    worker = false,
  ) {
    this.changes = new HomeSync(this, layout, db, codexStateDb);
    this.layout = layout;
    this.db = db;
    this.ctx = { layout, db, defaultModelProvider, stmt: (sql) => this.stmt(sql), passStates: new Map() };
    this.worker = worker ? new IndexWorker({ file: db.name, home: layout.home, defaultModelProvider }) : null;
  }

  /** Whether large passes go to the index worker (false without one, or once it failed). */
  get usesWorker(): boolean {
    return this.worker?.usable ?? false;
  }

  /** Passes that ran in the index worker so far (the tests check that the worker was used). */
  workerPasses = 0;

  /**
   * Runs the heavy part of a pass (see applyChanges): in the index worker when the work is
   * large enough and the worker is usable, else here. A pass here leaves the threads marked by
   * the worker's pass under way to that pass.
   */
  private readonly apply: ApplyChanges = async (work: PassWork, onProgress) => {
    if (this.worker?.usable && (work.todo.length >= WORKER_MIN_FILES || workBytes(work) >= WORKER_MIN_BYTES)) {
      try {
        const progress = await this.worker.run({ work }, onProgress);
        this.workerPasses++;
        return progress;
      } catch (e) {
        if (!(e instanceof WorkerUnavailable)) throw e;
        // Whatever the worker committed is consistent (its rows and the threads it marked): the
        // pass is run again here, which reads what is still to read.
      }
    }
    return applyChanges(this.ctx, work, onProgress, { pending: () => this.sweeping === null });
  };

  /** Closes the index worker (`now`: at once, the index file is being replaced). */
  async closeWorker(now = false): Promise<void> {
    await this.worker?.close(now);
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
    await this.sweeping?.done;
  }

  /** Brings the whole index up to date with the files (one pass at a time). */
  syncAll(onProgress?: IndexProgressListener): Promise<void> {
    if (this.syncing) return this.syncing;
    const paths = this.pathPasses;
    const run = (async () => {
      await paths;
      await this.sweeping?.done;
      await runPass(this.ctx, this, onProgress, undefined, this.apply);
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
    this.mainPasses++;
    const run = (async () => {
      await full?.catch(() => undefined);
      await prev;
      // A file the sweep's pass in the worker is reading waits for it (one pass at a time per file).
      const s = this.sweeping;
      if (s && [...paths].some((p) => s.rels.has(this.relOrNull(p) ?? ''))) await s.done;
      await runPass(this.ctx, this, onProgress, paths, this.apply);
    })().finally(() => {
      this.mainPasses--;
    });
    const settled = run.catch(() => undefined);
    this.pathPasses = settled;
    return run;
  }

  private relOrNull(abs: string): string | null {
    try {
      return this.layout.rel(abs);
    } catch {
      return null;
    }
  }

  /** The background sweep's walk in the index worker (see sweepScan); null without a usable worker. */
  async sweepScanInWorker(): Promise<SweepScan | null> {
    if (!this.worker?.usable) return null;
    try {
      return await this.worker.scan();
    } catch (e) {
      if (e instanceof WorkerUnavailable) return null;
      throw e;
    }
  }

  /**
   * A path pass of the background sweep (see HomeSync.sweep). With the index worker it runs there
   * whole (stat, compare, read, write), and the passes of this thread are not queued behind it:
   * a listing's pass only waits for it when it has one of its files. It starts when no other
   * pass of this thread is under way, so both never compare the same file with its row at once.
   * Without the worker (or `inWorker` false) it is a path pass like any other (syncPaths).
   */
  async sweepPaths(paths: ReadonlySet<string>, onProgress?: IndexProgressListener, inWorker = true): Promise<void> {
    const worker = this.worker;
    if (!inWorker || !worker?.usable) return this.syncPaths(paths, onProgress);
    while (this.syncing || this.mainPasses > 0 || this.sweeping) {
      await this.syncing?.catch(() => undefined);
      await this.pathPasses;
      await this.sweeping?.done;
    }
    const rels = new Set<string>();
    for (const p of paths) {
      const rel = this.relOrNull(p);
      if (rel !== null) rels.add(rel);
    }
    const run = worker.run({ paths: [...paths] }, onProgress);
    const sweeping = {
      rels,
      done: run.then(
        () => undefined,
        () => undefined,
      ),
    };
    this.sweeping = sweeping;
    let progress: IndexProgress;
    try {
      progress = await run;
      this.workerPasses++;
    } catch (e) {
      if (!(e instanceof WorkerUnavailable)) throw e;
      return this.syncPaths(paths, onProgress);
    } finally {
      if (this.sweeping === sweeping) this.sweeping = null;
    }
    onProgress?.({ ...progress, phase: 'done' });
  }

  /**
   * Indexes what this store's writers just appended from the lines they wrote, in one
   * transaction (appended-index.ts); returns the files that must be read instead.
   */
  indexAppended(runs: readonly AppendedRun[]): string[] {
    return indexAppended(this.ctx, runs);
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
      const { ids, write } = await indexFile(this.ctx, f, prev);
      this.db
        .transaction(() => {
          write();
          markPending(this.ctx, ids);
        })
        .immediate();
      for (const id of ids) affected.add(id);
    }
    for (const id of syncNamesChanged(this.ctx, await namesIfChanged(this.ctx))) affected.add(id);
    for (const id of pendingThreads(this.ctx)) affected.add(id);
    this.rebuildThreads(affected);
    const row = this.stmt('SELECT * FROM files WHERE rel = ?').get(f.rel) as FileRow | undefined;
    if (!row) return null;
    return { ...this.locatedFromFile(row), thread: threadForFile(this.ctx, row) };
  }

  /**
   * The name the file's last name patch set, when session_index.jsonl does not have it yet (a
   * crash between the patch line and its index mirror): what to append so Codex sees it too.
   */
  nameMirrorGap(threadId: string): { name: string | null; at: Date } | null {
    const w = pickWinner(filesOfThread(this.ctx, threadId));
    if (!w) return null;
    const state: FileState = parseState(this.ctx, w);
    const at = state.patchNameAtMs;
    if (at === undefined || at === null || at <= 0) return null;
    const entry = nameEntry(this.ctx, threadId);
    if (entry && entry.atMs >= at) return null;
    let name: string | null | undefined;
    for (const raw of state.patches) if ('name' in raw) name = raw.name as string | null;
    if (name === undefined || (name === null && !entry)) return null;
    return { name, at: new Date(at) };
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

  /** Rebuilds these threads' rows (see thread-rows.ts). */
  rebuildThreads(ids: Iterable<string>): void {
    rebuildThreads(this.ctx, ids);
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
    deleteFileRow(this.ctx, rel);
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
    const w = pickWinner(filesOfThread(this.ctx, threadId));
    return w ? threadForFile(this.ctx, w, undefined, true).name : null;
  }

  /** Every file of a thread (active, archived, compressed copies). */
  filesOf(threadId: string): { rel: string; abs: string; zst: boolean; archived: boolean }[] {
    const rows = this.stmt('SELECT rel, zst, archived FROM files WHERE thread_id = ?').all(threadId) as FileRow[];
    return rows.map((r) => ({ rel: r.rel, abs: this.layout.abs(r.rel), zst: r.zst === 1, archived: r.archived === 1 }));
  }

  /** How many threads match a listing's filters (see list-query.ts). */
  countThreads(p: NormalizedListParams): number {
    return countSql(p, filterSql(p), (sql, args) => this.stmt(sql).get(...args) as { n: number | null });
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
    const found = content === undefined ? null : contentMatches(this.ctx, content, (id) => this.rolloutFile(id)?.rel);
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
      const base = stateFromJson(stateOf(this.ctx, { rel })).historyBase;
      if (!base) break;
      await refresh(base.threadId);
      const parent = this.rolloutFile(base.threadId);
      if (!parent || segments.some((s) => s.rel === parent.rel)) break;
      segments.unshift({ rel: parent.rel, abs: parent.abs, zst: parent.zst, cut: base.endByteOffset });
      rel = parent.rel;
    }
    return segments;
  }

  /**
   * The file of a rollout id (what a `history_base` names): a thread's first file carries the
   * thread id (not its newest segment), a later segment the id after the `_` in its name, and a
   * file named after another id may carry it in its session_meta.
   */
  rolloutFile(rolloutId: string): { rel: string; abs: string; zst: boolean } | null {
    const id = rolloutId.toLowerCase();
    const own = firstRolloutRow(this.ctx, id);
    if (own) return { rel: own.rel, abs: this.layout.abs(own.rel), zst: own.zst === 1 };
    const segment = this.changes.segmentFile(id);
    if (segment) return { rel: this.layout.rel(segment.path), abs: segment.path, zst: segment.zst };
    const loc = this.locate(id);
    return loc ? { rel: loc.rel, abs: loc.abs, zst: loc.zst } : null;
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
