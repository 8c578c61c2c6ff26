/** Flushes in a row, each after exactly one append, before appends start carrying the flush. */
const STREAK = 2;

/**
 * Whether a live writer's next append should carry its flush (AppendItems' `flush` field): one
 * call per batch instead of two, for a writer that flushes after every append (an agent saving
 * each step). The append's answer then comes once its items are durable, and the flush that
 * follows has nothing left to do. A writer that appends several times between flushes never asks:
 * its appends are answered without waiting for a disk.
 *
 * Errors stay where they were: the append is still answered (or fails) before `appendItems`
 * returns. A flush is only skipped when the server said `flushed` for the last append: a server
 * that does not know the field never says so, and the client calls FlushThread as before.
 */
export class AppendFlushPrediction {
  /** appendItems calls since the last flushThread. */
  private appendsSinceFlush = 0;
  /** flushThread calls in a row that each followed exactly one appendItems. */
  private streak = 0;
  /** appendItems calls started so far. */
  private appended = 0;
  /** The last of them whose answer said `flushed` (0: none). */
  private durable = 0;

  /** An appendItems call starts: its number, and whether its (last) request asks for the flush. */
  beginAppend(): { seq: number; flush: boolean } {
    const flush = this.appendsSinceFlush === 0 && this.streak >= STREAK;
    if (this.appendsSinceFlush > 0) this.streak = 0;
    this.appendsSinceFlush += 1;
    this.appended += 1;
    return { seq: this.appended, flush };
  }

  /**
   * Append `seq` was answered `flushed`: true when no append started after it, so that everything
   * this writer appended is durable.
   */
  flushedBy(seq: number): boolean {
    if (seq !== this.appended) return false;
    this.durable = seq;
    return true;
  }

  /** A flushThread call starts: true when it has nothing to do (the last append was flushed). */
  beginFlush(): boolean {
    this.streak = this.appendsSinceFlush === 1 ? this.streak + 1 : 0;
    this.appendsSinceFlush = 0;
    return this.appended > 0 && this.durable === this.appended;
  }
}
