import { InMemoryThreadStore } from '@skein/thread-store-api';
import type {
  AppendItemsParams,
  ArchiveThreadParams,
  CreateThreadParams,
  DeleteThreadParams,
  ItemPage,
  ListItemsParams,
  CountThreadsParams,
  ListThreadsParams,
  ListTurnsParams,
  LoadHistoryParams,
  ReadThreadByRolloutPathParams,
  ReadThreadParams,
  ResumeThreadParams,
  RolloutItem,
  SearchThreadsParams,
  StoredThread,
  StoredThreadWithHistory,
  ThreadId,
  ThreadPage,
  ThreadSearchPage,
  TurnPage,
  ThreadStore,
  ThreadStoreCapabilities,
  UpdateThreadMetadataParams,
} from '@skein/thread-store-api';

/** One `updateThreadMetadata` call held by the test until it completes or fails it. */
export interface HeldUpdate {
  readonly params: UpdateThreadMetadataParams;
  complete(): void;
  fail(error: unknown): void;
}

/**
 * A store that wraps another and holds every `updateThreadMetadata` until the test releases it
 * (like the Rust `ControlledThreadStore`). Only successful updates are counted.
 */
export class ControlledThreadStore implements ThreadStore {
  readonly inner: ThreadStore;
  appends = 0;
  updates = 0;
  shutdowns = 0;
  discards = 0;
  /** When false, updates pass straight through. */
  holdUpdates = true;
  private readonly held: HeldUpdate[] = [];
  private waiters: Array<(u: HeldUpdate) => void> = [];

  constructor(inner: ThreadStore = new InMemoryThreadStore()) {
    this.inner = inner;
  }

  get capabilities(): ThreadStoreCapabilities {
    return this.inner.capabilities;
  }

  /** The next held update (waits for one to arrive). */
  nextUpdate(): Promise<HeldUpdate> {
    const u = this.held.shift();
    if (u) return Promise.resolve(u);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  get heldCount(): number {
    return this.held.length;
  }

  async updateThreadMetadata(params: UpdateThreadMetadataParams): Promise<StoredThread> {
    if (this.holdUpdates) {
      await new Promise<void>((resolve, reject) => {
        const u: HeldUpdate = { params, complete: () => resolve(), fail: (e) => reject(e) };
        const w = this.waiters.shift();
        if (w) w(u);
        else this.held.push(u);
      });
    }
    const out = await this.inner.updateThreadMetadata(params);
    this.updates += 1;
    return out;
  }

  async appendItems(params: AppendItemsParams): Promise<void> {
    await this.inner.appendItems(params);
    this.appends += 1;
  }
  async shutdownThread(threadId: ThreadId): Promise<void> {
    this.shutdowns += 1;
    await this.inner.shutdownThread(threadId);
  }
  async discardThread(threadId: ThreadId): Promise<void> {
    this.discards += 1;
    await this.inner.discardThread(threadId);
  }
  createThread(params: CreateThreadParams): Promise<void> {
    return this.inner.createThread(params);
  }
  resumeThread(params: ResumeThreadParams): Promise<void> {
    return this.inner.resumeThread(params);
  }
  persistThread(threadId: ThreadId): Promise<void> {
    return this.inner.persistThread(threadId);
  }
  flushThread(threadId: ThreadId): Promise<void> {
    return this.inner.flushThread(threadId);
  }
  loadHistory(params: LoadHistoryParams): AsyncIterable<RolloutItem> {
    return this.inner.loadHistory(params);
  }
  readThread(params: ReadThreadParams): Promise<StoredThreadWithHistory> {
    return this.inner.readThread(params);
  }
  readThreadByRolloutPath(params: ReadThreadByRolloutPathParams): Promise<StoredThreadWithHistory> {
    return this.inner.readThreadByRolloutPath(params);
  }
  listThreads(params: ListThreadsParams): Promise<ThreadPage> {
    return this.inner.listThreads(params);
  }
  countThreads(params: CountThreadsParams): Promise<number> {
    return this.inner.countThreads(params);
  }
  searchThreads(params: SearchThreadsParams): Promise<ThreadSearchPage> {
    return this.inner.searchThreads(params);
  }
  listTurns(params: ListTurnsParams): Promise<TurnPage> {
    return this.inner.listTurns(params);
  }
  listItems(params: ListItemsParams): Promise<ItemPage> {
    return this.inner.listItems(params);
  }
  archiveThread(params: ArchiveThreadParams): Promise<void> {
    return this.inner.archiveThread(params);
  }
  unarchiveThread(params: ArchiveThreadParams): Promise<StoredThread> {
    return this.inner.unarchiveThread(params);
  }
  deleteThread(params: DeleteThreadParams): Promise<void> {
    return this.inner.deleteThread(params);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

/** A promise's state without waiting for it. */
export async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  p.then(
    () => (done = true),
    () => (done = true),
  );
  // Let every queued microtask and a macrotask turn run first.
  await new Promise((r) => setImmediate(r));
  return done;
}

/** A manual clock. */
export class TestClock {
  ms: number;
  constructor(start = Date.parse('2026-01-02T03:04:05.000Z')) {
    this.ms = start;
  }
  now = (): Date => new Date(this.ms);
  advance(ms: number): void {
    this.ms += ms;
  }
}

export const userMessage = (text: string): RolloutItem => ({
  type: 'event_msg',
  payload: { type: 'user_message', message: text, images: [], local_images: [], text_elements: [] },
});
export const agentMessage = (text: string): RolloutItem => ({
  type: 'event_msg',
  payload: { type: 'agent_message', message: text, phase: null },
});
export const taskStarted = (turnId = 't1'): RolloutItem => ({
  type: 'event_msg',
  payload: { type: 'task_started', turn_id: turnId, model_context_window: 1000, collaboration_mode_kind: 'default' },
});
export const agentResponse = (text: string): RolloutItem => ({
  type: 'response_item',
  payload: { type: 'message', role: 'assistant', content: [{ type: 'output_text', text }] },
});
