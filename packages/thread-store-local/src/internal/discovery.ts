import { lstatSync, readdirSync, statSync } from 'node:fs';
import type { Stats } from 'node:fs';
import path from 'node:path';
import { recordFor } from './change-scan.js';
import { isArchivedRel, isDatedSessionRel, parseRolloutFileName } from './paths.js';
import type { HomeLayout } from './paths.js';
import type { HomeWatcher } from './watcher.js';

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
 * Every rollout file under `sessions/` (recursively) and in `archived_sessions/`. Each folder
 * is stat-ed before it is read, and its record (see change-scan.ts) goes to `dirs`.
 */
export function walkHome(layout: HomeLayout, dirs: Map<string, string>, watcher: HomeWatcher | null): Found[] {
  const out: Found[] = [];
  const now = Date.now();
  const visit = (dir: string, recurse: boolean): void => {
    // Watched before it is read: a file created after the read is then reported.
    watcher?.visitDir(dir);
    let entries;
    try {
      const st = statSync(dir);
      entries = readdirSync(dir, { withFileTypes: true });
      dirs.set(layout.rel(dir), recordFor(st, now));
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
      const st = statInside(layout, abs, e.isSymbolicLink());
      if (!st) continue;
      const f = foundFrom(layout, abs, st);
      if (f) out.push(f);
    }
  };
  visit(layout.sessions, true);
  visit(layout.archived, false);
  return out;
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
