import type { FileHandle } from 'node:fs/promises';

/** Makes one file's written bytes durable (the recorder calls it where it would fsync alone). */
export type SyncFile = (fh: FileHandle) => Promise<void>;

/** What a group commit flushes: a rollout writer that can hand its fsync to the group. */
export interface CommitMember {
  readonly path: string;
  flush(sync: SyncFile): Promise<void>;
}

export interface GroupCommitOptions<M extends CommitMember = CommitMember> {
  /** Whether a round fsyncs the files its members wrote (the store's fsync policy). */
  fsync: boolean;
  /**
   * Runs once per round, after its fsyncs and before the round's flushes resolve, with the files
   * written in it and their members (e.g. to index them all in one transaction). Its failure
   * does not fail the flushes: their bytes are durable already.
   */
  afterRound?: (paths: string[], members: readonly M[]) => Promise<void>;
}

interface Waiter<M> {
  member: M;
  resolve: () => void;
  reject: (e: unknown) => void;
}

/**
 * Group commit across threads. A flush asked for while a round is under way waits for the next
 * round, so every flush waiting at the same time shares one: each member writes its lines, the
 * round fsyncs all the files at once (one fsync round, however many writers were waiting), runs
 * `afterRound` once for all of them, and only then resolves their flushes. A member whose write
 * failed is rejected alone; the others still commit. Rounds run one at a time.
 */
export class GroupCommit<M extends CommitMember = CommitMember> {
  private readonly fsync: boolean;
  private readonly afterRound: GroupCommitOptions<M>['afterRound'];
  private queue: Waiter<M>[] = [];
  private running: Promise<void> | null = null;
  /** Rounds that fsynced at least one file. */
  fsyncRounds = 0;
  /** Rounds run (with or without an fsync). */
  rounds = 0;
  /** Files fsynced in all. */
  filesSynced = 0;

  constructor(options: GroupCommitOptions<M>) {
    this.fsync = options.fsync;
    this.afterRound = options.afterRound;
  }

  /** Flushes `member` in the next round; resolves once its bytes are durable (and `afterRound` ran). */
  flush(member: M): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ member, resolve, reject });
      this.running ??= this.drain();
    });
  }

  /** Resolves when no round is running or waiting. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private async drain(): Promise<void> {
    // Let the flushes asked for in this same turn of the event loop join the first round.
    await new Promise<void>((r) => setImmediate(r));
    try {
      while (this.queue.length > 0) {
        const waiters = this.queue;
        this.queue = [];
        await this.round(waiters);
      }
    } finally {
      this.running = null;
    }
  }

  private async round(waiters: Waiter<M>[]): Promise<void> {
    // One flush per writer per round: the same writer asked twice shares the first's outcome.
    const byMember = new Map<M, Waiter<M>[]>();
    for (const w of waiters) byMember.set(w.member, [...(byMember.get(w.member) ?? []), w]);
    const members = [...byMember.keys()];
    const handles: FileHandle[] = [];
    let arrived = 0;
    let release!: (e?: unknown) => void;
    const synced = new Promise<void>((resolve, reject) => {
      release = (e?: unknown) => (e === undefined ? resolve() : reject(e as Error));
    });
    // The round's fsyncs start once every member has either written (and asked to sync) or
    // finished without needing one; they run side by side.
    const maybeStart = (): void => {
      if (arrived < members.length) return;
      if (!this.fsync || handles.length === 0) return release();
      this.fsyncRounds += 1;
      this.filesSynced += handles.length;
      Promise.all(handles.map((fh) => fh.sync())).then(() => release(), release);
    };
    const sync: SyncFile = async (fh) => {
      handles.push(fh);
      arrived += 1;
      maybeStart();
      await synced;
    };
    const outcomes = await Promise.allSettled(
      members.map(async (m) => {
        let asked = false;
        try {
          await m.flush(async (fh) => {
            asked = true;
            await sync(fh);
          });
        } finally {
          if (!asked) {
            arrived += 1;
            maybeStart();
          }
        }
      }),
    );
    this.rounds += 1;
    const written = members.filter((_, i) => outcomes[i]!.status === 'fulfilled');
    if (written.length > 0 && this.afterRound)
      await this.afterRound(
        written.map((m) => m.path),
        written,
      ).catch(() => undefined);
    members.forEach((m, i) => {
      const o = outcomes[i]!;
      for (const w of byMember.get(m)!) {
        if (o.status === 'fulfilled') w.resolve();
        else w.reject(o.reason);
      }
    });
  }
}
