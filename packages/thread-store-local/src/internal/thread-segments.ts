import path from 'node:path';
import { historyBaseOf, ThreadStoreError, validateNewSegment } from '@skein/thread-store-api';
import type { HistoryBase, SessionMetaItem, ThreadId, ThreadSegment } from '@skein/thread-store-api';
import { parseRolloutFileName } from './paths.js';
import { readFirstItem } from './reader.js';

/** One rollout file of a thread as the index lists it. */
export interface ThreadFile {
  abs: string;
  zst: boolean;
  archived: boolean;
}

/** A rollout of a thread and the file it is read from. */
export interface RolloutFile extends ThreadFile {
  rolloutId: string;
}

/**
 * A thread's rollouts, oldest first, one file each: the thread's first file (its rollout id is
 * the thread id), then later segments by rollout id (UUIDv7 ids sort by creation, as in the
 * index's choice of a thread's current file). Of several copies of one rollout, the one in the
 * thread's collection (active or archived) and plain before compressed.
 */
export function rolloutFiles(files: readonly ThreadFile[], threadId: string, archived: boolean): RolloutFile[] {
  const best = new Map<string, RolloutFile>();
  const rank = (f: ThreadFile): number => (f.archived === archived ? 0 : 2) + (f.zst ? 1 : 0);
  for (const f of files) {
    const name = parseRolloutFileName(path.basename(f.abs));
    if (!name || name.threadId !== threadId) continue;
    const have = best.get(name.rolloutId);
    if (!have || rank(f) < rank(have)) best.set(name.rolloutId, { ...f, rolloutId: name.rolloutId });
  }
  return [...best.values()].sort((a, b) =>
    a.rolloutId === threadId ? -1 : b.rolloutId === threadId ? 1 : a.rolloutId < b.rolloutId ? -1 : 1,
  );
}

/** `listSegments`' answer: each rollout and the `history_base` of its first line. */
export async function segmentsOf(rollouts: readonly RolloutFile[]): Promise<ThreadSegment[]> {
  const out: ThreadSegment[] = [];
  for (const r of rollouts) {
    let historyBase: HistoryBase | null = null;
    try {
      historyBase = historyBaseOf(await readFirstItem(r.abs, r.zst));
    } catch {
      // A malformed history_base reads as none (the history reads the file's own lines only).
    }
    out.push({ rolloutId: r.rolloutId as ThreadId, historyBase });
  }
  return out;
}

/** The file of one of the thread's rollouts, or `not_found`. */
export function rolloutFile(rollouts: readonly RolloutFile[], threadId: string, rolloutId: unknown): RolloutFile {
  const id = typeof rolloutId === 'string' ? rolloutId.toLowerCase() : '';
  const found = rollouts.find((r) => r.rolloutId === id);
  if (!found) throw new ThreadStoreError('not_found', `thread ${threadId} has no rollout ${String(rolloutId)}`);
  return found;
}

/** A checked `ResumeThreadParams.segment`: its id, first line and base. */
export interface CheckedSegment {
  rolloutId: ThreadId;
  meta: SessionMetaItem;
  base: HistoryBase;
}

/**
 * Checks a new segment against the thread's rollouts (see `NewSegment`): a paginated thread, a
 * base that is one of its rollouts, and a rollout id that sorts after every rollout it has (the
 * newest segment is the one with the greatest id; a UUIDv7 made now does). Whether the id is used
 * elsewhere in the home and whether the cut exists are checked by the caller.
 */
export function checkNewSegment(
  threadId: ThreadId,
  paginated: boolean,
  rollouts: readonly RolloutFile[],
  segment: unknown,
): CheckedSegment {
  const { rolloutId, base } = validateNewSegment(threadId, segment);
  if (!paginated)
    throw ThreadStoreError.invalidRequest(
      `thread ${threadId} keeps a legacy history; only a paginated thread has segments`,
    );
  if (!rollouts.some((r) => r.rolloutId === base.threadId))
    throw ThreadStoreError.invalidRequest(
      `segment.sessionMeta.payload.history_base.thread_id ${base.threadId} is not a rollout of thread ${threadId}`,
    );
  if (rollouts.some((r) => r.rolloutId === rolloutId))
    throw ThreadStoreError.conflict(`thread ${threadId} already has a rollout ${rolloutId}`);
  const newest = rollouts.at(-1)?.rolloutId ?? threadId;
  if (rolloutId < newest)
    throw ThreadStoreError.invalidRequest(
      `segment.rolloutId ${rolloutId} must sort after the thread's newest rollout ${newest} (a UUIDv7 made now does)`,
    );
  return { rolloutId, meta: (segment as { sessionMeta: SessionMetaItem }).sessionMeta, base };
}

/** When a segment's file is stamped: its session_meta's time, else now. */
export function segmentTime(meta: SessionMetaItem): Date {
  const p = meta.payload as { timestamp?: unknown };
  for (const t of [p.timestamp, meta.timestamp]) {
    if (typeof t !== 'string') continue;
    const d = new Date(t);
    if (!Number.isNaN(d.getTime())) return d;
  }
  return new Date();
}
