import type { RolloutItem, ThreadId } from '@skein/thread-store-api';
import { LocalThreadStore } from '@skein/thread-store-local';

/**
 * A home of paginated threads (Codex 0.169's format) with forks by reference, written by the
 * local store the way Codex writes them: each fork's file holds only its own lines and its first
 * line's `history_base` points into its base's file.
 */
export const LINEAGE = {
  /** Three turns: two before its forks were made, one after. */
  root: '0193eeee-0000-7000-8000-000000000001' as ThreadId,
  /** A fork of all of root's first two turns, with one turn of its own. */
  fork: '0193eeee-0000-7000-8000-000000000002' as ThreadId,
  /**
   * A fork of `fork` after its own turn (a fork by reference of a fork). Its creation time is
   * before its base's, so a copy in creation order would reach it first.
   */
  forkOfFork: '0193eeee-0000-7000-8000-000000000003' as ThreadId,
  /** A fork of `fork` after its second (inherited) turn: its history_base points at root. */
  forkAtBase: '0193eeee-0000-7000-8000-000000000004' as ThreadId,
  /** A fork of root after its first turn. */
  midFork: '0193eeee-0000-7000-8000-000000000005' as ThreadId,
} as const;

/** The turns each thread of the lineage reads as (inherited ones included). */
export const LINEAGE_TURNS: Record<keyof typeof LINEAGE, number> = {
  root: 3,
  fork: 3,
  forkOfFork: 4,
  forkAtBase: 3,
  midFork: 2,
};

/** One completed turn as Codex 0.169 writes it in a paginated rollout. */
function turn(threadId: ThreadId, n: number, user: string, agent: string): RolloutItem[] {
  const turnId = `turn-${threadId.slice(-2)}-${n}`;
  const completed = (item: Record<string, unknown>): RolloutItem => ({
    type: 'event_msg',
    payload: { type: 'item_completed', thread_id: threadId, turn_id: turnId, item },
  });
  return [
    { type: 'event_msg', payload: { type: 'task_started', turn_id: turnId } },
    {
      type: 'response_item',
      payload: { type: 'message', role: 'user', content: [{ type: 'input_text', text: user }] },
    },
    completed({ type: 'UserMessage', id: `u-${turnId}`, content: [{ type: 'text', text: user }] }),
    completed({ type: 'AgentMessage', id: `a-${turnId}`, content: [{ type: 'Text', text: agent }] }),
    {
      type: 'response_item',
      payload: { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: agent }] },
    },
    { type: 'event_msg', payload: { type: 'task_complete', turn_id: turnId, last_agent_message: agent } },
  ];
}

/** Writes the lineage into `home` (a Codex home, made when missing). */
export async function makePaginatedLineage(home: string): Promise<void> {
  const store = new LocalThreadStore({ home, watch: false, fsync: 'never' });
  let n = 0;
  const write = async (
    threadId: ThreadId,
    createdAt: string,
    turns: string[],
    forkBase?: { threadId: ThreadId; turns?: number },
  ): Promise<void> => {
    await store.createThread({
      threadId,
      source: { kind: 'cli' },
      historyMode: 'paginated',
      createdAt: new Date(createdAt),
      metadata: { cwd: '/proj/lineage', modelProvider: 'openai' },
      ...(forkBase ? { forkBase, forkedFromId: forkBase.threadId } : {}),
    });
    for (const text of turns) await store.appendItems({ threadId, items: turn(threadId, n++, text, `done: ${text}`) });
    await store.shutdownThread(threadId);
  };
  try {
    await write(LINEAGE.root, '2026-11-25T08:00:00.000Z', ['plan the parser', 'write the lexer']);
    await write(LINEAGE.fork, '2026-11-25T09:00:00.000Z', ['try a recursive descent parser'], {
      threadId: LINEAGE.root,
    });
    await write(LINEAGE.forkOfFork, '2026-11-25T07:00:00.000Z', ['add error recovery'], {
      threadId: LINEAGE.fork,
      turns: 3,
    });
    await write(LINEAGE.forkAtBase, '2026-11-25T10:00:00.000Z', ['try a Pratt parser instead'], {
      threadId: LINEAGE.fork,
      turns: 2,
    });
    await write(LINEAGE.midFork, '2026-11-25T11:00:00.000Z', ['start over with a grammar file'], {
      threadId: LINEAGE.root,
      turns: 1,
    });
    // The root goes on after its forks were made.
    await store.resumeThread({ threadId: LINEAGE.root });
    await store.appendItems({ threadId: LINEAGE.root, items: turn(LINEAGE.root, n++, 'benchmark it', 'fast enough') });
    await store.shutdownThread(LINEAGE.root);
  } finally {
    await store.close();
  }
}
