import type { SessionEvent, UserInput } from '@skein/core-session';
import type { CodexThread } from '@skein/thread-manager';
import type { ThreadStore } from '@skein/thread-store-api';
import type { Turn } from '../gen/protocol/v2/Turn.js';
import type { ThreadItem } from '../gen/protocol/v2/ThreadItem.js';
import type { ThreadStatus } from '../gen/protocol/v2/ThreadStatus.js';
import type { RpcConnection } from './json-rpc.js';
import { invalidRequest } from './json-rpc.js';
import { seconds, wireTurn, wireUsage } from './protocol-json.js';

/** What `turn/start` waits for: the turn the session started, or why it did not start. */
type StartOutcome = { turn: Turn } | { error: Error };

interface RunningTurn {
  turnId: string;
  startedAt: Date;
  /** The input `turn/start` gave, shown when the session has recorded it as the user message. */
  input: { input: readonly UserInput[]; clientId: string | null } | null;
  items: ThreadItem[];
  agentItemId: string | null;
  error: { message: string } | null;
}

/**
 * A thread loaded in the app-server: its `CodexThread`, the connections subscribed to it, and the
 * one consumer of its session events, which turns them into the protocol's notifications.
 */
export class LoadedThread {
  readonly subscribers = new Set<RpcConnection>();
  /** When the server loaded the thread (the creation time of a thread not written yet). */
  readonly createdAt = new Date();
  private readonly startWaiters = new Map<string, (o: StartOutcome) => void>();
  private readonly inputs = new Map<string, { input: readonly UserInput[]; clientId: string | null }>();
  private current: RunningTurn | null = null;
  /** Ends when the thread's event stream ends (after shutdown). */
  readonly pump: Promise<void>;

  constructor(
    readonly thread: CodexThread,
    private readonly store: ThreadStore,
    private readonly contextWindow: number | null,
    /** Recorded as the CLI version of threads the server starts. */
    readonly cliVersion: string,
  ) {
    this.pump = (async () => {
      for await (const ev of thread.events()) await this.handle(ev);
    })();
  }

  get threadId(): string {
    return this.thread.threadId;
  }

  get status(): ThreadStatus {
    if (this.thread.isShutDown) return { type: 'notLoaded' };
    return this.current ? { type: 'active', activeFlags: [] } : { type: 'idle' };
  }

  get activeTurnId(): string | null {
    return this.current?.turnId ?? null;
  }

  /** Submits a user turn and resolves with the started turn (`turn/start`'s answer). */
  startTurn(input: readonly UserInput[], clientId: string | null): Promise<Turn> {
    const submission = this.thread.submit({ type: 'user_turn', items: input });
    this.inputs.set(submission, { input, clientId });
    return new Promise<StartOutcome>((resolve) => this.startWaiters.set(submission, resolve)).then((o) => {
      if ('error' in o) throw o.error;
      return o.turn;
    });
  }

  /** Aborts the running turn; `invalid_request` when `turnId` is not the running turn. */
  interrupt(turnId: string): void {
    if (this.current?.turnId !== turnId) throw invalidRequest(`no active turn ${turnId} to interrupt`);
    this.thread.submit({ type: 'interrupt' });
  }

  private notify(method: string, params: unknown): void {
    for (const c of this.subscribers) c.notify(method, params);
  }

  private notifyStatus(): void {
    this.notify('thread/status/changed', { threadId: this.threadId, status: this.status });
  }

  private async handle(ev: SessionEvent): Promise<void> {
    const msg = ev.msg;
    switch (msg.type) {
      case 'turn_started': {
        const startedAt = new Date();
        const input = this.inputs.get(ev.id) ?? null;
        this.inputs.delete(ev.id);
        this.current = { turnId: msg.turnId, startedAt, input, items: [], agentItemId: null, error: null };
        const turn = this.inProgressTurn(this.current);
        this.startWaiters.get(ev.id)?.({ turn });
        this.startWaiters.delete(ev.id);
        this.notifyStatus();
        this.notify('turn/started', { threadId: this.threadId, turn: { ...turn, startedAt: seconds(startedAt) } });
        return;
      }
      case 'user_message': {
        const cur = this.current;
        if (!cur?.input || msg.turnId !== cur.turnId) return;
        // The id and time the session recorded the message with, which later reads return.
        const item = {
          type: 'userMessage',
          id: msg.itemId,
          clientId: cur.input.clientId,
          content: cur.input.input.map(wireInput),
          startedAtMs: msg.atMs,
          completedAtMs: msg.atMs,
        } as unknown as ThreadItem;
        cur.input = null;
        cur.items.push(item);
        this.itemNotification('item/started', item, { startedAtMs: msg.atMs }, { ...item, completedAtMs: null });
        this.itemNotification('item/completed', item, { completedAtMs: msg.atMs });
        return;
      }
      case 'agent_message_delta': {
        const cur = this.current;
        if (!cur) return;
        if (cur.agentItemId === null) {
          // The session gives the id the message is recorded with, so later reads match.
          cur.agentItemId = msg.itemId;
          const now = Date.now();
          this.itemNotification('item/started', agentItem(cur.agentItemId, '', now, null), { startedAtMs: now });
        }
        this.notify('item/agentMessage/delta', {
          threadId: this.threadId,
          turnId: cur.turnId,
          itemId: cur.agentItemId,
          delta: msg.delta,
        });
        return;
      }
      case 'agent_message': {
        const cur = this.current;
        if (!cur) return;
        const now = msg.atMs;
        const id = msg.itemId;
        if (cur.agentItemId === null)
          this.itemNotification('item/started', agentItem(id, '', now, null), { startedAtMs: now });
        const item = agentItem(id, msg.message, now, now);
        cur.items.push(item);
        cur.agentItemId = null;
        this.itemNotification('item/completed', item, { completedAtMs: now });
        return;
      }
      case 'agent_reasoning': {
        const cur = this.current;
        if (!cur) return;
        const now = Date.now();
        const item = {
          type: 'reasoning',
          id: msg.itemId,
          summary: [msg.text],
          content: [],
        } as unknown as ThreadItem;
        cur.items.push(item);
        this.itemNotification('item/started', item, { startedAtMs: now });
        this.itemNotification('item/completed', item, { completedAtMs: now });
        return;
      }
      case 'token_count':
        this.notify('thread/tokenUsage/updated', {
          threadId: this.threadId,
          turnId: msg.turnId,
          tokenUsage: {
            total: wireUsage(msg.total),
            last: wireUsage(msg.last),
            modelContextWindow: this.contextWindow,
          },
        });
        return;
      case 'error': {
        const cur = this.current;
        if (cur && msg.turnId === cur.turnId) {
          cur.error = { message: msg.message };
          this.notify('error', {
            error: { message: msg.message, codexErrorInfo: null, additionalDetails: null, misalignment: null },
            willRetry: false,
            threadId: this.threadId,
            turnId: cur.turnId,
          });
        } else {
          // An error before the turn started (its input was refused): turn/start fails with it.
          const waiter = this.startWaiters.get(ev.id);
          this.startWaiters.delete(ev.id);
          waiter?.({ error: invalidRequest(msg.message) });
        }
        return;
      }
      case 'turn_complete':
        await this.finishTurn(this.current?.error ? 'failed' : 'completed');
        return;
      case 'turn_aborted': {
        if (msg.turnId === null) {
          const waiter = this.startWaiters.get(ev.id);
          this.startWaiters.delete(ev.id);
          waiter?.({ error: invalidRequest('the turn was interrupted before it started') });
          return;
        }
        await this.finishTurn('interrupted');
        return;
      }
      case 'thread_name_updated':
        return;
      case 'shutdown_complete':
        for (const w of this.startWaiters.values()) w({ error: invalidRequest('the thread was shut down') });
        this.startWaiters.clear();
        return;
    }
  }

  private itemNotification(
    method: 'item/started' | 'item/completed',
    item: ThreadItem,
    stamp: { startedAtMs?: number; completedAtMs?: number },
    shown: ThreadItem = item,
  ): void {
    const turnId = this.current?.turnId;
    if (turnId === undefined) return;
    this.notify(method, { item: shown, threadId: this.threadId, turnId, ...stamp });
  }

  private inProgressTurn(cur: RunningTurn): Turn {
    return {
      id: cur.turnId,
      rootTurnId: cur.turnId,
      items: [],
      itemsView: 'notLoaded',
      status: 'inProgress',
      error: null,
      startedAt: null,
      completedAt: null,
      durationMs: null,
    };
  }

  /**
   * Ends the running turn: the completed turn is read back from the store (what a later
   * `thread/turns/list` returns), or, for an ephemeral thread, built from what was streamed.
   */
  private async finishTurn(status: 'completed' | 'failed' | 'interrupted'): Promise<void> {
    const cur = this.current;
    if (!cur) return;
    this.current = null;
    const completedAt = new Date();
    let turn: Turn | null = null;
    if (!this.thread.session.ephemeral) {
      try {
        const page = await this.store.listTurns({
          threadId: this.thread.threadId,
          includeArchived: true,
          pageSize: 1,
          itemsView: 'summary',
        });
        const stored = page.turns[0];
        // Like Codex, the completed turn carries the agent's messages (the user's was sent at the start).
        if (stored && stored.turnId === cur.turnId) {
          const wired = wireTurn(stored);
          turn = { ...wired, items: wired.items.filter((i) => i.type === 'agentMessage') };
        }
      } catch {
        turn = null;
      }
    }
    turn ??= {
      id: cur.turnId,
      rootTurnId: cur.turnId,
      items: cur.items.filter((i) => i.type === 'agentMessage').slice(-1),
      itemsView: 'summary',
      status,
      error: cur.error
        ? { message: cur.error.message, codexErrorInfo: null, additionalDetails: null, misalignment: null }
        : null,
      startedAt: seconds(cur.startedAt),
      completedAt: seconds(completedAt),
      durationMs: completedAt.getTime() - cur.startedAt.getTime(),
    };
    this.notifyStatus();
    this.notify('turn/completed', { threadId: this.threadId, turn });
  }
}

function agentItem(id: string, text: string, startedAtMs: number, completedAtMs: number | null): ThreadItem {
  return {
    type: 'agentMessage',
    moderation: null,
    id,
    text,
    phase: null,
    memoryCitation: null,
    delivery: null,
    questions: null,
    startedAtMs,
    completedAtMs,
  } as unknown as ThreadItem;
}

function wireInput(i: UserInput): unknown {
  switch (i.type) {
    case 'text':
      return { type: 'text', text: i.text, text_elements: [] };
    case 'image':
      return { type: 'image', url: i.imageUrl };
    case 'local_image':
      return { type: 'localImage', path: i.path };
  }
}
