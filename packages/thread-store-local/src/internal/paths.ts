import { realpathSync } from 'node:fs';
import path from 'node:path';
import { ThreadStoreError } from '@skein/thread-store-api';
import { SCHEMA_VERSION } from './index-db.js';

/**
 * The layout of a Codex-shaped home. Rollout files live in `sessions/YYYY/MM/DD/` (local time)
 * and in the flat `archived_sessions/`; names go to `session_index.jsonl`; writer locks to
 * `thread-writer-locks/<id>.lock`. Skein's own index is `skein_index_<n>.sqlite`: the number is
 * the schema version, so Skein versions with different schemas sharing a home each keep their own
 * index instead of rebuilding each other's (Codex numbers its SQLite files the same way).
 */
export class HomeLayout {
  readonly home: string;
  readonly sessions: string;
  readonly archived: string;
  readonly sessionIndex: string;
  readonly sessionIndexLock: string;
  readonly locks: string;
  readonly indexDb: string;

  constructor(home: string) {
    this.home = home;
    this.sessions = path.join(home, 'sessions');
    this.archived = path.join(home, 'archived_sessions');
    this.sessionIndex = path.join(home, 'session_index.jsonl');
    this.sessionIndexLock = path.join(home, 'session_index.jsonl.lock');
    this.locks = path.join(home, 'thread-writer-locks');
    this.indexDb = path.join(home, `skein_index_${SCHEMA_VERSION}.sqlite`);
  }

  /** Absolute path of a home-relative path (always with `/` inside the index). */
  abs(rel: string): string {
    return path.join(this.home, ...rel.split('/'));
  }

  /** Home-relative path with `/` separators. Throws when `abs` is outside the home. */
  rel(abs: string): string {
    const r = path.relative(this.home, abs);
    if (r === '' || r.startsWith('..') || path.isAbsolute(r))
      throw ThreadStoreError.invalidRequest(`path ${JSON.stringify(abs)} is outside the store's home ${this.home}`);
    return r.split(path.sep).join('/');
  }

  /**
   * Checks that a path, after resolving symlinks, stays inside the home. Used for every path that
   * came from outside (rollout paths given by callers) or from a directory walk.
   */
  contains(abs: string): boolean {
    let real: string;
    try {
      real = realpathSync(abs);
    } catch {
      return false;
    }
    const r = path.relative(this.home, real);
    return r !== '' && !r.startsWith('..') && !path.isAbsolute(r);
  }

  /** Where a new thread's rollout goes: the folders and the name carry the local time. */
  newRolloutPath(createdAt: Date, threadId: string): string {
    const p = localParts(createdAt);
    const name = `rollout-${p.y}-${p.mo}-${p.d}T${p.h}-${p.mi}-${p.s}-${threadId}.jsonl`;
    return path.join(this.sessions, p.y, p.mo, p.d, name);
  }

  /** Where a new segment of a thread goes (`rollout-<stamp>-<thread>_<rollout>.jsonl`), like `newRolloutPath`. */
  newSegmentPath(at: Date, threadId: string, rolloutId: string): string {
    const first = this.newRolloutPath(at, threadId);
    return first.replace(/\.jsonl$/, `_${rolloutId}.jsonl`);
  }

  lockPath(threadId: string): string {
    return path.join(this.locks, `${threadId}.lock`);
  }
}

function pad(n: number, w = 2): string {
  return String(n).padStart(w, '0');
}

function localParts(d: Date): { y: string; mo: string; d: string; h: string; mi: string; s: string } {
  return {
    y: pad(d.getFullYear(), 4),
    mo: pad(d.getMonth() + 1),
    d: pad(d.getDate()),
    h: pad(d.getHours()),
    mi: pad(d.getMinutes()),
    s: pad(d.getSeconds()),
  };
}

const UUID_RE = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const UUID_TAIL = new RegExp(`-(${UUID_RE})(?:_(${UUID_RE}))?$`, 'i');
const STAMP = /^rollout-(\d{4})-(\d{2})-(\d{2})T(\d{2})-(\d{2})-(\d{2})/;

export interface RolloutFileName {
  /** Thread id from the name (lowercase). */
  threadId: string;
  /**
   * The rollout (segment) id: the thread id for a thread's first file; for a later segment
   * (`rollout-<stamp>-<thread>_<rollout>.jsonl`, which Codex starts on a paginated revert) the id
   * after the `_` (lowercase). Codex's projection and `history_base` are keyed by it.
   */
  rolloutId: string;
  /** `YYYY`, `MM`, `DD` of the name's (local) time stamp, when it has one. */
  day: { y: string; m: string; d: string } | null;
  /** The name's time read as UTC (what Codex's scan does); null without a stamp. */
  stampAsUtc: Date | null;
  zst: boolean;
  /** The `.jsonl` form of the name. */
  plainName: string;
}

/** Parses `rollout-<stamp>-<uuid>.jsonl[.zst]`; null for any other name. */
export function parseRolloutFileName(name: string): RolloutFileName | null {
  if (!name.startsWith('rollout-')) return null;
  let zst = false;
  let stem: string;
  if (name.endsWith('.jsonl.zst')) {
    zst = true;
    stem = name.slice(0, -'.jsonl.zst'.length);
  } else if (name.endsWith('.jsonl')) {
    stem = name.slice(0, -'.jsonl'.length);
  } else return null;
  const m = UUID_TAIL.exec(stem);
  if (!m || !m[1]) return null;
  const s = STAMP.exec(stem);
  let stampAsUtc: Date | null = null;
  let day: RolloutFileName['day'] = null;
  if (s) {
    day = { y: s[1] ?? '', m: s[2] ?? '', d: s[3] ?? '' };
    const t = new Date(`${s[1]}-${s[2]}-${s[3]}T${s[4]}:${s[5]}:${s[6]}Z`);
    stampAsUtc = Number.isNaN(t.getTime()) ? null : t;
  }
  const threadId = m[1].toLowerCase();
  return { threadId, rolloutId: (m[2] ?? threadId).toLowerCase(), day, stampAsUtc, zst, plainName: `${stem}.jsonl` };
}

/** The `.jsonl` path of a rollout (drops a `.zst` suffix). */
export function plainRolloutPath(p: string): string {
  return p.endsWith('.jsonl.zst') ? p.slice(0, -4) : p;
}

/** Codex treats a rollout as archived when any path component is `archived_sessions`. */
export function isArchivedRel(rel: string): boolean {
  return rel.split('/').includes('archived_sessions');
}

/** Whether a home-relative rollout path sits in a `sessions/YYYY/MM/DD/` folder (listable). */
export function isDatedSessionRel(rel: string): boolean {
  return /^sessions\/\d{4}\/\d{2}\/\d{2}\/[^/]+$/.test(rel);
}
