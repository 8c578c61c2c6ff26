import path from 'node:path';
import { isEventMsg, isObject, ThreadStoreError } from '@skein/thread-store-api';
import { parseRolloutFileName } from './paths.js';
import { historyBaseOf, parseLine, readFirstItem, readRawLines } from './reader.js';
import type { ParentResolver } from './reader.js';
import type { HistoryBase } from '@skein/thread-store-api';

/** Where a paginated fork's inherited history ends: Codex's `history_base`. */
export interface ForkBase {
  /** The rollout the fork points at (the thread id, for a thread's first segment). */
  rolloutId: string;
  endOrdinalExclusive: number;
  endByteOffset: number;
}

interface Segment {
  rolloutId: string;
  path: string;
  zst: boolean;
  /** Exclusive end of the inherited prefix; undefined for the parent's own file (all of it). */
  end: number | undefined;
  /** This segment's own base (for a cut right after its session_meta). */
  base: ForkBase | null;
}

interface Cut {
  seg: number;
  byte: number;
  ordinalExclusive: number;
}

interface TurnSpan {
  start: Cut;
  end: Cut | null;
}

const MAX_DEPTH = 32;

/**
 * The parent's lineage, oldest segment first, following `history_base` like Codex does. The
 * parent itself is its current file (`current`, the newest segment); its ancestors are found by
 * rollout id (`resolve`).
 */
async function lineage(threadId: string, current: ParentResolver, resolve: ParentResolver): Promise<Segment[]> {
  const out: Segment[] = [];
  let id = threadId.toLowerCase();
  let end: number | undefined;
  for (let depth = 0; depth < MAX_DEPTH; depth++) {
    const loc = depth === 0 ? await current(id) : await resolve(id);
    if (!loc) {
      if (depth === 0) throw ThreadStoreError.notFound(threadId);
      throw ThreadStoreError.invalidRequest(
        `cannot fork ${threadId}: the rollout ${id} its history is based on is missing`,
      );
    }
    const first = await readFirstItem(loc.path, loc.zst);
    if (!first || first.type !== 'session_meta' || !isObject(first.payload))
      throw ThreadStoreError.invalidRequest(`cannot fork ${threadId}: ${loc.path} does not start with session_meta`);
    if (first.payload.history_mode !== 'paginated')
      throw ThreadStoreError.unsupported(
        'a fork by reference of a legacy thread',
        'a legacy rollout is forked by copying its history',
      );
    const hb = historyBaseOf(first);
    const rawHb = first.payload.history_base;
    const base =
      hb && isObject(rawHb) && typeof rawHb.end_ordinal_exclusive === 'number'
        ? { rolloutId: hb.threadId, endOrdinalExclusive: rawHb.end_ordinal_exclusive, endByteOffset: hb.endByteOffset }
        : null;
    const rolloutId = depth === 0 ? (parseRolloutFileName(path.basename(loc.path))?.rolloutId ?? id) : id;
    out.unshift({ rolloutId, path: loc.path, zst: loc.zst, end, base });
    if (!hb) return out;
    id = hb.threadId;
    end = hb.endByteOffset;
  }
  throw ThreadStoreError.invalidRequest(`cannot fork ${threadId}: its history_base chain is too long or cyclic`);
}

/**
 * Computes the `history_base` of a fork of `threadId` after its turn `turns` (1-based; the whole
 * thread when undefined) from the parent's bytes, as Codex computes it from its projection: the
 * end of the turn's terminal line (`task_complete` / `turn_aborted`), or for the whole thread the
 * end of its last complete line, with that line's ordinal + 1. A cut right after a segment's own
 * `session_meta` moves to that segment's base, as Codex does.
 */
export async function paginatedForkBase(
  fork: { threadId: string; turns?: number },
  current: ParentResolver,
  resolve: ParentResolver,
): Promise<ForkBase> {
  const turnsWanted = fork.turns;
  if (turnsWanted !== undefined && (!Number.isInteger(turnsWanted) || turnsWanted < 1))
    throw ThreadStoreError.invalidRequest(
      `a fork keeps at least one whole turn: turns must be a whole number >= 1, got ${String(turnsWanted)}`,
    );
  const segs = await lineage(fork.threadId, current, resolve);
  const turns: TurnSpan[] = [];
  let last: Cut | null = null;
  const metaEnd: number[] = [];
  for (const [i, seg] of segs.entries()) {
    const range: Parameters<typeof readRawLines>[1] = { zst: seg.zst };
    if (seg.end !== undefined) range.end = seg.end;
    let first = true;
    for await (const line of readRawLines(seg.path, range)) {
      if (!line.complete) break;
      const p = parseLine(line.text);
      if (p.kind !== 'item' && p.kind !== 'patch') continue;
      const ord = p.item.ordinal;
      if (typeof ord !== 'number') continue;
      if (first) {
        metaEnd[i] = line.end;
        first = false;
      }
      const here: Cut = { seg: i, byte: line.end, ordinalExclusive: ord + 1 };
      last = here;
      if (isEventMsg(p.item, 'task_started'))
        turns.push({ start: { seg: i, byte: line.start, ordinalExclusive: ord }, end: null });
      else if (isEventMsg(p.item, 'task_complete') || isEventMsg(p.item, 'turn_aborted')) {
        const open = turns.at(-1);
        if (open && open.end === null) open.end = here;
      }
    }
  }
  let cut: Cut | null = last;
  if (turnsWanted !== undefined) {
    if (turnsWanted > turns.length)
      throw ThreadStoreError.invalidRequest(
        `cannot fork after turn ${turnsWanted}: thread ${fork.threadId} has ${turns.length} turn(s)`,
      );
    const t = turns[turnsWanted - 1] as TurnSpan;
    cut = t.end ?? turns[turnsWanted]?.start ?? last;
  }
  if (!cut) throw ThreadStoreError.invalidRequest(`cannot fork ${fork.threadId}: its rollout has no records`);
  const seg = segs[cut.seg] as Segment;
  if (cut.byte === metaEnd[cut.seg] && seg.base) return seg.base;
  return { rolloutId: seg.rolloutId, endOrdinalExclusive: cut.ordinalExclusive, endByteOffset: cut.byte };
}

/**
 * Checks a `history_base` handed in with a thread's `session_meta` (a fork moved here from
 * another store) against the base's file, as Codex will read it: a complete line must end at
 * `end_byte_offset`, numbered `end_ordinal_exclusive - 1`. Otherwise the reference would give the
 * fork another history than it had, so it is `invalid_request`.
 */
export async function checkGivenForkBase(ref: HistoryBase, resolve: ParentResolver): Promise<void> {
  const bad = (why: string): ThreadStoreError =>
    ThreadStoreError.invalidRequest(`session_meta.payload.history_base does not resolve: ${why}`);
  const loc = await resolve(ref.threadId);
  if (!loc) throw bad(`this store has no thread ${ref.threadId}`);
  let last: { end: number; ordinal: unknown } | null = null;
  for await (const line of readRawLines(loc.path, { zst: loc.zst, end: ref.endByteOffset })) {
    if (!line.complete) break;
    const p = parseLine(line.text);
    last = { end: line.end, ordinal: p.kind === 'item' || p.kind === 'patch' ? p.item.ordinal : undefined };
  }
  if (!last || last.end !== ref.endByteOffset)
    throw bad(`no line of thread ${ref.threadId} ends at byte ${ref.endByteOffset}`);
  if (last.ordinal !== ref.endOrdinalExclusive - 1)
    throw bad(
      `the line of thread ${ref.threadId} ending at byte ${ref.endByteOffset} is numbered ${String(last.ordinal)}, not ${ref.endOrdinalExclusive - 1}`,
    );
}
