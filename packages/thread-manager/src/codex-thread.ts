import type { Op, Session, SessionEvent } from '@skein/core-session';
import type {
  SessionSource,
  StoredThreadWithHistory,
  ThreadId,
  ThreadMetadataPatch,
  StoredThread,
} from '@skein/thread-store-api';

/** What a loaded thread says about itself. */
export interface CodexThreadMetadata {
  threadId: ThreadId;
  model: string;
  modelProvider: string;
  cwd: string;
  source: SessionSource;
  ephemeral: boolean;
  /** The rollout file: local stores only, once the thread is materialized; null otherwise. */
  rolloutPath: string | null;
  forkedFromId: ThreadId | null;
}

/** One loaded, running thread seen from outside: submit ops, read events, shut it down. */
export class CodexThread {
  readonly threadId: ThreadId;
  private shutdownPromise: Promise<void> | null = null;

  constructor(
    readonly session: Session,
    private readonly forkedFromId: ThreadId | null = null,
  ) {
    this.threadId = session.threadId;
  }

  /** Queues an op; returns its submission id (events carry it). */
  submit(op: Op): string {
    return this.session.submit(op);
  }

  /** The thread's events in order; ends after `shutdown_complete`. One consumer. */
  events(): AsyncIterable<SessionEvent> {
    return this.session.events();
  }

  /** The thread's session facts: id, model, working directory, name and where it is stored. */
  async metadata(): Promise<CodexThreadMetadata> {
    return {
      threadId: this.threadId,
      model: this.session.model.model,
      modelProvider: this.session.modelProvider,
      cwd: this.session.cwd,
      source: this.session.source,
      ephemeral: this.session.ephemeral,
      rolloutPath: await this.session.live.localRolloutPath(),
      forkedFromId: this.forkedFromId,
    };
  }

  /** Reads the thread's summary (and history) through its live writer. */
  readThread(options: { includeHistory?: boolean } = {}): Promise<StoredThreadWithHistory> {
    return this.session.readThread(options);
  }

  /** Applies a metadata patch through the thread's LiveThread. */
  updateMetadata(patch: ThreadMetadataPatch): Promise<StoredThread> {
    return this.session.live.updateMetadata(patch);
  }

  get isShutDown(): boolean {
    return this.session.isShutDown;
  }

  /** Resolves once the thread has shut down (by `shutdown()` or a submitted shutdown op). */
  get done(): Promise<void> {
    return this.session.done;
  }

  /** Aborts running turns, writes everything and closes the thread. Idempotent. */
  shutdown(): Promise<void> {
    if (!this.shutdownPromise) {
      try {
        this.session.submit({ type: 'shutdown' });
      } catch {
        // Already shutting down through a submitted op: wait for that one.
      }
      this.shutdownPromise = this.session.done;
    }
    return this.shutdownPromise;
  }
}
