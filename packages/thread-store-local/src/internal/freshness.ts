import type { NormalizedListParams, ThreadPage } from '@skein/thread-store-api';
import type { IndexProgressListener, ThreadIndex } from './indexer.js';
import type { HomeWatcher } from './watcher.js';

/** How long after a listing the background sweep starts (see scheduleSweep). */
const SWEEP_DELAY_MS = 250;
/**
 * How far past the start of its day folder a thread's creation time can lie: the folder is the
 * creation day in the writer's local time (UTC-12 to UTC+14), so at most 36 h; 48 h to be safe.
 */
const FOLDER_SLACK_MS = 48 * 3600_000;

/**
 * Lets libuv's poll phase read the inotify queue: a change another process completed before this
 * call has queued its event already, so the watcher's dirty list holds it afterwards. Two turns:
 * when this runs in the poll phase (after an fs callback), the first immediate fires in the same
 * iteration's check phase, before any new poll; an immediate queued from the check phase fires
 * only in the next iteration, after its poll phase has read the queue.
 */
async function drainWatchEvents(): Promise<void> {
  await new Promise<void>((resolve) => setImmediate(resolve));
  await new Promise<void>((resolve) => setImmediate(resolve));
}

/** What the store lends its freshness: the current index and watcher (both replaced on damage). */
export interface FreshnessHost {
  index(): ThreadIndex;
  watcher(): HomeWatcher | null;
  closed(): boolean;
  readonly signal: AbortSignal;
  readonly onProgress: IndexProgressListener | undefined;
  readonly fullSweepIntervalMs: number;
  readonly storeKind: string;
  /** How the safety-net sweep yields: a turn, then a (bounded) wait for calls in progress. */
  giveWay(): Promise<void>;
}

/**
 * When and how the store's index catches up with the home before a call: the changes since the
 * last call (O(changes)), the early first page of a never-indexed home, and the background
 * passes (the cold pass after an early page, the safety-net sweep), which `close` stops.
 */
export class Freshness {
  private readonly host: FreshnessHost;
  /** The folder scan under way (concurrent calls share it). */
  private scanning: Promise<void> | null = null;
  /** Calls of pendingChanges so far; each call is numbered when it starts. */
  private calls = 0;
  /**
   * The number of calls started before the last scan that completed began: every call up to it
   * is covered by that scan (it looked at the home after the call started), so a call that
   * started with another one and finds the scan already done does not scan again.
   */
  private scannedThrough = 0;
  private sweepTimer: NodeJS.Timeout | null = null;
  private sweepRun: Promise<void> | null = null;
  /** The background pass that indexes a never-indexed home after an early first page. */
  private coldRun: Promise<void> | null = null;

  constructor(host: FreshnessHost) {
    this.host = host;
  }

  /**
   * Brings the index up to date before a listing or search: the changes since the last call
   * (see pendingChanges). Without a watch (`watch: false`) the whole home is walked and stat-ed
   * instead. A full sweep, a safety net for changes nothing reported, runs in the background
   * when the last one is older than `fullSweepIntervalMs`; it is never waited for.
   */
  async beforeListing(onProgress: IndexProgressListener | undefined): Promise<void> {
    const index = this.host.index();
    if (!this.host.watcher()) return index.syncAll(onProgress);
    await this.pendingChanges(onProgress);
    this.scheduleSweep();
  }

  /**
   * The first page of a listing newest-created first, on a home never indexed in full: the day
   * folders are indexed newest first until the page is certain — it is full, has a next item,
   * and its oldest thread was created more than FOLDER_SLACK_MS after the start of the newest
   * day folder not read yet (a thread's creation time lies within a day and a half of its
   * folder's day: Codex and Skein name the folder after the creation day in the writer's local
   * time). The rest of the home is indexed in the background (see HomeSync.sweep), and every
   * other call waits for it. Null when this does not apply (the caller then indexes fully).
   */
  async firstPageBeforeIndex(p: NormalizedListParams, cursor: string | null | undefined): Promise<ThreadPage | null> {
    const index = this.host.index();
    if (!this.host.watcher() || index.changes.complete || (cursor ?? null) !== null) return null;
    if (p.sortKey !== 'createdAt' || p.sortDirection !== 'desc' || p.archived) return null;
    const folders = index.changes.datedFolders();
    for (let done = 0, step = 1; ; step *= 2) {
      const batch = folders.slice(done, done + step);
      await index.changes.indexFolders(
        batch.map((f) => f.abs),
        this.host.onProgress,
      );
      done += batch.length;
      if (index.changes.complete) return null; // another pass finished meanwhile
      if (index.changes.hasForkOfUnindexed()) return null;
      const page = index.snapshot(() => index.listPage(p, this.host.storeKind, null));
      const next = folders[done];
      const last = page.items[page.items.length - 1];
      if (next && !(page.nextCursor !== null && last && last.thread.createdAt.getTime() > next.dayMs + FOLDER_SLACK_MS))
        continue;
      // The rest of the home is indexed in the background.
      this.coldRun ??= index.changes
        .sweep(this.host.signal, this.host.onProgress)
        .catch(() => undefined)
        .finally(() => {
          this.coldRun = null;
        });
      return { ...page, items: page.items.map((i) => i.thread) };
    }
  }

  /**
   * Brings the index up to date with the changes made since the last call, at a cost that grows
   * with the changes, not with the threads: the files the watch reported, or, when the watch
   * cannot vouch for them (just opened, overflowed, a folder appeared), a scan of folder mtimes,
   * recently modified files and Codex's state DB (see change-scan.ts), which also adds the
   * watches. A home never indexed in full is indexed in full first.
   */
  async pendingChanges(onProgress?: IndexProgressListener): Promise<void> {
    const call = ++this.calls;
    const index = this.host.index();
    const watcher = this.host.watcher();
    if (watcher) await drainWatchEvents();
    if (!index.changes.complete) {
      // A first page was answered early: the background pass indexes the rest.
      await this.coldRun;
      if (!index.changes.complete) await index.syncAll(onProgress);
    } else if (watcher?.healthy) {
      // Names are checked with one stat of session_index.jsonl in every pass, dirty files or not.
      return index.syncPaths(watcher.takeDirty(), onProgress);
    } else if (this.scanning || this.scannedThrough < call) {
      if (!this.scanning) {
        const through = this.calls;
        this.scanning = index.changes
          .syncChanges(onProgress)
          .then(() => {
            this.scannedThrough = Math.max(this.scannedThrough, through);
          })
          .finally(() => {
            this.scanning = null;
          });
      }
      await this.scanning;
    }
    if (!watcher) return;
    // Events from watches just added (and from changes during the pass) are read now: a pass
    // already under way when this call came may have passed a folder before our change.
    await drainWatchEvents();
    if (!watcher.healthy) return;
    const late = watcher.takeDirty();
    if (late.size > 0) await index.syncPaths(late, onProgress);
  }

  /**
   * Starts the background sweep (see HomeSync.sweep) when the last full look at the home is
   * older than `fullSweepIntervalMs`, or the watch lost events. Started a moment later, so a
   * short-lived process that answers one call and closes never starts it.
   */
  private scheduleSweep(): void {
    const index = this.host.index();
    const lost = this.host.watcher()?.takeLost() ?? false;
    if (this.sweepTimer || this.sweepRun || (!lost && !index.changes.sweepDue(this.host.fullSweepIntervalMs))) return;
    this.sweepTimer = setTimeout(() => {
      this.sweepTimer = null;
      if (this.host.closed()) return;
      this.sweepRun = index.changes
        .sweep(this.host.signal, this.host.onProgress, this.host.giveWay)
        .catch(() => undefined)
        .finally(() => {
          this.sweepRun = null;
        });
    }, SWEEP_DELAY_MS);
    this.sweepTimer.unref();
  }

  /** Stops the background passes (the host's signal is aborted first) and waits for them. */
  async close(): Promise<void> {
    if (this.sweepTimer) clearTimeout(this.sweepTimer);
    this.sweepTimer = null;
    await this.sweepRun;
    await this.coldRun;
  }
}
