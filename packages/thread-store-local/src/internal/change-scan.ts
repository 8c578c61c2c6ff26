import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { sqliteAddon } from './sqlite-addon.js';
import type { HomeLayout } from './paths.js';
import { parseRolloutFileName, plainRolloutPath } from './paths.js';

/**
 * Change detection that costs O(changes), not O(threads): what the index must look at again
 * after the home was changed while no watch was running (a store just opened, a watch that
 * overflowed or failed). Three sources:
 *
 * - **Folder mtimes.** Creating, removing or renaming a file changes its folder's mtime. Every
 *   folder the index knows is recorded (`dir:<rel>` in `kv`, its mtime and inode as of the last
 *   read); a folder whose mtime moved is read again, and its entries and the index's rows in it
 *   are re-checked. An unchanged folder is one `stat`. A folder whose mtime is within
 *   `RACY_MS` of the clock when it is read is not recorded as read (a file created within the
 *   filesystem's timestamp granularity after the read would leave the mtime as it was), so it
 *   is read again next time.
 * - **Recently modified rollouts.** Appending does not change a folder: files the index saw
 *   modified within `RECENT_MS` are `stat`-ed (an index on `files(mtime_ms)`).
 * - **Codex's state DB.** Codex bumps `threads.updated_at_ms` in `state_5.sqlite` when it writes
 *   a thread: rows updated since the last check name their rollout files.
 *
 * An append to an older thread by a program that does not update Codex's state DB is found by
 * the background sweep (or when that thread is read by id, which always `stat`s its files).
 */

/** Files modified this recently (by the index's last look) are `stat`-ed on every scan. */
export const RECENT_MS = 24 * 3600_000;
/** A folder modified this recently when read is read again next time (timestamp granularity). */
export const RACY_MS = 2_000;

/** What a scan found: paths to bring up to date and the folder records to save after that. */
export interface ScanResult {
  /** Absolute paths of rollout files (existing or vanished) whose rows must be checked. */
  paths: Set<string>;
  /** Folder records to save once the paths are indexed: value, or null to forget the folder. */
  dirs: Map<string, string | null>;
  /** Codex's state DB watermark to save with them. */
  codexSeen: number | null;
}

/** Reads the saved folder records and the index rows a scan needs. */
export interface ScanIndex {
  /** Every `dir:` record: home-relative folder → `mtimeMs:ino`. */
  dirRecords(): Map<string, string>;
  /** Home-relative paths of the rows directly in a folder (not in its subfolders). */
  rowsIn(relDir: string): string[];
  /** Home-relative paths of the rows modified after `ms`. */
  rowsModifiedSince(ms: number): string[];
  /** The Codex state DB watermark saved by the last scan (ms), or null. */
  codexSeen(): number | null;
}

/** The value recorded for a folder: its mtime and inode. */
export function dirValue(st: { mtimeMs: number; ino: number }): string {
  return `${st.mtimeMs}:${st.ino}`;
}

/** A record that makes the next scan read the folder again. */
export const REREAD = 'reread';

/** `dirValue`, or `REREAD` when the folder was modified too recently to trust its mtime. */
export function recordFor(st: { mtimeMs: number; ino: number }, now: number): string {
  return now - st.mtimeMs < RACY_MS ? REREAD : dirValue(st);
}

/** Folders under `sessions/` are walked at any depth; `archived_sessions/` is flat. */
function recurses(rel: string): boolean {
  return rel === 'sessions' || rel.startsWith('sessions/');
}

/**
 * Scans the home's folders against their records (see the file comment). `visitDir` is called
 * for every folder before it is examined (the watcher adds its watch there, so a change after
 * the examination is reported by the watch).
 */
export function scanFolders(
  layout: HomeLayout,
  index: ScanIndex,
  codexStateDb: string | null,
  visitDir?: (abs: string) => void,
): ScanResult {
  const known = index.dirRecords();
  const children = new Map<string, string[]>();
  for (const rel of known.keys()) {
    const parent = path.posix.dirname(rel);
    if (parent === rel || parent === '.') continue;
    const list = children.get(parent);
    if (list) list.push(rel);
    else children.set(parent, [rel]);
  }
  const paths = new Set<string>();
  const dirs = new Map<string, string | null>();
  const now = Date.now();
  const forget = (rel: string): void => {
    for (const r of index.rowsIn(rel)) paths.add(layout.abs(r));
    if (known.has(rel)) dirs.set(rel, null);
    for (const c of children.get(rel) ?? []) forget(c);
  };
  const visit = (rel: string): void => {
    const abs = layout.abs(rel);
    visitDir?.(abs);
    let st;
    try {
      st = statSync(abs);
    } catch {
      st = null;
    }
    if (!st || !st.isDirectory()) return forget(rel);
    const recurse = recurses(rel);
    const prev = known.get(rel);
    const subdirs = new Set(children.get(rel) ?? []);
    if (prev !== dirValue(st)) {
      let entries;
      try {
        entries = readdirSync(abs, { withFileTypes: true });
      } catch {
        return forget(rel);
      }
      for (const r of index.rowsIn(rel)) paths.add(layout.abs(r));
      for (const e of entries) {
        if (e.isDirectory()) {
          if (recurse) subdirs.add(`${rel}/${e.name}`);
        } else if ((e.isFile() || e.isSymbolicLink()) && parseRolloutFileName(e.name)) {
          paths.add(path.join(abs, e.name));
        }
      }
      dirs.set(rel, recordFor(st, now));
    }
    for (const s of subdirs) visit(s);
  };
  visit('sessions');
  visit('archived_sessions');
  for (const r of index.rowsModifiedSince(now - RECENT_MS)) paths.add(layout.abs(r));
  let codexSeen: number | null = null;
  if (codexStateDb) {
    const seen = index.codexSeen();
    const changed = codexStateChanges(codexStateDb, seen);
    if (changed) {
      codexSeen = changed.seen;
      for (const p of changed.paths) {
        // Only files inside the home; both forms of the name (Codex records the plain one).
        let rel: string;
        try {
          rel = layout.rel(p);
        } catch {
          continue;
        }
        const plain = plainRolloutPath(layout.abs(rel));
        paths.add(plain);
        paths.add(`${plain}.zst`);
      }
    }
  }
  return { paths, dirs, codexSeen };
}

/**
 * Rollout paths of the threads Codex's state DB says were updated after `seen` (ms), and the
 * new watermark. Null when there is no state DB or it cannot be read (the sweep covers it).
 * The first scan (no watermark) only records the watermark: the files were just indexed.
 */
export function codexStateChanges(stateDb: string, seen: number | null): { paths: string[]; seen: number } | null {
  if (!existsSync(stateDb)) return null;
  let db: Database.Database | null = null;
  try {
    db = new Database(stateDb, { ...sqliteAddon(), readonly: true, fileMustExist: true });
    db.pragma('busy_timeout = 1000');
    // updated_at_ms came with a later migration; updated_at (seconds) is always there. A row's
    // time is updated_at_ms, else updated_at * 1000. Each query is written so that SQLite answers
    // it from Codex's indexes on the two columns: max(coalesce(…)) would read every row (25 ms
    // at 100,000 threads, on every scan).
    const cols = new Set((db.pragma('table_info(threads)') as { name: string }[]).map((c) => c.name));
    const ms = cols.has('updated_at_ms');
    const max = db
      .prepare(
        ms
          ? 'SELECT max(m) FROM (SELECT max(updated_at_ms) AS m FROM threads UNION ALL SELECT max(updated_at) * 1000 FROM threads WHERE updated_at_ms IS NULL)'
          : 'SELECT max(updated_at) * 1000 FROM threads',
      )
      .pluck()
      .get() as number | null;
    if (max === null) return null;
    if (seen === null) return { paths: [], seen: max };
    if (max <= seen) return null;
    const rows = db
      .prepare(
        ms
          ? 'SELECT rollout_path FROM threads WHERE updated_at_ms > @seen OR (updated_at_ms IS NULL AND updated_at * 1000 > @seen)'
          : 'SELECT rollout_path FROM threads WHERE updated_at * 1000 > @seen',
      )
      .pluck()
      .all({ seen }) as unknown[];
    return { paths: rows.filter((p): p is string => typeof p === 'string' && p !== ''), seen: max };
  } catch {
    return null;
  } finally {
    db?.close();
  }
}

/**
 * Where a rollout file may be now, going by its name alone: where it is, its compressed or
 * plain form, `archived_sessions/` (archived), and the day folder its time stamp names
 * (unarchived). Reading a thread by id `stat`s these instead of walking the home.
 */
export function placesOf(layout: HomeLayout, abs: string): string[] {
  const name = parseRolloutFileName(path.basename(abs));
  if (!name) return [abs];
  const folders = new Set([path.dirname(abs), layout.archived]);
  if (name.day) folders.add(path.join(layout.sessions, name.day.y, name.day.m, name.day.d));
  const out: string[] = [];
  for (const dir of folders) for (const n of [name.plainName, `${name.plainName}.zst`]) out.push(path.join(dir, n));
  return out;
}
