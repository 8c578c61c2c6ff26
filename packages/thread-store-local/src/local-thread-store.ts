import { existsSync, realpathSync } from 'node:fs';
import { stat, unlink, utimes } from 'node:fs/promises';
import path from 'node:path';
import {
  historyBaseOf,
  isObject,
  isThreadStoreError,
  normalizeListItemsParams,
  checkSessionMeta,
  normalizeCountParams,
  normalizeListParams,
  normalizeListTurnsParams,
  parseThreadId,
  rolloutItemProblem,
  sessionMetaPayloadFor,
  ThreadStoreError,
  toThreadStoreError,
  validatePatch,
  checkThreadDate,
} from '@skein/thread-store-api';
import type {
  AppendItemsParams,
  ArchiveThreadParams,
  CountThreadsParams,
  CreateThreadParams,
  DeleteThreadParams,
  HistoryMode,
  ItemPage,
  ListItemsParams,
  NormalizedListParams,
  ListSegmentsParams,
  ListThreadsParams,
  ListTurnsParams,
  LoadHistoryParams,
  ReadThreadByRolloutPathParams,
  ReadThreadParams,
  ResumeThreadParams,
  RolloutItem,
  SearchThreadsParams,
  StoredThread,
  StoredThreadWithHistory,
  ThreadId,
  ThreadMetadataPatch,
  ThreadPage,
  ThreadSearchPage,
  ThreadSegment,
  ThreadStore,
  ThreadStoreCapabilities,
  TurnPage,
  UpdateThreadMetadataParams,
} from '@skein/thread-store-api';
import { updateCodexState } from './internal/codex-state.js';
import type { CodexDbPaths, CodexStateChange } from './internal/codex-state.js';
import { IndexKeeper } from './internal/index-keeper.js';
import { archiveFiles, decompressInPlace, unarchiveFiles } from './internal/home-files.js';
import { GroupCommit } from './internal/group-commit.js';
import { ThreadIndex } from './internal/indexer.js';
import type { IndexProgressListener, LocatedThread } from './internal/indexer.js';
import { assertMtimeKept, mtimeSeconds } from './internal/file-times.js';
import type { IntegrityResult } from './internal/integrity.js';
import { WriterLock } from './internal/lock.js';
import { Foreground } from './internal/foreground.js';
import { WrittenIndexer } from './internal/written-index.js';
import { Freshness } from './internal/freshness.js';
import { localItemPage, localTurnPage } from './internal/turn-pages.js';
import { patchLineItem } from './internal/patch-line.js';
import { HomeLayout, parseRolloutFileName, plainRolloutPath } from './internal/paths.js';
import { readFirstItem, readHistory, readHistoryLines } from './internal/reader.js';
import type { LineCounts, ParentResolver } from './internal/reader.js';
import { RolloutRecorder } from './internal/recorder.js';
import type { AppendedRun, FsyncPolicy, RecorderOptions } from './internal/recorder.js';
import { shapeForMode } from './internal/history-shape.js';
import type { ShapeState } from './internal/history-shape.js';
import { projectAppended } from './internal/history-projection.js';
import { checkGivenForkBase, paginatedForkBase } from './internal/paginated-fork.js';
import { codexRolloutPath } from './internal/segments.js';
import { checkNewSegment, rolloutFile, rolloutFiles, segmentsOf, segmentTime } from './internal/thread-segments.js';
import type { RolloutFile } from './internal/thread-segments.js';
import { appendSessionName, removeSessionNames } from './internal/session-index.js';
import { resolveOptions } from './internal/store-options.js';
import type { IndexLag, IndexNowOptions, LocalStoreWarning, LocalThreadStoreOptions } from './options.js';

export type { IndexProgress, IndexProgressListener } from './internal/indexer.js';
export type { FsyncPolicy } from './internal/recorder.js';
export type { IntegrityResult } from './internal/integrity.js';
export type { IndexLag, IndexNowOptions, LocalStoreWarning, LocalThreadStoreOptions } from './options.js';

interface Writer {
  threadId: ThreadId;
  recorder: RolloutRecorder;
  lock: WriterLock;
  /** Follows the current turn, for the `item_completed` lines of paginated rollouts. */
  shape: ShapeState;
  /**
   * Set while the writer's new segment (`resumeThread` with `segment`) has not been written:
   * the thread exists in its older rollouts meanwhile. Once it is, Codex's state is pointed at it.
   */
  newSegment?: { file: string; recorded: boolean };
}

const STORE_KIND = 'local';

function nowIso(): string {
  return new Date().toISOString();
}

/**
 * A ThreadStore over a Codex-compatible home: rollout JSONL files are the source of truth,
 * `session_index.jsonl` holds names, and Skein's own SQLite index (rebuildable at any time)
 * answers listings and content search.
 */
export class LocalThreadStore implements ThreadStore {
  readonly capabilities: ThreadStoreCapabilities = { localPaths: true, contentSearch: true };
  readonly home: string;
  private readonly layout: HomeLayout;
  private readonly defaultModelProvider: string;
  private readonly fsync: FsyncPolicy;
  private readonly onIndexProgress: IndexProgressListener | undefined;
  private readonly originator: string;
  private readonly cliVersion: string;
  private readonly codexDbs: CodexDbPaths;
  private readonly onWarning: (warning: LocalStoreWarning) => void;
  private readonly writers = new Map<string, Writer>();
  private readonly threadOps = new Map<string, Promise<unknown>>();
  /** Calls under way (settled promises), which close() waits for. */
  private readonly inflight = new Set<Promise<void>>();
  private readonly watch: boolean;
  private readonly fullSweepIntervalMs: number;
  private readonly historyMode: HistoryMode;
  private readonly maxBufferedBytes: number;
  private closed = false;
  private readonly closing = new AbortController();
  /** The index over its life: opened, replaced when damaged, checked, closed (index-keeper.ts). */
  private readonly keeper: IndexKeeper;
  /** Flushes of all threads waiting at the same time share one fsync round. */
  private readonly commits: GroupCommit<RolloutRecorder>;
  /** Reads the files a round could not index from what it wrote, after their flushes resolved. */
  private readonly writtenIndex: WrittenIndexer;
  /** Files with a flush asked for and not resolved yet: their writer, and how many flushes. */
  private readonly flushing = new Map<string, { recorder: RolloutRecorder; n: number }>();
  /** When and how the index catches up with the home (freshness.ts). */
  private readonly freshness: Freshness;
  /** The calls in progress, which the background sweep gives way to. */
  private readonly foreground = new Foreground();

  constructor(options: LocalThreadStoreOptions) {
    const o = resolveOptions(options);
    this.home = o.home;
    this.layout = new HomeLayout(this.home);
    this.defaultModelProvider = o.defaultModelProvider;
    this.fsync = o.fsync;
    this.onIndexProgress = o.onIndexProgress;
    this.originator = o.originator;
    this.cliVersion = o.cliVersion;
    this.codexDbs = o.codexDbs;
    this.onWarning = o.onWarning;
    this.watch = o.watch;
    this.fullSweepIntervalMs = o.fullSweepIntervalMs;
    this.historyMode = o.historyMode;
    this.maxBufferedBytes = o.maxBufferedBytes;
    this.keeper = new IndexKeeper({
      layout: this.layout,
      defaultModelProvider: this.defaultModelProvider,
      codexStateDb: this.codexDbs.state,
      watch: this.watch,
      backgroundIntegrityCheck: o.backgroundIntegrityCheck,
      indexWorker: o.indexWorker,
      onIndexProgress: this.onIndexProgress,
      signal: this.closing.signal,
      holdBack: (abs) => this.roundIndexes(abs),
    });
    this.writtenIndex = new WrittenIndexer({ index: () => this.keeper.opened, closed: () => this.closed });
    this.commits = new GroupCommit<RolloutRecorder>({
      fsync: this.fsync === 'always',
      afterRound: async (_paths, members) => this.indexRound(members),
    });
    this.freshness = new Freshness({
      index: () => this.index,
      watcher: () => this.keeper.watcher,
      closed: () => this.closed,
      signal: this.closing.signal,
      onProgress: this.onIndexProgress,
      fullSweepIntervalMs: this.fullSweepIntervalMs,
      storeKind: STORE_KIND,
      giveWay: this.foreground.giveWay,
    });
  }

  // ---- plumbing ------------------------------------------------------------------------------

  private ensureOpen(): void {
    if (this.closed) throw ThreadStoreError.invalidRequest('store is closed; create a new LocalThreadStore');
  }

  private get index(): ThreadIndex {
    return this.keeper.index;
  }

  /**
   * How far the index is behind the rollout files, for monitoring: the changes seen (by the
   * watch, or written by this store) that the next listing or search will index first, and how
   * long the oldest of them has waited. `null` when the store does not watch its home (`watch:
   * false`, or before its first listing): every listing then walks the whole home.
   */
  indexLag(): IndexLag | null {
    return this.closed ? null : this.keeper.lag();
  }

  /**
   * Verifies the index off the request path (integrity.ts): every row against its checksum, a
   * slice per event-loop turn, then SQLite's quick_check on a worker thread. A damaged index is
   * moved aside and rebuilt from the rollout files before this resolves; the result says what
   * was found. Runs once per open by itself (`backgroundIntegrityCheck`); a call while a check
   * runs joins it.
   */
  async checkIndexIntegrity(): Promise<IntegrityResult> {
    this.ensureOpen();
    return this.keeper.checkIntegrity();
  }

  /**
   * Indexes what a flush round wrote before its flushes resolve, from the lines the writers
   * appended (one transaction, no read of the files). A file its writer cannot vouch for, or
   * whose file or row moved on meanwhile, is read by the written-files pass instead (and by the
   * next listing, which re-checks every file this store wrote). Before the first listing there
   * is no index to keep current.
   */
  private indexRound(members: readonly RolloutRecorder[]): void {
    const runs: AppendedRun[] = [];
    const reread: string[] = [];
    for (const m of members) {
      const run = m.takeAppended();
      if (run === 'lost') reread.push(m.path);
      else if (run) runs.push(run);
    }
    const index = this.keeper.opened;
    if (!index || this.closed) return;
    try {
      reread.push(...index.indexAppended(runs));
    } catch {
      for (const r of runs) reread.push(r.path);
    }
    if (reread.length > 0) this.writtenIndex.add(reread);
  }

  /**
   * Whether a listing can leave `abs` to the flush round under way: the round commits its rows
   * before its flushes resolve, and every flush that resolved before has its rows committed
   * already — unless its writer also wrote outside a round since (persist, a patch line), or
   * its file waits for a read (the round could not index it).
   */
  private roundIndexes(abs: string): boolean {
    const f = this.flushing.get(abs);
    return f !== undefined && !f.recorder.wroteOutsideRound && !this.writtenIndex.has(abs);
  }

  /** A file this store wrote: re-indexed by the next listing without waiting for the watch. */
  private wrote(abs: string): void {
    this.keeper.watcher?.markDirty(abs);
  }

  /**
   * Runs operations on one thread one at a time (mutations and writer lifecycle). A call accepted
   * before close() still runs when its turn comes: close() waits for it.
   */
  private serial<T>(threadId: string, op: () => Promise<T>): Promise<T> {
    const prev = this.threadOps.get(threadId) ?? Promise.resolve();
    const next = prev.then(op, op);
    const settled = next.catch(() => undefined);
    this.threadOps.set(threadId, settled);
    void settled.then(() => {
      if (this.threadOps.get(threadId) === settled) this.threadOps.delete(threadId);
    });
    return next;
  }

  /**
   * `redo`: the operation only reads, so it can run again after the index was replaced. Every
   * call is tracked until it settles, so close() can wait for it.
   */
  private guard<T>(context: string, op: () => Promise<T>, redo = false): Promise<T> {
    const run = (async () => {
      const leave = this.foreground.enter();
      try {
        this.ensureOpen();
        return await this.keeper.recovering(context, op, redo);
      } catch (e) {
        throw toThreadStoreError(e, context);
      } finally {
        leave();
      }
    })();
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    this.inflight.add(settled);
    void settled.then(() => this.inflight.delete(settled));
    return run;
  }

  private warn(code: LocalStoreWarning['code'], threadId: string, message: string, cause: unknown): void {
    const detail = cause instanceof Error ? `: ${cause.message}` : '';
    try {
      this.onWarning({ code, threadId, message: `${message}${detail}`, cause });
    } catch {
      // A throwing listener must not turn a completed change into a failure.
    }
  }

  /** Mirrors a change into Codex's state DB; a failure is a warning (Codex repairs from the files). */
  private async updateCodexState(threadId: ThreadId, change: CodexStateChange): Promise<void> {
    try {
      await updateCodexState(this.codexDbs, threadId, change);
    } catch (e) {
      this.warn('codex_state', threadId, `Codex's ${this.codexDbs.state} was not updated (${change.kind})`, e);
    }
  }

  /**
   * Appends the name of the file's last name patch to session_index.jsonl when it never got
   * there (a crash between the patch line and its mirror), so Codex sees the same name.
   */
  private async repairNameMirror(threadId: ThreadId): Promise<void> {
    const gap = this.index.nameMirrorGap(threadId);
    if (!gap) return;
    try {
      await this.mirrorName(threadId, gap.name, gap.at);
    } catch (e) {
      this.warn('name_index', threadId, 'the name in the rollout could not be copied to session_index.jsonl', e);
    }
  }

  /** session_index.jsonl: a name is appended; a cleared name has its lines removed. */
  private async mirrorName(threadId: ThreadId, name: string | null, at: Date): Promise<void> {
    if (name === null) await removeSessionNames(this.layout, threadId);
    else await appendSessionName(this.layout, threadId, name, at, this.fsync === 'always');
  }

  /** Takes the thread's writer lock with Codex's protocol (see internal/lock.ts). */
  private lockWriter(threadId: ThreadId): Promise<WriterLock> {
    return WriterLock.acquire(this.layout.locks, threadId);
  }

  private writer(threadId: ThreadId): Writer {
    const w = this.writers.get(threadId);
    if (!w)
      throw new ThreadStoreError(
        'not_found',
        `thread ${threadId} has no live writer in this store; create or resume it first`,
      );
    return w;
  }

  /** Brings the index up to date for one thread and returns where it lives (or null). */
  private async locate(threadId: ThreadId): Promise<LocatedThread | null> {
    const w = this.writers.get(threadId);
    if (w && !w.recorder.materialized && !w.newSegment) {
      // A live thread that has not materialized exists nowhere yet.
      return null;
    }
    await this.freshness.pendingChanges();
    await this.index.refreshThread(threadId);
    return this.index.locate(threadId);
  }

  private archivedNotFound(threadId: string): ThreadStoreError {
    return new ThreadStoreError(
      'not_found',
      `thread ${threadId} is archived; pass includeArchived: true or unarchive it first`,
    );
  }

  /**
   * Finds the file of a rollout id (a `history_base` target): a thread's first file carries the
   * thread id; a later segment is found by the id after the `_` in its name.
   */
  private readonly resolveParent: ParentResolver = async (rolloutId) => {
    const id = rolloutId as ThreadId;
    await this.freshness.pendingChanges();
    await this.index.refreshThread(id);
    const file = this.index.rolloutFile(id);
    return file ? { path: file.abs, zst: file.zst } : null;
  };

  /** A thread's current file (its newest segment), for a fork's parent. */
  private readonly currentFile: ParentResolver = async (threadId) => {
    const loc = await this.locate(threadId as ThreadId);
    if (!loc) return null;
    const t = this.appendTarget(loc);
    return { path: t.abs, zst: t.zst };
  };

  /**
   * The file a writer appends to: for a paginated thread, the segment Codex's state names (when
   * it exists), else the index's choice (the newest segment).
   */
  private appendTarget(loc: LocatedThread): { abs: string; zst: boolean } {
    if (loc.thread.historyMode === 'paginated') {
      const named = codexRolloutPath(this.codexDbs.state, loc.thread.threadId);
      if (named && this.layout.contains(named)) return { abs: named, zst: named.endsWith('.zst') };
    }
    return { abs: loc.abs, zst: loc.zst };
  }

  /** The rollout id of a file (Codex keys its projection by it). */
  private rolloutIdOf(file: string, threadId: string): string {
    return parseRolloutFileName(path.basename(file))?.rolloutId ?? threadId;
  }

  private historyOf(loc: { abs: string; zst: boolean }, counts?: LineCounts): AsyncIterable<RolloutItem> {
    const opts: Parameters<typeof readHistory>[1] = { zst: loc.zst, resolveParent: this.resolveParent };
    if (counts) opts.counts = counts;
    return readHistory(loc.abs, opts);
  }

  // ---- live writers --------------------------------------------------------------------------

  async createThread(params: CreateThreadParams): Promise<void> {
    const threadId = parseThreadId(params?.threadId);
    return this.guard('createThread', () =>
      this.serial(threadId, async () => {
        const md = params.metadata;
        if (!isObject(md)) throw ThreadStoreError.invalidRequest('createThread needs metadata: { cwd, modelProvider }');
        if (typeof md.cwd !== 'string' || md.cwd === '')
          throw ThreadStoreError.invalidRequest(
            'metadata.cwd must be a non-empty path: the local store records where the thread runs',
          );
        if (typeof md.modelProvider !== 'string' || md.modelProvider === '')
          throw ThreadStoreError.invalidRequest('metadata.modelProvider must be a non-empty string');
        if (!isObject(params.source) || typeof params.source.kind !== 'string')
          throw ThreadStoreError.invalidRequest('createThread needs a source, e.g. { kind: "cli" }');
        checkSessionMeta(params, threadId);
        const rawMeta = params.sessionMeta;
        const mode =
          rawMeta?.payload.history_mode === 'paginated' ? 'paginated' : (params.historyMode ?? this.historyMode);
        if (mode !== 'legacy' && mode !== 'paginated')
          throw ThreadStoreError.invalidRequest('historyMode must be "legacy" or "paginated"');
        if (params.forkBase !== undefined && mode !== 'paginated')
          throw ThreadStoreError.unsupported(
            'a fork by reference',
            'only paginated rollouts reference their parent; copy the history into a legacy fork',
          );
        const createdAt = checkThreadDate(params.createdAt ?? new Date(), 'createdAt');
        if (this.writers.has(threadId))
          throw ThreadStoreError.conflict(`thread ${threadId} already has a live writer in this store`);
        const lock = await this.lockWriter(threadId);
        try {
          // A file of the thread the index knows (after the changes since the last call), or a
          // file at the very path the new one would take.
          await this.freshness.pendingChanges();
          await this.index.refreshThread(threadId);
          const file = this.layout.newRolloutPath(createdAt, threadId);
          if (this.index.filesOf(threadId).length > 0 || existsSync(file) || existsSync(`${file}.zst`))
            throw ThreadStoreError.conflict(`thread ${threadId} already exists; resume it instead of creating it`);
          const payload = sessionMetaPayloadFor(params, createdAt, {
            originator: this.originator,
            cliVersion: this.cliVersion,
          });
          let firstOrdinal = 0;
          const given = historyBaseOf(rawMeta);
          if (given) {
            await checkGivenForkBase(given, this.resolveParent);
            firstOrdinal = given.endOrdinalExclusive;
          } else if (mode === 'paginated') {
            payload.history_mode = 'paginated';
            if (params.forkBase !== undefined) {
              const base = await paginatedForkBase(params.forkBase, this.currentFile, this.resolveParent);
              payload.forked_from_id = params.forkedFromId ?? params.forkBase.threadId;
              payload.forked_from_ordinal_exclusive = base.endOrdinalExclusive;
              payload.history_base = {
                thread_id: base.rolloutId,
                end_ordinal_exclusive: base.endOrdinalExclusive,
                end_byte_offset: base.endByteOffset,
              };
              firstOrdinal = base.endOrdinalExclusive;
            }
          }
          // A given session_meta is written as it is (a thread moved from another store).
          const recorder = RolloutRecorder.forNewFile(
            file,
            this.recorderOptions(mode, threadId),
            (rawMeta as Record<string, unknown> | undefined) ?? { type: 'session_meta', payload },
            typeof rawMeta?.timestamp === 'string' ? rawMeta.timestamp : createdAt.toISOString(),
            firstOrdinal,
          );
          this.writers.set(threadId, { threadId, lock, recorder, shape: { threadId, turnId: null } });
        } catch (e) {
          await lock.release();
          throw e;
        }
      }),
    );
  }

  async resumeThread(params: ResumeThreadParams): Promise<void> {
    const threadId = parseThreadId(params?.threadId);
    return this.guard('resumeThread', () =>
      this.serial(threadId, async () => {
        if (this.writers.has(threadId))
          throw ThreadStoreError.conflict(`thread ${threadId} already has a live writer in this store`);
        const lock = await this.lockWriter(threadId);
        try {
          const loc = await this.locate(threadId);
          if (!loc) throw ThreadStoreError.notFound(threadId);
          if (loc.archived && params.includeArchived !== true) throw this.archivedNotFound(threadId);
          await this.repairNameMirror(threadId);
          if (params.segment !== undefined) {
            const recorder = await this.segmentRecorder(loc, params.segment);
            const newSegment = { file: recorder.path, recorded: false };
            this.writers.set(threadId, { threadId, lock, recorder, shape: { threadId, turnId: null }, newSegment });
            return;
          }
          const target = this.appendTarget(loc);
          const file = target.zst ? await this.decompressInPlace(target.abs) : target.abs;
          const mode = loc.thread.historyMode;
          const recorder = await RolloutRecorder.resume(
            file,
            this.recorderOptions(mode, this.rolloutIdOf(file, threadId)),
          );
          this.writers.set(threadId, { threadId, lock, recorder, shape: { threadId, turnId: null } });
        } catch (e) {
          await lock.release();
          throw e;
        }
      }),
    );
  }

  /**
   * The recorder of a new segment (see `NewSegment`): checked against the thread's rollouts and
   * the home (a rollout id no thread or segment has, a cut that exists), written at the first
   * persist or flush to `rollout-<stamp>-<thread>_<rollout>.jsonl` beside a new thread's file.
   */
  private async segmentRecorder(loc: LocatedThread, segment: unknown): Promise<RolloutRecorder> {
    const threadId = loc.thread.threadId;
    const seg = checkNewSegment(threadId, loc.thread.historyMode === 'paginated', this.rolloutsOf(loc), segment);
    await this.index.refreshThread(seg.rolloutId);
    if (this.index.filesOf(seg.rolloutId).length > 0 || this.index.changes.segmentFile(seg.rolloutId))
      throw ThreadStoreError.conflict(`rollout id ${seg.rolloutId} is already used in this home; pick a new one`);
    await checkGivenForkBase(seg.base, this.resolveParent);
    const file = this.layout.newSegmentPath(segmentTime(seg.meta), threadId, seg.rolloutId);
    if (existsSync(file) || existsSync(`${file}.zst`))
      throw ThreadStoreError.conflict(`a rollout file is already at ${file}`);
    return RolloutRecorder.forNewFile(
      file,
      this.recorderOptions('paginated', seg.rolloutId),
      seg.meta as unknown as Record<string, unknown>,
      typeof seg.meta.timestamp === 'string' ? seg.meta.timestamp : new Date().toISOString(),
      seg.base.endOrdinalExclusive,
    );
  }

  /** The thread's rollouts and their files, oldest first. */
  private rolloutsOf(loc: LocatedThread): RolloutFile[] {
    return rolloutFiles(this.index.filesOf(loc.thread.threadId), loc.thread.threadId, loc.archived);
  }

  /** Once a new segment is on disk, Codex's state names it as the thread's rollout (appends go there). */
  private async segmentWritten(w: Writer): Promise<void> {
    if (!w.newSegment || w.newSegment.recorded || !w.recorder.materialized) return;
    w.newSegment.recorded = true;
    await this.updateCodexState(w.threadId, { kind: 'segment', rolloutPath: w.newSegment.file });
  }

  /** How a writer of this store writes a rollout of `mode` (paginated ones keep Codex's projection current). */
  private recorderOptions(mode: HistoryMode, rolloutId: string): RecorderOptions {
    const opts: RecorderOptions = { fsync: this.fsync, mode, maxBufferedBytes: this.maxBufferedBytes };
    if (mode === 'paginated') {
      const db = this.codexDbs.history;
      opts.onWritten = (lines, before) => {
        projectAppended(db, rolloutId, lines, before);
      };
    }
    return opts;
  }

  private decompressInPlace(zstPath: string): Promise<string> {
    return decompressInPlace(zstPath, this.fsync);
  }

  async appendItems(params: AppendItemsParams): Promise<void> {
    const threadId = parseThreadId(params?.threadId);
    return this.guard('appendItems', async () => {
      const w = this.writer(threadId);
      if (!Array.isArray(params.items))
        throw ThreadStoreError.invalidRequest('items must be an array of rollout items');
      params.items.forEach((item, i) => {
        const problem = rolloutItemProblem(item);
        if (problem) throw ThreadStoreError.invalidRequest(`item ${i}: ${problem}`);
      });
      const now = nowIso();
      const shape = { ...w.shape };
      const shaped = shapeForMode(params.items, w.recorder.mode, shape);
      if (shaped.length === 0) return;
      try {
        w.recorder.appendItems(shaped as unknown as Record<string, unknown>[], (item) =>
          typeof item.timestamp === 'string' ? item.timestamp : now,
        );
      } catch (e) {
        if (isThreadStoreError(e)) throw e;
        throw ThreadStoreError.invalidRequest(`an item cannot be written as JSON: ${(e as Error).message}`);
      }
      // The turn moves on only once the batch was accepted.
      w.shape.turnId = shape.turnId;
    });
  }

  async persistThread(threadId: ThreadId): Promise<void> {
    const id = parseThreadId(threadId);
    return this.guard('persistThread', async () => {
      const w = this.writer(id);
      await w.recorder.persist();
      this.wrote(w.recorder.path);
      await this.segmentWritten(w);
    });
  }

  async flushThread(threadId: ThreadId): Promise<void> {
    const id = parseThreadId(threadId);
    return this.guard('flushThread', async () => {
      const w = this.writer(id);
      const file = w.recorder.path;
      const f = this.flushing.get(file) ?? { recorder: w.recorder, n: 0 };
      f.n += 1;
      this.flushing.set(file, f);
      try {
        await this.commits.flush(w.recorder);
      } finally {
        if (--f.n === 0 && this.flushing.get(file) === f) this.flushing.delete(file);
      }
      this.wrote(file);
      await this.segmentWritten(w);
    });
  }

  async shutdownThread(threadId: ThreadId): Promise<void> {
    const id = parseThreadId(threadId);
    return this.guard('shutdownThread', async () => {
      const w = this.writer(id);
      this.writers.delete(id);
      try {
        await w.recorder.shutdown();
        await this.segmentWritten(w);
      } finally {
        await w.lock.release();
        this.wrote(w.recorder.path);
      }
    });
  }

  async discardThread(threadId: ThreadId): Promise<void> {
    const id = parseThreadId(threadId);
    return this.guard('discardThread', async () => {
      const w = this.writers.get(id);
      if (!w) return;
      this.writers.delete(id);
      try {
        await w.recorder.discard();
      } finally {
        await w.lock.release();
      }
    });
  }

  // ---- reads ---------------------------------------------------------------------------------

  async *loadHistory(params: LoadHistoryParams): AsyncGenerator<RolloutItem> {
    const loc = await this.historyToLoad(params);
    if (params.rolloutId === undefined) yield* this.readingErrors(loc, this.historyOf(loc));
    else {
      const own = this.ownRollout(loc, params.rolloutId);
      yield* this.readingErrors(loc, readHistory(own.abs, { zst: own.zst }));
    }
  }

  /** The thread's rollouts, oldest first (see `ThreadSegment`). */
  async listSegments(params: ListSegmentsParams): Promise<ThreadSegment[]> {
    const threadId = parseThreadId(params?.threadId);
    return this.guard(
      'listSegments',
      async () => segmentsOf(this.rolloutsOf(await this.readable(threadId, params.includeArchived === true))),
      true,
    );
  }

  /** The file of one of the thread's rollouts (`loadHistory` with `rolloutId`). */
  private ownRollout(loc: LocatedThread, rolloutId: unknown): RolloutFile {
    return rolloutFile(this.rolloutsOf(loc), loc.thread.threadId, parseThreadId(rolloutId, 'rolloutId'));
  }

  /**
   * The history of `loadHistory` as each item's rollout line, exactly as the file holds it (a
   * server sends it on without parsing it again).
   */
  async *loadHistoryJson(params: LoadHistoryParams): AsyncGenerator<string> {
    const loc = await this.historyToLoad(params);
    const own = params.rolloutId === undefined ? null : this.ownRollout(loc, params.rolloutId);
    const lines = own
      ? readHistoryLines(own.abs, { zst: own.zst })
      : readHistoryLines(loc.abs, { zst: loc.zst, resolveParent: this.resolveParent });
    for await (const line of this.readingErrors(loc, lines)) yield line.text;
  }

  private async historyToLoad(params: LoadHistoryParams): Promise<LocatedThread> {
    try {
      this.ensureOpen();
      const threadId = parseThreadId(params?.threadId);
      const loc = await this.keeper.recovering('loadHistory', () => this.locate(threadId), true);
      if (!loc) throw ThreadStoreError.notFound(threadId);
      if (loc.archived && params.includeArchived !== true) throw this.archivedNotFound(threadId);
      return loc;
    } catch (e) {
      throw toThreadStoreError(e, 'loadHistory');
    }
  }

  private async *readingErrors<T>(loc: LocatedThread, items: AsyncIterable<T>): AsyncGenerator<T> {
    try {
      yield* items;
    } catch (e) {
      throw isThreadStoreError(e)
        ? e
        : ThreadStoreError.internal(`reading ${loc.abs} failed: ${(e as Error).message}`, e);
    }
  }

  async readThread(params: ReadThreadParams): Promise<StoredThreadWithHistory> {
    const threadId = parseThreadId(params?.threadId);
    return this.guard(
      'readThread',
      async () => {
        const loc = await this.locate(threadId);
        if (!loc) throw ThreadStoreError.notFound(threadId);
        if (loc.archived && params.includeArchived !== true) throw this.archivedNotFound(threadId);
        const out: StoredThreadWithHistory = { ...loc.thread };
        if (params.includeHistory === true) out.history = this.historyOf(loc);
        return out;
      },
      true,
    );
  }

  async readThreadByRolloutPath(params: ReadThreadByRolloutPathParams): Promise<StoredThreadWithHistory> {
    return this.guard(
      'readThreadByRolloutPath',
      async () => {
        const given = params?.rolloutPath;
        if (typeof given !== 'string' || given === '' || given.includes('\0'))
          throw ThreadStoreError.invalidRequest('rolloutPath must be a non-empty path');
        let abs = path.isAbsolute(given) ? path.normalize(given) : path.join(this.home, given);
        let st = await stat(abs).catch(() => null);
        if (!st && !abs.endsWith('.zst')) {
          const z = `${abs}.zst`;
          const zst = await stat(z).catch(() => null);
          if (zst) {
            abs = z;
            st = zst;
          }
        }
        if (!st) throw new ThreadStoreError('not_found', `no rollout file at ${given}`);
        if (!st.isFile()) throw ThreadStoreError.invalidRequest(`${given} is not a rollout file`);
        if (!this.layout.contains(abs))
          throw ThreadStoreError.invalidRequest(
            `${given} is outside the store's home ${this.home}; only files inside it can be read`,
          );
        const real = realpathSync(abs);
        if (!parseRolloutFileName(path.basename(real)))
          throw ThreadStoreError.invalidRequest(`${given} is not named like a rollout (rollout-<time>-<uuid>.jsonl)`);
        const loc = await this.index.refreshFile(real);
        if (!loc) throw new ThreadStoreError('not_found', `no rollout file at ${given}`);
        if (loc.archived && params.includeArchived !== true) throw this.archivedNotFound(loc.thread.threadId);
        const out: StoredThreadWithHistory = { ...loc.thread };
        if (params.includeHistory === true) out.history = this.historyOf(loc);
        return out;
      },
      true,
    );
  }

  async listThreads(params: ListThreadsParams = {}): Promise<ThreadPage> {
    return this.guard(
      'listThreads',
      async () => {
        const p = normalizeListParams(params ?? {}, this.defaultModelProvider);
        this.keeper.scheduleIntegrityCheck();
        const early = await this.freshness.firstPageBeforeIndex(p, params?.cursor);
        if (early) return early;
        await this.freshness.beforeListing(this.onIndexProgress);
        const index = this.index;
        return index.snapshot(() => {
          const page = index.listPage(p, STORE_KIND, params?.cursor);
          return { ...page, items: page.items.map((i) => i.thread) };
        });
      },
      true,
    );
  }

  async countThreads(params: CountThreadsParams): Promise<number> {
    return this.aggregate('countThreads', params, (index, p) => index.countThreads(p));
  }

  /**
   * The bytes on disk of the rollout files of the threads `countThreads` counts with the same
   * filters (a compressed file counts as its compressed size). Answered from the index, which
   * records each file's size when it indexes it: no file is read or stat'ed.
   */
  async rolloutBytes(params: CountThreadsParams = {}): Promise<number> {
    return this.aggregate('rolloutBytes', params, (index, p) => index.rolloutBytes(p));
  }

  /** One aggregate over the threads a listing's filters match, on a fresh index. */
  private aggregate(
    method: string,
    params: CountThreadsParams,
    read: (index: ThreadIndex, p: NormalizedListParams) => number,
  ): Promise<number> {
    return this.guard(
      method,
      async () => {
        const p = normalizeCountParams(params ?? {}, this.defaultModelProvider);
        await this.freshness.beforeListing(this.onIndexProgress);
        const index = this.index;
        return index.snapshot(() => read(index, p));
      },
      true,
    );
  }

  async searchThreads(params: SearchThreadsParams): Promise<ThreadSearchPage> {
    return this.guard(
      'searchThreads',
      async () => {
        const term = params?.searchTerm;
        if (typeof term !== 'string' || term.trim() === '')
          throw ThreadStoreError.invalidRequest('searchTerm must be non-empty text to look for in messages');
        // The term is part of the cursor fingerprint, but it matches content, not names.
        const p = normalizeListParams(params as ListThreadsParams, this.defaultModelProvider);
        const filters = { ...p, searchTerm: null };
        this.keeper.scheduleIntegrityCheck();
        await this.freshness.beforeListing(this.onIndexProgress);
        const index = this.index;
        return index.snapshot(() => index.listPage(filters, STORE_KIND, params.cursor, term));
      },
      true,
    );
  }

  async listTurns(params: ListTurnsParams): Promise<TurnPage> {
    return this.guard(
      'listTurns',
      async () => {
        const p = normalizeListTurnsParams(params);
        const loc = await this.readable(p.threadId, p.includeArchived);
        const index = this.index;
        const segments = await index.turnSegments(loc, (id) => index.refreshThread(id));
        return localTurnPage(index, segments, p, STORE_KIND, this.writers.has(p.threadId));
      },
      true,
    );
  }

  async listItems(params: ListItemsParams): Promise<ItemPage> {
    return this.guard(
      'listItems',
      async () => {
        const p = normalizeListItemsParams(params);
        const loc = await this.readable(p.threadId, p.includeArchived);
        const index = this.index;
        const segments = await index.turnSegments(loc, (id) => index.refreshThread(id));
        return localItemPage(index, segments, p, STORE_KIND);
      },
      true,
    );
  }

  /** Where a thread is read from; not_found when missing, or archived and not included. */
  private async readable(threadId: ThreadId, includeArchived: boolean): Promise<LocatedThread> {
    const loc = await this.locate(threadId);
    if (!loc) throw ThreadStoreError.notFound(threadId);
    if (loc.archived && !includeArchived) throw this.archivedNotFound(threadId);
    return loc;
  }

  /** Brings the index up to date now (`rebuild`: from scratch), reporting progress. */
  async indexNow(options: IndexNowOptions = {}): Promise<void> {
    return this.guard(
      'indexNow',
      async () => {
        if (options.rebuild === true) this.index.clear();
        await this.index.syncAll(options.onProgress ?? this.onIndexProgress);
      },
      true,
    );
  }

  // ---- mutations -----------------------------------------------------------------------------

  async updateThreadMetadata(params: UpdateThreadMetadataParams): Promise<StoredThread> {
    const threadId = parseThreadId(params?.threadId);
    return this.guard('updateThreadMetadata', () =>
      this.serial(threadId, async () => {
        const patch = params.patch;
        validatePatch(patch);
        if (patch.updatedAt instanceof Date) await assertMtimeKept(this.home, patch.updatedAt);
        const w = this.writers.get(threadId);
        if (w && !w.recorder.materialized) await w.recorder.persist();
        const loc = await this.locate(threadId);
        if (!loc) throw ThreadStoreError.notFound(threadId);
        if (loc.archived && params.includeArchived !== true) throw this.archivedNotFound(threadId);

        await this.repairNameMirror(threadId);
        const { name, ...rest } = patch;
        // A cleared name needs the line too when the file itself records a name.
        const needsLine =
          Object.values(rest).some((v) => v !== undefined) ||
          (name === null && this.index.nameInFile(threadId) !== null);
        // One timestamp for the patch line and its name mirror (see buildThread: a tie goes to
        // the mirror, which says the same).
        const at = new Date();
        if (needsLine) {
          // The whole patch, name included, in one line written with one write(): the point at
          // which it is durable. session_index.jsonl then mirrors the name for Codex.
          await this.appendPatchLine(threadId, loc, patch, w, at);
          if (name !== undefined)
            await this.mirrorName(threadId, name, at).catch((e: unknown) =>
              this.warn(
                'name_index',
                threadId,
                'the name is saved in the rollout but not yet in session_index.jsonl (done on the next resume or update)',
                e,
              ),
            );
        } else if (name !== undefined) {
          // A name alone is one session_index.jsonl change, whole by itself: what Codex does.
          await this.mirrorName(threadId, name, at);
        }
        if (name !== undefined) await this.updateCodexState(threadId, { kind: 'rename', name });
        const after = await this.locate(threadId);
        if (!after) throw ThreadStoreError.notFound(threadId);
        return after.thread;
      }),
    );
  }

  /**
   * Appends the patch as a `session_meta`-shaped line (see patch-line.ts). Git info and memory
   * mode go into the line's own `git` / `memory_mode` fields, the way Codex records them. The file
   * keeps its mtime (updatedAt) unless the patch sets updatedAt.
   */
  private async appendPatchLine(
    threadId: ThreadId,
    loc: LocatedThread,
    patch: ThreadMetadataPatch,
    w: Writer | undefined,
    at: Date,
  ): Promise<void> {
    const first = await readFirstItem(loc.abs, loc.zst);
    const { item, paginated } = patchLineItem(first, loc.thread, patch);
    const { updatedAt } = patch;
    const stamp = at.toISOString();
    const mtime = updatedAt ?? loc.thread.updatedAt;

    if (w) {
      w.recorder.appendItems([item], () => stamp, !paginated);
      await w.recorder.flush();
      await utimes(w.recorder.path, new Date(), mtimeSeconds(mtime));
      return;
    }
    const lock = await this.lockWriter(threadId);
    try {
      const target = this.appendTarget(loc);
      const file = target.zst ? await this.decompressInPlace(target.abs) : target.abs;
      const recorder = await RolloutRecorder.resume(
        file,
        this.recorderOptions(loc.thread.historyMode, this.rolloutIdOf(file, threadId)),
      );
      try {
        recorder.appendItems([item], () => stamp, !paginated);
      } finally {
        await recorder.shutdown();
      }
      await utimes(file, new Date(), mtimeSeconds(mtime));
    } finally {
      await lock.release();
    }
  }

  /** A live writer here: conflict once it has materialized, not_found before (nothing exists yet). */
  private refuseLiveWriter(threadId: ThreadId, what: string): void {
    const w = this.writers.get(threadId);
    if (!w) return;
    if (!w.recorder.materialized) throw ThreadStoreError.notFound(threadId);
    throw ThreadStoreError.conflict(
      `thread ${threadId} has a live writer in this store; shut it down before you ${what} it`,
    );
  }

  async archiveThread(params: ArchiveThreadParams): Promise<void> {
    const threadId = parseThreadId(params?.threadId);
    return this.guard('archiveThread', () =>
      this.serial(threadId, async () => {
        this.refuseLiveWriter(threadId, 'archive');
        const loc = await this.locate(threadId);
        if (!loc) throw ThreadStoreError.notFound(threadId);
        if (loc.archived) return;
        const lock = await this.lockWriter(threadId);
        try {
          const files = this.index.filesOf(threadId).filter((x) => !x.archived);
          const moved = await archiveFiles(this.layout, files, this.fsync);
          await this.updateCodexState(threadId, { kind: 'archive', rolloutPath: moved.rolloutPath, at: new Date() });
          await this.index.syncPaths(moved.paths);
        } finally {
          await lock.release();
        }
      }),
    );
  }

  async unarchiveThread(params: ArchiveThreadParams): Promise<StoredThread> {
    const threadId = parseThreadId(params?.threadId);
    return this.guard('unarchiveThread', () =>
      this.serial(threadId, async () => {
        this.refuseLiveWriter(threadId, 'unarchive');
        const loc = await this.locate(threadId);
        if (!loc) throw ThreadStoreError.notFound(threadId);
        if (!loc.archived) return loc.thread;
        const lock = await this.lockWriter(threadId);
        try {
          const now = new Date();
          const files = this.index.filesOf(threadId).filter((x) => x.archived);
          const moved = await unarchiveFiles(this.layout, files, this.fsync, now);
          await this.updateCodexState(threadId, { kind: 'unarchive', rolloutPath: moved.rolloutPath, at: now });
          await this.index.syncPaths(moved.paths);
        } finally {
          await lock.release();
        }
        const after = this.index.locate(threadId);
        if (!after) throw ThreadStoreError.notFound(threadId);
        return { ...after.thread, archivedAt: null };
      }),
    );
  }

  async deleteThread(params: DeleteThreadParams): Promise<void> {
    const threadId = parseThreadId(params?.threadId);
    return this.guard('deleteThread', () =>
      this.serial(threadId, async () => {
        this.refuseLiveWriter(threadId, 'delete');
        await this.freshness.pendingChanges();
        await this.index.refreshThread(threadId);
        const files = new Set(this.index.filesOf(threadId).map((f) => f.abs));
        if (files.size === 0) {
          await removeSessionNames(this.layout, threadId);
          throw ThreadStoreError.notFound(threadId);
        }
        const lock = await this.lockWriter(threadId);
        try {
          for (const f of files) {
            if (!this.layout.contains(f)) continue;
            const plain = plainRolloutPath(f);
            for (const victim of [plain, `${plain}.zst`]) {
              await unlink(victim).catch((e: { code?: string }) => {
                if (e.code !== 'ENOENT') throw e;
              });
              this.index.forgetFile(this.layout.rel(victim));
            }
          }
          this.index.rebuildThreads([threadId]);
          await removeSessionNames(this.layout, threadId);
          await this.updateCodexState(threadId, { kind: 'delete' });
        } finally {
          await lock.release();
        }
      }),
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.closing.abort();
    await this.keeper.stop();
    await this.freshness.close();
    // Calls already under way finish first (a resume may still be taking its lock); new calls
    // are refused. Only then are the writers, and with them every lock, released.
    while (this.inflight.size > 0) await Promise.all([...this.inflight]);
    const errors: unknown[] = [];
    for (const w of [...this.writers.values()]) {
      this.writers.delete(w.threadId);
      try {
        await w.recorder.shutdown();
      } catch (e) {
        errors.push(e);
      } finally {
        await w.lock.release();
      }
    }
    await this.writtenIndex.idle();
    await this.keeper.close();
    if (errors.length > 0) throw toThreadStoreError(errors[0], 'close');
  }
}
