import { ThreadStoreError } from './errors.js';
import { isObject } from './rollout-item.js';
import type { RolloutItem } from './rollout-item.js';
import { parseThreadId } from './thread-id.js';
import type { ThreadId } from './thread-id.js';

/**
 * Where a paginated fork's history starts: Codex 0.169's `session_meta.payload.history_base`.
 * The fork holds only its own items; its history is the history of the base rollout (itself
 * resolved through its own base) up to and including the item numbered
 * `endOrdinalExclusive - 1`, then the fork's own items, numbered from `endOrdinalExclusive`.
 *
 * A store is handed one through `CreateThreadParams.sessionMeta` (see there); it keeps the
 * reference instead of a copy and gives the `session_meta` back unchanged in the history.
 */
export interface HistoryBase {
  /** The rollout the history comes from: the base thread's id for its first rollout file. */
  threadId: ThreadId;
  /** The ordinal just after the last inherited item; the fork's own items start at it. */
  endOrdinalExclusive: number;
  /**
   * The byte just after the last inherited line in the base's rollout file. Stores with files
   * check it against that file; the others keep it as given.
   */
  endByteOffset: number;
}

/**
 * The `history_base` of a `session_meta` item, or null when the item has none (or is not a
 * `session_meta`). A malformed `history_base` is `invalid_request`.
 */
export function historyBaseOf(item: RolloutItem | null | undefined): HistoryBase | null {
  if (!item || item.type !== 'session_meta' || !isObject(item.payload)) return null;
  const hb: unknown = item.payload.history_base;
  if (hb === undefined || hb === null) return null;
  const bad = (why: string): ThreadStoreError =>
    ThreadStoreError.invalidRequest(`session_meta.payload.history_base ${why}`);
  if (!isObject(hb)) throw bad('must be an object { thread_id, end_ordinal_exclusive, end_byte_offset }');
  if (typeof hb.thread_id !== 'string') throw bad('.thread_id must be a thread id');
  const threadId = parseThreadId(hb.thread_id, 'history_base.thread_id');
  const end = hb.end_ordinal_exclusive;
  if (typeof end !== 'number' || !Number.isInteger(end) || end < 1)
    throw bad(`.end_ordinal_exclusive must be a whole number >= 1, got ${JSON.stringify(end)}`);
  const bytes = hb.end_byte_offset;
  if (typeof bytes !== 'number' || !Number.isInteger(bytes) || bytes < 1)
    throw bad(`.end_byte_offset must be a whole number >= 1, got ${JSON.stringify(bytes)}`);
  return { threadId, endOrdinalExclusive: end, endByteOffset: bytes };
}

/**
 * Where an item of a base's history stands relative to a fork's cut: `take` (inherited, more
 * may follow), `last` (the last inherited item, numbered `endOrdinalExclusive - 1`) or `stop`
 * (past the cut: neither it nor anything after it is inherited).
 *
 * @internal
 */
export function inheritedStep(item: RolloutItem, endOrdinalExclusive: number): 'take' | 'last' | 'stop' {
  const ord = item.ordinal;
  if (typeof ord !== 'number') return 'take';
  if (ord === endOrdinalExclusive - 1) return 'last';
  return ord >= endOrdinalExclusive ? 'stop' : 'take';
}

/**
 * How deep a chain of bases may go before it is taken for a cycle.
 *
 * @internal
 */
export const MAX_HISTORY_BASE_DEPTH = 32;

/**
 * The inherited prefix of a base's (resolved) history: its items up to the fork's cut. `found`
 * tells, once the stream is consumed, whether the item numbered `endOrdinalExclusive - 1` was
 * there (a reference that resolves).
 *
 * @internal
 */
export async function* inheritedPrefix(
  base: AsyncIterable<RolloutItem>,
  endOrdinalExclusive: number,
  found?: { value: boolean },
): AsyncGenerator<RolloutItem> {
  for await (const item of base) {
    const step = inheritedStep(item, endOrdinalExclusive);
    if (step === 'stop') return;
    yield item;
    if (step === 'last') {
      if (found) found.value = true;
      return;
    }
  }
}

/**
 * Checks that a base's history holds the cut a fork would reference, consuming only up to it:
 * `invalid_request` naming the missing item otherwise.
 *
 * @internal
 */
export async function requireHistoryBase(base: AsyncIterable<RolloutItem>, ref: HistoryBase): Promise<void> {
  const found = { value: false };
  try {
    for await (const _item of inheritedPrefix(base, ref.endOrdinalExclusive, found)) {
      // consumed for the check only
    }
  } catch (e) {
    if (!(e instanceof ThreadStoreError && e.code === 'not_found')) throw e;
    throw ThreadStoreError.invalidRequest(
      `session_meta.payload.history_base does not resolve: this store has no thread ${ref.threadId}`,
    );
  }
  if (!found.value)
    throw ThreadStoreError.invalidRequest(
      `session_meta.payload.history_base does not resolve: thread ${ref.threadId} has no item numbered ${ref.endOrdinalExclusive - 1}`,
    );
}
