import { createHash } from 'node:crypto';

/**
 * Per-row checksums of the index. A byte changed inside row data (a disk error, a stray write)
 * passes SQLite's own checks, which look at the file's structure, and would be served as truth:
 * each row carries a 48-bit hash of its values, checked when the row is read for an answer and
 * by the background integrity pass (integrity.ts).
 */

/** The hash of a row's values in order (a safe integer, so SQLite and JS agree on it). */
export function rowSum(values: readonly unknown[]): number {
  // One string hashed in one call (a call into the hash per value cost more than the hashing):
  // the same bytes as hashing the values one by one, so sums written before still match.
  let text = '';
  for (const v of values) {
    // Type-tagged and NUL-terminated, so ('a', 'b') and ('ab', '') differ and so do 1 and '1'.
    if (v === null || v === undefined) text += 'n\u0000';
    else if (typeof v === 'number' || typeof v === 'bigint') text += `i${String(v)}\u0000`;
    else text += `s${String(v)}\u0000`;
  }
  return createHash('sha1').update(text).digest().readUIntBE(0, 6);
}

/** The columns of `threads` covered by its `sum`, in order. */
export const THREAD_SUM_COLUMNS = [
  'thread_id',
  'rel',
  'archived',
  'listable',
  'has_preview',
  'model_provider',
  'cwd',
  'created_ms',
  'updated_ms',
  'recency_ms',
  'archived_ms',
  'name',
  'preview',
  'source',
  'source_kind',
  'subagent_kind',
  'source_key',
  'name_lc',
  'preview_lc',
  'data',
] as const;

/**
 * The columns of `files` covered by its `sum`: the file's identity and indexed state. Its path,
 * archived flag and times are updated in place when a file moves or is touched, so they are not.
 */
export const FILE_SUM_COLUMNS = [
  'thread_id',
  'zst',
  'size',
  'ino',
  'indexed_bytes',
  'state',
  'base_id',
  'base_end',
] as const;

export function sumOf(row: Record<string, unknown>, columns: readonly string[]): number {
  return rowSum(columns.map((c) => row[c]));
}
