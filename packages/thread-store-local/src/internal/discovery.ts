import { lstatSync, readdirSync, statSync } from 'node:fs';
import type { Dirent, Stats } from 'node:fs';
import path from 'node:path';
import { recordFor } from './change-scan.js';
import { yieldTurn } from './index-context.js';
import { isArchivedRel, isDatedSessionRel, parseRolloutFileName } from './paths.js';
import type { HomeLayout } from './paths.js';

/**
 * Finding rollout files on disk: the full walk of a home (full passes), and a stat of given
 * paths (the watcher's dirty list, a thread's files and the places they may have moved to).
 */

/** A rollout file found on disk. */
export interface Found {
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

/** The facts of a rollout file at `abs` from its stat; null when the name is not a rollout's. */
export function foundFrom(layout: HomeLayout, abs: string, st: Stats): Found | null {
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

/** The stat of a regular file; null for anything else, or a symlink pointing out of the home. */
export function statInside(layout: HomeLayout, abs: string, isLink: boolean): Stats | null {
  if (isLink && !layout.contains(abs)) return null; // a symlink pointing out of the home
  try {
    const st = statSync(abs);
    return st.isFile() ? st : null;
  } catch {
    return null;
  }
}

/**
 * Folder entries the walk reads (a stat each, a folder also its listing) before it lets other
 * callbacks run (see walkHome): a few milliseconds of work. A count, not a clock, so a small
 * home is always walked within the call, however busy the machine.
 */
const WALK_SLICE_ENTRIES = 256;

/**
 * Every rollout file under `sessions/` (recursively) and in `archived_sessions/`, in folder
 * order. Each folder is stat-ed before it is read, and its record (see change-scan.ts) goes to
 * `dirs`; `visitDir` is told of each folder before it is read (the watcher adds its watch). The
 * walk yields to the event loop after every WALK_SLICE_ENTRIES entries, so a home of 100,000
 * files never holds the event loop in one step. Returns null when `signal` is aborted.
 */
export async function walkHome(
  layout: HomeLayout,
  dirs: Map<string, string>,
  visitDir: ((dir: string) => void) | null,
  signal?: AbortSignal,
  turn: () => Promise<void> = yieldTurn,
): Promise<Found[] | null> {
  const out: Found[] = [];
  const now = Date.now();
  // Depth first in each folder's order, as a recursive walk would go; a small home is walked
  // before the first yield, within the call.
  const frames: { entries: Dirent[]; dir: string; recurse: boolean; next: number }[] = [];
  const enter = (dir: string, recurse: boolean): void => {
    // Watched before it is read: a file created after the read is then reported.
    visitDir?.(dir);
    try {
      const st = statSync(dir);
      const entries = readdirSync(dir, { withFileTypes: true });
      dirs.set(layout.rel(dir), recordFor(st, now));
      frames.push({ entries, dir, recurse, next: 0 });
    } catch {
      // vanished or unreadable: nothing under it
    }
  };
  const roots: [string, boolean][] = [
    [layout.sessions, true],
    [layout.archived, false],
  ];
  let work = 0;
  for (;;) {
    const top = frames[frames.length - 1];
    if (!top) {
      const root = roots.shift();
      if (!root) return out;
      enter(...root);
      continue;
    }
    const e = top.entries[top.next++];
    if (!e) {
      frames.pop();
      continue;
    }
    if (++work % WALK_SLICE_ENTRIES === 0) {
      await turn();
      if (signal?.aborted) return null;
    }
    const abs = path.join(top.dir, e.name);
    if (e.isDirectory()) {
      if (top.recurse) enter(abs, true);
      continue;
    }
    if ((!e.isFile() && !e.isSymbolicLink()) || !parseRolloutFileName(e.name)) continue;
    const st = statInside(layout, abs, e.isSymbolicLink());
    const f = st ? foundFrom(layout, abs, st) : null;
    if (f) out.push(f);
  }
}

/** Rollout files among the given paths (the dirty list of the watcher), one stat each. */
export function statPaths(layout: HomeLayout, paths: Iterable<string>): Found[] {
  const out: Found[] = [];
  for (const abs of paths) {
    let rel: string;
    try {
      rel = layout.rel(abs);
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
    const st = statInside(layout, abs, isLink);
    if (!st) continue;
    const f = foundFrom(layout, abs, st);
    if (f) out.push(f);
  }
  return out;
}
