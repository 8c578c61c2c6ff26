/**
 * The `threads` rows this process has already checked against their checksum (see
 * checkThreadRow), keyed by thread id with the values an answer serves from them. A row read
 * again with the same sum and the same served values was verified as it is: hashing it again
 * would prove nothing new, so a repeated page costs a comparison per row instead of a hash.
 * A row whose sum or served values differ from the last check (rewritten, or damaged since) is
 * read in full and checked again. The columns an answer does not serve (the filter columns)
 * are checked when the row is first read and by the background integrity pass.
 */

/** The columns of a `threads` row an answer serves, with its sum. */
export interface ServedRow {
  thread_id: string;
  sum: number;
  rel: string;
  archived: number;
  listable: number;
  data: string;
}

/** The columns listings select for a page (the served ones), as SQL over `threads t`. */
export const SERVED_COLUMNS = 't.thread_id, t.sum, t.rel, t.archived, t.listable, t.data';

/** At most this many rows are remembered; past it the memory starts afresh. */
const MAX_ROWS = 4096;

export class VerifiedRows {
  private readonly rows = new Map<string, ServedRow>();

  /** Whether this row was verified with exactly these served values. */
  seen(r: ServedRow): boolean {
    const v = this.rows.get(r.thread_id);
    return (
      v !== undefined &&
      v.sum === r.sum &&
      v.data === r.data &&
      v.rel === r.rel &&
      v.archived === r.archived &&
      v.listable === r.listable
    );
  }

  /** Records a row that passed its check. */
  add(r: ServedRow): void {
    if (this.rows.size >= MAX_ROWS && !this.rows.has(r.thread_id)) this.rows.clear();
    this.rows.set(r.thread_id, {
      thread_id: r.thread_id,
      sum: r.sum,
      rel: r.rel,
      archived: r.archived,
      listable: r.listable,
      data: r.data,
    });
  }

  clear(): void {
    this.rows.clear();
  }
}
