import { ThreadStoreError } from './errors.js';

/**
 * Limits every store enforces on what a caller sends, so that all of them answer the same
 * `invalid_request` instead of clamping, wrapping or running out of memory.
 */

/**
 * The earliest date a thread can carry (createdAt, updatedAt, advanceRecencyAt):
 * 1970-01-01T00:00:00.000Z. File times before the epoch are not portable.
 */
export const MIN_THREAD_DATE = new Date(0);
/**
 * The latest: 9999-12-31T23:59:59.999Z. Rollout file names and folders carry a 4-digit year,
 * and file systems clamp larger modification times.
 */
export const MAX_THREAD_DATE = new Date(Date.UTC(9999, 11, 31, 23, 59, 59, 999));

/** At most this many entries in each listing filter list (allowedSources, modelProviders, cwdFilters). */
export const MAX_FILTER_VALUES = 256;

/** Whether `value` is a valid Date within the supported range. */
export function isSupportedDate(value: unknown): boolean {
  if (!(value instanceof Date)) return false;
  const t = value.getTime();
  return t >= MIN_THREAD_DATE.getTime() && t <= MAX_THREAD_DATE.getTime();
}

/**
 * Throws `invalid_request` unless `value` is a valid Date in the supported range.
 *
 * @internal
 */
export function checkThreadDate(value: unknown, what: string): Date {
  if (!(value instanceof Date) || Number.isNaN(value.getTime()))
    throw ThreadStoreError.invalidRequest(`${what} must be a valid Date`);
  if (!isSupportedDate(value))
    throw ThreadStoreError.invalidRequest(
      `${what} must be between ${MIN_THREAD_DATE.toISOString()} and ${MAX_THREAD_DATE.toISOString()}, got ${value.toISOString()}`,
    );
  return value;
}

/**
 * Throws `invalid_request` unless `list` is absent or an array of at most MAX_FILTER_VALUES entries.
 *
 * @internal
 */
export function checkFilterList(list: unknown, what: string, entry: (v: unknown) => boolean, shape: string): void {
  if (list == null) return;
  if (!Array.isArray(list)) throw ThreadStoreError.invalidRequest(`${what} must be an array`);
  if (list.length > MAX_FILTER_VALUES)
    throw ThreadStoreError.invalidRequest(
      `${what} has ${list.length} entries; at most ${MAX_FILTER_VALUES} are accepted (list without the filter, or split the query)`,
    );
  list.forEach((v: unknown, i) => {
    if (!entry(v)) throw ThreadStoreError.invalidRequest(`${what}[${i}] must be ${shape}`);
  });
}
