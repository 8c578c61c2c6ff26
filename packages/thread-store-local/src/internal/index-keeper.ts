import { ThreadStoreError, toThreadStoreError } from '@skein/thread-store-api';
import type { IndexLag } from '../options.js';
import { isIndexCorruption, openIndexDb, reopenDamagedIndexDb } from './index-db.js';
import type { Db } from './index-db.js';
import { ThreadIndex } from './indexer.js';
import type { IndexProgressListener } from './indexer.js';
import { checkIndexIntegrity } from './integrity.js';
import type { IntegrityResult } from './integrity.js';
import type { HomeLayout } from './paths.js';
import { HomeWatcher } from './watcher.js';

/** How long after the first listing the background integrity check starts. */
const INTEGRITY_DELAY_MS = 1000;

export interface IndexKeeperOptions {
  layout: HomeLayout;
  defaultModelProvider: string;
  codexStateDb: string;
  /** Watch the home's folders while the index is open. */
  watch: boolean;
  /** Check the index once per open, in the background, after the first listing. */
  backgroundIntegrityCheck: boolean;
  /** Run large passes in the index worker (see ThreadIndex). */
  indexWorker: boolean;
  onIndexProgress: IndexProgressListener | undefined;
  /** Aborted when the store closes. */
  signal: AbortSignal;
  /** Files the watch leaves on its dirty list for now (see HomeWatcher.holdBack). */
  holdBack?: (abs: string) => boolean;
}

/**
 * The local store's SQLite index over its life: opened on first use with the home's watch,
 * replaced when it is found damaged (in a query, or by the background integrity check) and
 * rebuilt from the rollout files, and closed last.
 */
export class IndexKeeper {
  private readonly o: IndexKeeperOptions;
  private db: Db | null = null;
  private handle: ThreadIndex | null = null;
  private homeWatcher: HomeWatcher | null = null;
  /** Bumped when a damaged index is replaced, so a call can tell its index went away under it. */
  private generation = 0;
  private integrityScheduled = false;
  private integrityTimer: NodeJS.Timeout | null = null;
  private integrityRun: Promise<IntegrityResult> | null = null;
  private closed = false;

  constructor(options: IndexKeeperOptions) {
    this.o = options;
  }

  /** The index, opened on first use. */
  get index(): ThreadIndex {
    return this.handle ?? this.attach(openIndexDb(this.o.layout.indexDb).db);
  }

  /** The index if it is open (null before the first call that needed it). */
  get opened(): ThreadIndex | null {
    return this.handle;
  }

  /** The home's watch, once the index is open with `watch`. */
  get watcher(): HomeWatcher | null {
    return this.homeWatcher;
  }

  private attach(db: Db): ThreadIndex {
    const index = new ThreadIndex(
      this.o.layout,
      db,
      this.o.defaultModelProvider,
      this.o.codexStateDb,
      this.o.indexWorker,
    );
    this.db = db;
    this.handle = index;
    if (this.o.watch) {
      this.homeWatcher = new HomeWatcher(this.o.layout);
      this.homeWatcher.holdBack = this.o.holdBack ?? null;
      index.watcher = this.homeWatcher;
    }
    return index;
  }

  /**
   * A large index is not fully checked on open (see index-db.ts), so damage can surface in any
   * query: the connection is closed, the file moved aside and a fresh index opened, which the
   * next call fills from the rollout files. Synchronous, so no other call sees a half state.
   */
  private replaceDamaged(): void {
    this.homeWatcher?.close();
    this.homeWatcher = null;
    // The worker's connection is to the file moved aside: it is ended at once.
    void this.handle?.closeWorker(true);
    this.handle = null;
    try {
      this.db?.close();
    } catch {
      // A damaged file may fail to close cleanly; it is moved aside either way.
    }
    this.db = null;
    this.generation++;
    this.attach(reopenDamagedIndexDb(this.o.layout.indexDb));
  }

  /**
   * Runs an index operation; if it finds the index damaged (or another call replaced the index
   * under it), the index is replaced and a read-only operation runs once more. A mutation is not
   * redone, since its file write may already have happened: the caller is told to check and retry.
   */
  async recovering<T>(context: string, op: () => Promise<T>, redo: boolean): Promise<T> {
    const generation = this.generation;
    try {
      return await op();
    } catch (e) {
      const damaged = isIndexCorruption(e);
      const replaced = this.generation !== generation;
      if ((!damaged && !replaced) || this.closed) throw e;
      if (damaged && !replaced) this.replaceDamaged();
      if (redo) return await op();
      throw new ThreadStoreError(
        'unavailable',
        `${context}: the index was found damaged and has been replaced (it is rebuilt from the rollout files); check whether the change was applied and retry`,
        { cause: e },
      );
    }
  }

  /** Starts the background integrity check a moment after the first listing, once per open. */
  scheduleIntegrityCheck(): void {
    if (!this.o.backgroundIntegrityCheck || this.integrityScheduled) return;
    this.integrityScheduled = true;
    // A moment later: a short-lived process (one CLI command) answers and closes without it.
    this.integrityTimer = setTimeout(() => {
      this.integrityTimer = null;
      if (!this.closed) void this.checkIntegrity().catch(() => undefined);
    }, INTEGRITY_DELAY_MS);
    this.integrityTimer.unref();
  }

  /** See `LocalThreadStore.indexLag`. */
  lag(): IndexLag | null {
    if (this.closed || !this.homeWatcher) return null;
    const backlog = this.homeWatcher.backlog();
    return { pendingFiles: backlog.files, fullWalkPending: backlog.sweep, seconds: backlog.sinceMs / 1000 };
  }

  /** See `LocalThreadStore.checkIndexIntegrity`: a call while a check runs joins it. */
  checkIntegrity(): Promise<IntegrityResult> {
    this.integrityRun ??= this.runIntegrityCheck().finally(() => {
      this.integrityRun = null;
    });
    return this.integrityRun;
  }

  private async runIntegrityCheck(): Promise<IntegrityResult> {
    const index = this.index;
    const db = this.db as Db;
    const generation = this.generation;
    await index.whenIdle();
    let result: IntegrityResult;
    try {
      result = await checkIndexIntegrity(db, this.o.layout.indexDb, { signal: this.o.signal });
    } catch (e) {
      if (this.closed || this.generation !== generation) return { ok: true, problem: null, rowsChecked: 0 };
      if (!isIndexCorruption(e)) throw toThreadStoreError(e, 'checkIndexIntegrity');
      result = { ok: false, problem: (e as Error).message, rowsChecked: 0 };
    }
    if (!result.ok && !this.closed && this.generation === generation) {
      this.replaceDamaged();
      await this.index.syncAll(this.o.onIndexProgress);
    }
    return result;
  }

  /** Stops the background check and the watch (first step of the store's close). */
  async stop(): Promise<void> {
    this.closed = true;
    if (this.integrityTimer) clearTimeout(this.integrityTimer);
    await this.integrityRun?.catch(() => undefined);
  }

  /** Closes the watch and the index once no call uses them (last step of the store's close). */
  async close(): Promise<void> {
    this.homeWatcher?.close();
    this.homeWatcher = null;
    await this.handle?.whenIdle();
    await this.handle?.closeWorker();
    this.db?.close();
    this.db = null;
    this.handle = null;
  }
}
