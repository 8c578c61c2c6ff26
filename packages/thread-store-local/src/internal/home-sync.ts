import { readdirSync } from 'node:fs';
import path from 'node:path';
import type Database from 'better-sqlite3';
import type { Db } from './index-db.js';
import { codexStateChanges, scanFolders } from './change-scan.js';
import type { ScanIndex, ScanResult } from './change-scan.js';
import { walkHome } from './discovery.js';
import { yieldTurn } from './index-context.js';
import type { IndexProgressListener, ThreadIndex } from './indexer.js';
import { parseRolloutFileName } from './paths.js';
import type { HomeLayout } from './paths.js';

/** Files stat-ed (or rows read, times 4) between two yields of the background sweep. */
const SWEEP_SLICE = 256;
/**
 * How long (ms) one path pass of the background sweep aims to take. A call that needs the
 * index current (a listing) waits for the pass under way, so the passes are sized to this:
 * with a fixed 64 files a pass that re-read them took hundreds of milliseconds.
 */
const SWEEP_PASS_MS = 10;
/** The most files in one path pass of the background sweep (passes that only stat are cheap). */
const SWEEP_PASS_FILES_MAX = 256;
/**
 * The same two in the index worker, where a pass does not hold the event loop and listings do
 * not wait for it: longer passes, fewer commits. What they are sized to is how long closing the
 * store may wait for the pass under way.
 */
const SWEEP_WORKER_PASS_MS = 200;
const SWEEP_WORKER_PASS_FILES_MAX = 2048;
/**
 * The sweep walks the home in the index worker when the index knows about this many threads or
 * files; a smaller home is walked here (a few slices), without waiting for the worker to start.
 */
const SWEEP_WORKER_SCAN_MIN = 1024;
/** The sweep reads the files that differ in the index worker when there are this many. */
const SWEEP_WORKER_FILES_MIN = 64;

/** The columns of a `files` row the sweep compares with a file's stat. */
interface StatRow {
  rel: string;
  size: number;
  mtime_ms: number;
  ctime_ms: number;
  ino: number;
  archived: number;
}

/** What the background sweep's walk found: the files that differ from their rows, and the folders' records. */
export interface SweepScan {
  /** Absolute paths, sorted by file name (a moved file's two paths are next to each other). */
  differ: string[];
  /** Each folder's record (see change-scan.ts), by home-relative path. */
  dirs: [string, string][];
}

/**
 * The walk of the background sweep: the home is walked and stat-ed a slice at a time (yielding
 * with `turn` between slices), the rows read in pages, and the files that differ from their
 * rows (or have none, or whose row has no file) returned. Null when `signal` is aborted.
 */
export async function sweepScan(
  layout: HomeLayout,
  stmt: (sql: string) => Database.Statement,
  signal?: AbortSignal,
  turn: () => Promise<void> = yieldTurn,
): Promise<SweepScan | null> {
  const dirs = new Map<string, string>();
  const found = await walkHome(layout, dirs, null, signal, turn);
  if (!found) return null;
  const cols = 'rel, size, mtime_ms, ctime_ms, ino, archived';
  const rows = new Map<string, StatRow>();
  for (let after = ''; ;) {
    const page = stmt(`SELECT ${cols} FROM files WHERE rel > ? ORDER BY rel LIMIT ${SWEEP_SLICE * 4}`).all(
      after,
    ) as StatRow[];
    for (const r of page) rows.set(r.rel, r);
    if (page.length < SWEEP_SLICE * 4) break;
    after = page[page.length - 1]?.rel ?? '';
    await turn();
    if (signal?.aborted) return null;
  }
  const differ: string[] = [];
  for (const f of found) {
    const r = rows.get(f.rel);
    rows.delete(f.rel);
    if (
      !r ||
      r.size !== f.size ||
      r.mtime_ms !== f.mtimeMs ||
      r.ino !== f.ino ||
      r.ctime_ms !== f.ctimeMs ||
      r.archived !== (f.archived ? 1 : 0)
    )
      differ.push(f.abs);
  }
  for (const rel of rows.keys()) differ.push(layout.abs(rel));
  // A moved file is recognised within one pass: same names go to the same pass. Sorted by name
  // in code-unit order, each name taken once (localeCompare and a basename per comparison held
  // the event loop for tens of milliseconds at 10,000 files).
  const named = differ.map((abs) => ({ abs, name: path.basename(abs) }));
  named.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { differ: named.map((n) => n.abs), dirs: [...dirs] };
}

/**
 * Keeping the index in step with the home without walking it on the request path: whether the
 * index covers the whole home, the folder scan of change-scan.ts, the background sweep, the
 * day folders a first page reads before the index is complete, and the lookup of a segment
 * file by its rollout id. Each pass goes through the index's own path passes.
 */
export class HomeSync {
  private readonly index: ThreadIndex;
  private readonly layout: HomeLayout;
  private readonly db: Db;
  /** Codex's state_5.sqlite for this home (change detection reads its update times), or null. */
  readonly codexStateDb: string | null;

  constructor(index: ThreadIndex, layout: HomeLayout, db: Db, codexStateDb: string | null) {
    this.index = index;
    this.layout = layout;
    this.db = db;
    this.codexStateDb = codexStateDb;
  }

  /** Whether a full pass has indexed the whole home (since the index was created or cleared). */
  get complete(): boolean {
    return this.index.stmt("SELECT 1 FROM kv WHERE key = 'swept'").get() !== undefined;
  }

  /** After a full pass: every folder's record replaces the old ones, and the home is complete. */
  saveSweep(dirs: Map<string, string>, codexSeen: number | null): void {
    this.db
      .transaction(() => {
        this.index.stmt("DELETE FROM kv WHERE key >= 'dir:' AND key < 'dir;'").run();
        const put = this.index.stmt('INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)');
        for (const [rel, v] of dirs) put.run(`dir:${rel}`, v);
        put.run('swept', String(Date.now()));
        if (codexSeen !== null) put.run('codex_seen', String(codexSeen));
      })
      .immediate();
  }

  /** The saved records and rows a folder scan compares against. */
  readonly scanIndex: ScanIndex = {
    dirRecords: () => {
      const rows = this.index.stmt("SELECT key, value FROM kv WHERE key >= 'dir:' AND key < 'dir;'").all() as {
        key: string;
        value: string;
      }[];
      return new Map(rows.map((r) => [r.key.slice(4), r.value]));
    },
    rowsIn: (relDir) =>
      (
        this.index
          .stmt('SELECT rel FROM files WHERE rel > ? AND rel < ?')
          .pluck()
          .all(`${relDir}/`, `${relDir}0`) as string[]
      ).filter((rel) => !rel.slice(relDir.length + 1).includes('/')),
    rowsModifiedSince: (ms) => this.index.stmt('SELECT rel FROM files WHERE mtime_ms > ?').pluck().all(ms) as string[],
    codexSeen: () => {
      const v = this.index.stmt("SELECT value FROM kv WHERE key = 'codex_seen'").pluck().get() as string | undefined;
      return v === undefined ? null : Number(v);
    },
  };

  /**
   * Brings the index up to date with what changed while no watch was running, at a cost that
   * grows with the changes, not the threads (see change-scan.ts). Only for a complete index.
   */
  async syncChanges(onProgress?: IndexProgressListener): Promise<void> {
    const w = this.index.watcher;
    // Files the watch reported before it needed the scan are checked too.
    const reported = w?.takeDirty() ?? new Set<string>();
    // A store that just opened answers first and adds its watches a moment later, in the
    // background (see armLater); afterwards each scan (re)adds them as it goes, which costs
    // nothing for a folder watched.
    const inline = w && !w.unarmed && !w.arming ? w : null;
    const seen: string[] = [];
    inline?.beginSweep();
    let scan: ScanResult;
    try {
      scan = scanFolders(this.layout, this.scanIndex, this.codexStateDb, (abs) => {
        if (inline) inline.visitDir(abs);
        else seen.push(abs);
      });
    } finally {
      inline?.endSweep();
    }
    if (w && !inline && !w.arming) w.armLater(seen);
    for (const p of reported) scan.paths.add(p);
    await this.index.syncPaths(scan.paths, onProgress);
    this.db
      .transaction(() => {
        const put = this.index.stmt('INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)');
        const del = this.index.stmt('DELETE FROM kv WHERE key = ?');
        for (const [rel, v] of scan.dirs) {
          if (v === null) del.run(`dir:${rel}`);
          else put.run(`dir:${rel}`, v);
        }
        if (scan.codexSeen !== null) put.run('codex_seen', String(scan.codexSeen));
      })
      .immediate();
  }

  /**
   * The day folders under `sessions/` (`YYYY/MM/DD`), newest first, with the UTC start of their
   * day. Reads the folder tree only (years, months, days), not the files.
   */
  datedFolders(): { abs: string; dayMs: number }[] {
    const out: { abs: string; dayMs: number }[] = [];
    const sub = (dir: string, re: RegExp): string[] => {
      try {
        return readdirSync(dir, { withFileTypes: true })
          .filter((e) => e.isDirectory() && re.test(e.name))
          .map((e) => e.name);
      } catch {
        return [];
      }
    };
    for (const y of sub(this.layout.sessions, /^\d{4}$/))
      for (const m of sub(path.join(this.layout.sessions, y), /^\d{2}$/))
        for (const d of sub(path.join(this.layout.sessions, y, m), /^\d{2}$/)) {
          const dayMs = Date.UTC(Number(y), Number(m) - 1, Number(d));
          if (Number.isFinite(dayMs)) out.push({ abs: path.join(this.layout.sessions, y, m, d), dayMs });
        }
    return out.sort((a, b) => b.dayMs - a.dayMs);
  }

  /** Indexes the rollout files directly in the given folders (one path pass). */
  async indexFolders(dirs: readonly string[], onProgress?: IndexProgressListener): Promise<void> {
    const paths = new Set<string>();
    for (const dir of dirs) {
      let entries;
      try {
        entries = readdirSync(dir, { withFileTypes: true });
      } catch {
        continue;
      }
      for (const e of entries)
        if ((e.isFile() || e.isSymbolicLink()) && parseRolloutFileName(e.name)) paths.add(path.join(dir, e.name));
    }
    await this.index.syncPaths(paths, onProgress);
  }

  /**
   * Whether some indexed file is a paginated fork whose parent is not indexed (its preview and
   * listing may then depend on a file not read yet).
   */
  hasForkOfUnindexed(): boolean {
    return (
      this.index
        .stmt(
          'SELECT 1 FROM files f WHERE f.base_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM threads t WHERE t.thread_id = f.base_id) LIMIT 1',
        )
        .get() !== undefined
    );
  }

  /**
   * About how many threads or files the index holds (the largest rowid of each table: no scan),
   * to tell a home whose walk is worth handing to the index worker.
   */
  private knownSize(): number {
    const r = this.index
      .stmt(
        'SELECT max(coalesce((SELECT max(rowid) FROM threads), 0), coalesce((SELECT max(rowid) FROM files), 0)) AS n',
      )
      .get() as { n: number };
    return r.n;
  }

  /** Whether the last full look at the home (a full pass or a sweep) is older than `intervalMs`. */
  sweepDue(intervalMs: number): boolean {
    const at = Number(this.index.stmt("SELECT value FROM kv WHERE key = 'swept'").pluck().get() ?? 0);
    return Date.now() - at > intervalMs;
  }

  /**
   * The background sweep: a safety net for changes nothing reported (an append to an older
   * thread by a program that leaves Codex's state DB alone, a missed event). The home is walked
   * and stat-ed (sweepScan: in the index worker when there is one, else here a slice at a time,
   * yielding to the event loop between slices); the files that differ from their rows are then
   * indexed in path passes, between which other calls' passes run. Stops early when `signal` is
   * aborted (a walk in the worker runs to its end first). `turn` is how it yields between steps
   * (a turn of the event loop; the store's sweep also waits for calls in progress).
   */
  async sweep(
    signal: AbortSignal,
    onProgress?: IndexProgressListener,
    turn: () => Promise<void> = yieldTurn,
  ): Promise<void> {
    this.index.lastSweepStartedAt = performance.now();
    const codexAtStart = this.codexStateDb ? codexStateChanges(this.codexStateDb, null) : null;
    // The walk and the comparison run in the index worker when there is one (the event loop
    // keeps answering calls), else here a slice at a time.
    let scanned: SweepScan | null = null;
    if (this.index.usesWorker && this.knownSize() >= SWEEP_WORKER_SCAN_MIN)
      scanned = await this.index.sweepScanInWorker();
    scanned ??= await sweepScan(this.layout, (sql) => this.index.stmt(sql), signal, turn);
    if (!scanned || signal.aborted) return;
    const { differ } = scanned;
    // A few files are read here, without waiting for the worker to start.
    const viaWorker = differ.length >= SWEEP_WORKER_FILES_MIN;
    const dirs = new Map(scanned.dirs);
    // Each pass takes as many files as the last passes read in SWEEP_PASS_MS.
    let perPass = 4;
    for (let i = 0; i < differ.length;) {
      let j = Math.min(differ.length, i + perPass);
      while (j < differ.length && path.basename(differ[j] ?? '') === path.basename(differ[j - 1] ?? '')) j++;
      const start = performance.now();
      // Asked per pass: the worker may have failed since the last one.
      const inWorker = viaWorker && this.index.usesWorker;
      await this.index.sweepPaths(new Set(differ.slice(i, j)), onProgress, inWorker);
      const msPerFile = (performance.now() - start) / (j - i);
      const [passMs, filesMax] = inWorker
        ? [SWEEP_WORKER_PASS_MS, SWEEP_WORKER_PASS_FILES_MAX]
        : [SWEEP_PASS_MS, SWEEP_PASS_FILES_MAX];
      const fit = Math.floor(passMs / Math.max(msPerFile, 0.01));
      perPass = Math.max(1, Math.min(filesMax, fit, perPass * 2));
      i = j;
      // A short pass may not yield on its own: without a turn here the passes would follow one
      // another in microtasks and hold the event loop for the whole sweep.
      await turn();
      if (signal.aborted) return;
    }
    this.saveSweep(dirs, codexAtStart?.seen ?? null);
  }

  /**
   * The file of a later segment by its rollout id (`…-<thread>_<rollout>.jsonl`): a
   * `history_base` target. The plain file wins over its compressed copy, as in Codex.
   */
  segmentFile(rolloutId: string): { path: string; zst: boolean } | null {
    const id = rolloutId.toLowerCase();
    const rels = this.index
      .stmt("SELECT rel FROM files WHERE rel LIKE ? ESCAPE '\\'")
      .pluck()
      .all(`%\\_${id}.jsonl%`) as string[];
    let found: { path: string; zst: boolean } | null = null;
    for (const rel of rels) {
      const name = parseRolloutFileName(path.basename(rel));
      if (!name || name.rolloutId !== id || name.threadId === id) continue;
      if (!found || (found.zst && !name.zst)) found = { path: this.layout.abs(rel), zst: name.zst };
    }
    return found;
  }
}
