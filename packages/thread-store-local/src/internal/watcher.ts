import { statSync, watch } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import path from 'node:path';
import { parseRolloutFileName } from './paths.js';
import type { HomeLayout } from './paths.js';

/** Watches added per event-loop turn by arm(). */
const ARM_SLICE = 64;

/**
 * How long after the scan that found them the watches of a just-opened store are added (see
 * armLater): a short-lived process that answers a call or two and closes never adds them.
 */
export const ARM_DELAY_MS = 250;

/** More dirty paths than this between two calls: a full sweep is cheaper than the list. */
const MAX_DIRTY = 5000;

/**
 * Watches the rollout folders (inotify through `fs.watch`) so that, while a store is open, a
 * listing re-indexes only the files that changed instead of walking and stat-ing the whole home.
 *
 * Watched: the home itself (for `sessions/` and `archived_sessions/` appearing or vanishing),
 * `sessions/` and every folder under it, and `archived_sessions/`. Folders are added by the full
 * sweep (`visitDir` is called for each folder it walks, before it is read, so a file created after
 * the read is reported by the new watch). A change that the dirty list cannot describe (a folder
 * created, removed or renamed, an event without a file name, a watch error, too many events) sets
 * `needsSweep`, and the next call walks everything again, re-adding watches as it goes.
 */
export class HomeWatcher {
  private readonly layout: HomeLayout;
  private readonly watchers = new Map<string, FSWatcher>();
  private dirty = new Set<string>();
  private sweepWanted = true;
  /** False when a watch could not be added during the last sweep: every call sweeps then. */
  private complete = false;
  private visited: Set<string> | null = null;
  private sweepFailed = false;
  private closed = false;
  private armingNow = false;
  private armTimer: NodeJS.Timeout | null = null;
  /** Events were lost (overflow, an event without a name): only a full sweep finds those changes. */
  private lost = false;
  /** When (performance.now()) the oldest change not yet handed to the index was seen; null: none. */
  private pendingSince: number | null = null;
  /**
   * A change the dirty list cannot name is waiting for the sweep (an overflow, a folder created or
   * removed, an event without a name). The rescan that follows arming is not one: it is a
   * precaution for changes made before the watches were in place, none known.
   */
  private unnamedChange = false;

  constructor(layout: HomeLayout) {
    this.layout = layout;
  }

  /** Whether the dirty list describes every change since the last sweep. */
  get healthy(): boolean {
    return !this.closed && this.complete && !this.sweepWanted;
  }

  /** Changes seen and not yet handed to the index: how many files, and since when (ms ago). */
  backlog(): { files: number; sinceMs: number; sweep: boolean } {
    return {
      files: this.dirty.size,
      sinceMs: this.pendingSince === null ? 0 : performance.now() - this.pendingSince,
      sweep: this.sweepWanted,
    };
  }

  /**
   * Files whose changes stay on the dirty list when it is taken: the store's flush rounds index
   * what they write themselves, before the flushes resolve, so a listing answers from the rows
   * they committed instead of reading a file a round is writing. They are taken by a later call.
   */
  holdBack: ((abs: string) => boolean) | null = null;

  /** Takes the dirty paths (absolute) gathered since the last call, but those held back. */
  takeDirty(): Set<string> {
    const d = this.dirty;
    this.dirty = new Set();
    const hold = this.holdBack;
    if (hold)
      for (const p of d)
        if (hold(p)) {
          d.delete(p);
          this.dirty.add(p);
        }
    if (this.dirty.size === 0 && !this.unnamedChange) this.pendingSince = null;
    return d;
  }

  /** Whether events were lost since the last call (then a full sweep is due); clears it. */
  takeLost(): boolean {
    const l = this.lost;
    this.lost = false;
    return l;
  }

  /** A write this store made itself. */
  markDirty(abs: string): void {
    if (this.closed) return;
    this.dirty.add(abs);
    this.pendingSince ??= performance.now();
    if (this.dirty.size > MAX_DIRTY) {
      this.wantSweep();
      this.dirty.clear();
      this.lost = true;
    }
  }

  /** The dirty list no longer describes every change: the next call scans folders (and takes the list too). */
  private wantSweep(): void {
    this.sweepWanted = true;
    this.unnamedChange = true;
    this.pendingSince ??= performance.now();
  }

  /**
   * Starts a full sweep: what is dirty now is covered by it. Events that arrive while it runs are
   * kept for the next call. The home is watched first, so `sessions/` appearing is never missed.
   */
  beginSweep(): void {
    this.sweepWanted = false;
    this.unnamedChange = false;
    this.pendingSince = null;
    this.dirty.clear();
    this.visited = new Set();
    this.sweepFailed = false;
    this.add(this.layout.home, 'home');
  }

  /** A folder the sweep is about to read. */
  visitDir(dir: string): void {
    if (!this.visited) return;
    this.visited.add(dir);
    this.add(dir, dir === this.layout.archived ? 'archived' : 'sessions');
  }

  /** Whether watches are being added in the background (see arm). */
  get arming(): boolean {
    return this.armingNow;
  }

  /**
   * Arms the watches of `dirs` (what a scan just saw) ARM_DELAY_MS from now (see arm), unless the
   * store closes first: adding thousands of watches costs more than a scan, and a store that
   * answers one call and closes (a command line) should not pay for them. A second scan before
   * then shows a store in use: it arms them at once, so the calls after it stop scanning.
   */
  armLater(dirs: readonly string[]): void {
    if (this.closed || this.armingNow) return;
    if (this.armTimer) {
      clearTimeout(this.armTimer);
      this.armTimer = null;
      setImmediate(() => void this.arm(dirs));
      return;
    }
    this.armTimer = setTimeout(() => {
      this.armTimer = null;
      void this.arm(dirs);
    }, ARM_DELAY_MS);
    // An open store must not keep the process alive.
    this.armTimer.unref();
  }

  /** Whether no folder is watched yet (a store that just opened). */
  get unarmed(): boolean {
    return this.watchers.size === 0;
  }

  /**
   * Adds the watches of `dirs` (absolute folders: what the last scan saw) in the background, a
   * slice per event-loop turn, so opening a store does not wait for thousands of `inotify_add_watch`
   * calls. A change made before its folder's watch was added is not reported, so once all are in
   * place the next call scans once more (`needsSweep`), and from then on the watch vouches.
   */
  async arm(dirs: readonly string[]): Promise<void> {
    if (this.armingNow || this.closed) return;
    this.armingNow = true;
    try {
      this.visited = new Set();
      this.sweepFailed = false;
      this.add(this.layout.home, 'home');
      for (let i = 0; i < dirs.length; i++) {
        if (this.closed) return;
        const d = dirs[i] as string;
        this.visitDir(d);
        if (i % ARM_SLICE === ARM_SLICE - 1) await new Promise((r) => setImmediate(r));
      }
      this.endSweep();
      this.sweepWanted = true;
    } finally {
      this.visited = null;
      this.armingNow = false;
    }
  }

  /** Ends a sweep: folders it did not see (removed) lose their watch. */
  endSweep(): void {
    const visited = this.visited;
    if (!visited) return;
    this.visited = null;
    for (const dir of [...this.watchers.keys()])
      if (dir !== this.layout.home && !visited.has(dir)) this.unwatch(dir, false);
    this.complete = !this.sweepFailed && !this.closed;
  }

  close(): void {
    this.closed = true;
    if (this.armTimer) clearTimeout(this.armTimer);
    this.armTimer = null;
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
    this.dirty.clear();
  }

  private add(dir: string, kind: 'home' | 'sessions' | 'archived'): void {
    if (this.closed || this.watchers.has(dir)) return;
    let w: FSWatcher;
    try {
      // Not persistent: an open store must not keep the process alive.
      w = watch(dir, { persistent: false }, (_event, name) => this.onEvent(dir, kind, name));
    } catch (e) {
      // A folder that does not exist (yet) is reported by its parent's watch when it appears;
      // anything else (inotify limits, permissions) leaves the watcher incomplete.
      if ((e as { code?: string }).code !== 'ENOENT') this.sweepFailed = true;
      return;
    }
    w.on('error', () => {
      this.unwatch(dir, false);
      this.complete = false;
      this.lost = true;
    });
    this.watchers.set(dir, w);
  }

  /** Closes the watch of `dir` (and of the folders under it). */
  private unwatch(dir: string, subtree: boolean): void {
    const prefix = dir + path.sep;
    for (const [d, w] of [...this.watchers])
      if (d === dir || (subtree && d.startsWith(prefix))) {
        w.close();
        this.watchers.delete(d);
      }
  }

  private onEvent(dir: string, kind: 'home' | 'sessions' | 'archived', name: string | Buffer | null): void {
    if (this.closed) return;
    if (name === null) {
      this.lost = true;
      return this.wantSweep();
    }
    const base = typeof name === 'string' ? name : name.toString('utf8');
    const abs = path.join(dir, base);
    if (kind === 'home') {
      // session_index.jsonl is checked with one stat per pass; only the two folders matter here.
      if (abs === this.layout.sessions || abs === this.layout.archived) {
        this.unwatch(abs, true);
        this.wantSweep();
      }
      return;
    }
    if (parseRolloutFileName(base)) return this.markDirty(abs);
    if (kind === 'archived') return; // flat: folders and other files there are never listed
    // A folder appeared, vanished or was renamed under sessions/: re-walk (and re-watch) it.
    if (this.watchers.has(abs)) {
      this.unwatch(abs, true);
      return this.wantSweep();
    }
    try {
      if (statSync(abs).isDirectory()) this.wantSweep();
    } catch {
      // gone already: a temporary file, or a folder we never watched
    }
  }
}
