import type { ThreadMetadataPatch } from '@skein/thread-store-api';
import type { ThreadMetadataSync } from './metadata-sync.js';

/**
 * Writes a live thread's derived metadata off the append path. At most one update is in flight;
 * facts that arrive meanwhile pile up in the sync's pending patch and go out as one follow-up
 * update. A background failure is never thrown at an appender: if newer facts are queued the
 * worker retries at once with the merged patch, otherwise it stops and the next barrier retries
 * and reports that retry's outcome.
 */
export class MetadataWorker {
  /** The one update in flight (sent by the loop or by a barrier); it never rejects. */
  private current: Promise<void> | null = null;
  private loopRunning: Promise<void> | null = null;

  constructor(
    private readonly sync: ThreadMetadataSync,
    private readonly send: (patch: ThreadMetadataPatch) => Promise<void>,
  ) {}

  /** Whether the background loop is running (observable for tests and diagnostics). */
  get running(): boolean {
    return this.loopRunning !== null;
  }

  /** Starts the background loop when there is something to write and it is not running. */
  kick(): void {
    if (this.loopRunning !== null || !this.sync.shouldEmit()) return;
    this.loopRunning = this.loop().finally(() => {
      this.loopRunning = null;
    });
  }

  /**
   * Sends the whole pending patch as the one update in flight. Callers must have checked
   * synchronously that nothing else is in flight. Resolves to the error, if any.
   */
  private sendPending(): Promise<{ error: unknown } | null> | null {
    const taken = this.sync.take();
    if (!taken) return null;
    let outcome: { error: unknown } | null = null;
    const attempt = this.send(taken.patch).then(
      () => this.sync.markApplied(taken.generation),
      (error: unknown) => {
        outcome = { error };
      },
    );
    this.current = attempt.finally(() => {
      this.current = null;
    });
    return this.current.then(() => outcome);
  }

  private async loop(): Promise<void> {
    for (;;) {
      while (this.current !== null) await this.current;
      if (!this.sync.shouldEmit()) return;
      const before = this.sync.generation;
      const pending = this.sendPending();
      if (!pending) return;
      const failure = await pending;
      // Newer facts queued behind a failed update: retry with everything merged, so the barrier
      // covering them finds them applied. Otherwise stop and leave the retry to a barrier.
      if (failure !== null && this.sync.generation === before) return;
    }
  }

  /** Resolves once no update is in flight and the loop has stopped. */
  async idle(): Promise<void> {
    while (this.current !== null || this.loopRunning !== null) {
      if (this.loopRunning !== null) await this.loopRunning;
      else if (this.current !== null) await this.current;
    }
  }

  /**
   * Makes every fact merged up to generation `target` durable. `includeHeldBack` also writes a
   * create or resume patch still waiting for the first append (`persist`). Throws the error of
   * an update it made itself; facts merged after `target` are left to the worker.
   */
  async barrier(includeHeldBack: boolean, target: number = this.sync.generation): Promise<void> {
    for (;;) {
      // Checked synchronously right before sending, so two writers never send at once.
      while (this.current !== null && this.sync.appliedGeneration < target) await this.current;
      if (this.sync.appliedGeneration >= target || !this.sync.hasPending()) break;
      if (this.sync.isHeldBack() && !includeHeldBack) break;
      if (this.current !== null) continue;
      const pending = this.sendPending();
      if (!pending) break;
      const failure = await pending;
      if (failure !== null) throw failure.error;
    }
    this.kick();
  }
}
