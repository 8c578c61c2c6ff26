import { ThreadStoreError } from './errors.js';
import { isObject } from './rollout-item.js';
import { parseThreadId } from './thread-id.js';
import type { ListStart, SortDirection } from './types.js';

/**
 * A listing's start (see ListStart) checked and reduced to numbers: the instant in epoch
 * milliseconds, whether the position is included, and the tie-breaking thread id.
 *
 * @internal
 */
export interface NormalizedListStart {
  at: number;
  inclusive: boolean;
  threadId: string | null;
}

/**
 * Checks a listing's `start`: null when absent, `invalid_request` when it is not an object with
 * a valid Date `at`, a boolean `inclusive` and a UUID `threadId`.
 *
 * @internal
 */
export function normalizeListStart(start: ListStart | null | undefined): NormalizedListStart | null {
  if (start == null) return null;
  if (!isObject(start)) throw ThreadStoreError.invalidRequest('start must be an object like { at: Date }');
  const { at, inclusive, threadId } = start as unknown as Record<string, unknown>;
  const ms = at instanceof Date ? at.getTime() : Number.NaN;
  if (!Number.isFinite(ms)) throw ThreadStoreError.invalidRequest('start.at must be a valid Date');
  if (inclusive != null && typeof inclusive !== 'boolean')
    throw ThreadStoreError.invalidRequest(`start.inclusive must be a boolean, got ${typeof inclusive}`);
  return {
    at: ms,
    inclusive: inclusive !== false,
    threadId: threadId == null ? null : parseThreadId(threadId, 'start.threadId'),
  };
}

/**
 * Whether a thread with this sort value and id lies at or beyond a start in a listing sorted in
 * `dir` (the in-memory form of the stores' SQL conditions).
 *
 * @internal
 */
export function passesStart(value: number, threadId: string, start: NormalizedListStart, dir: SortDirection): boolean {
  // c > 0: the thread comes after the start's position in listing order.
  let c = value - start.at;
  if (c === 0 && start.threadId !== null) c = threadId < start.threadId ? -1 : threadId > start.threadId ? 1 : 0;
  if (dir === 'desc') c = -c;
  return c > 0 || (c === 0 && start.inclusive);
}

/**
 * The SQL condition of a start over a sort column and an id column; `bind` adds a parameter and
 * returns its placeholder (each store has its own syntax). Row values compare the ids only at
 * equal times, as `passesStart` does.
 *
 * @internal
 */
export function startCondition(
  start: NormalizedListStart,
  dir: SortDirection,
  column: string,
  idColumn: string,
  bind: (value: unknown) => string,
): string {
  const op = (dir === 'asc' ? '>' : '<') + (start.inclusive ? '=' : '');
  if (start.threadId === null) return `${column} ${op} ${bind(start.at)}`;
  return `(${column}, ${idColumn}) ${op} (${bind(start.at)}, ${bind(start.threadId)})`;
}
