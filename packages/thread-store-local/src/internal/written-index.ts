import type { ThreadIndex } from './indexer.js';

/**
 * How long after the start of one pass over written files the next may start. Flush rounds
 * that end meanwhile are indexed together: a writer that flushes every few milliseconds has
 * its file read once per pass, not once per round.
 */
export const WRITTEN_PASS_GAP_MS = 10;

/** What the indexer reads from its store: the index to keep current (none before the first listing). */
export interface WrittenIndexHost {
  index(): ThreadIndex | null;
  closed(): boolean;
}

/**
 * Reads back the files that flush rounds wrote but could not index from what they wrote (see
 * appended-index.ts: a file someone else also changed, a writer that lost track), off the
 * flushes' path: the files of the rounds that ended since the last pass go into the index in
 * one pass (one transaction), at most one pass every `gapMs`. A listing does not wait for this:
 * it indexes the files still dirty itself (the store marks every file it flushes, and does not
 * hold back one waiting here), so it never answers from an index older than the flushes that
 * resolved before it began.
 */
export class WrittenIndexer {
  private pending = new Set<string>();
  /** The files of the pass under way. */
  private inPass: ReadonlySet<string> = new Set();
  private running: Promise<void> | null = null;
  private lastStart = -Infinity;
  /** Passes run (for tests and profiles). */
  passes = 0;

  constructor(
    private readonly host: WrittenIndexHost,
    private readonly gapMs: number = WRITTEN_PASS_GAP_MS,
  ) {}

  /** Queues files a round wrote for the next pass. Before the first listing there is no index to keep current. */
  add(paths: readonly string[]): void {
    if (this.host.closed() || !this.host.index()) return;
    for (const p of paths) this.pending.add(p);
    this.running ??= this.drain();
  }

  /** Whether `abs` waits for a pass or is in the one under way. */
  has(abs: string): boolean {
    return this.pending.has(abs) || this.inPass.has(abs);
  }

  /** Resolves when no pass is running or waiting (a closed host's queue is dropped). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private async drain(): Promise<void> {
    try {
      while (this.pending.size > 0 && !this.host.closed()) {
        const wait = this.lastStart + this.gapMs - performance.now();
        // Lets the rounds that end meanwhile join this pass.
        await new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, wait)));
        const index = this.host.index();
        if (!index || this.host.closed()) break;
        const paths = this.pending;
        this.pending = new Set();
        this.inPass = paths;
        this.lastStart = performance.now();
        this.passes += 1;
        // A failed pass loses nothing: the files stay dirty for the next listing.
        await index.syncPaths(paths).catch(() => undefined);
        this.inPass = new Set();
      }
    } finally {
      this.running = null;
    }
  }
}
