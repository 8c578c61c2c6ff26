import { loadHistoryItems, newThreadId } from '@skein/thread-store-api';
import type { RolloutItem, SessionMetaItem, ThreadId, ThreadStore } from '@skein/thread-store-api';

const T = (n: number): string => new Date(Date.UTC(2024, 0, 15, 12, 0, 0, n)).toISOString();

/** A paginated session_meta, with a history_base when given. */
function meta(threadId: ThreadId, ordinal: number, base?: { id: ThreadId; end: number }): SessionMetaItem {
  return {
    timestamp: T(ordinal),
    ordinal,
    type: 'session_meta',
    payload: {
      session_id: threadId,
      id: threadId,
      ...(base
        ? {
            forked_from_id: base.id,
            // The store keeps end_byte_offset as given.
            history_base: { thread_id: base.id, end_ordinal_exclusive: base.end, end_byte_offset: 1000 },
          }
        : {}),
      timestamp: T(ordinal),
      cwd: '/work',
      originator: 'codex_exec',
      cli_version: '0.169.0',
      source: 'cli',
      model_provider: 'openai',
      history_mode: 'paginated',
    },
  } as SessionMetaItem;
}

/** One paginated turn: task_started, the user's message, the agent's reply, task_complete. */
export function paginatedTurn(turnId: string, first: number, user: string): RolloutItem[] {
  const done = (item: Record<string, unknown>): Omit<RolloutItem, 'timestamp' | 'ordinal'> =>
    ({ type: 'event_msg', payload: { type: 'item_completed', turn_id: turnId, item } }) as RolloutItem;
  const items: Omit<RolloutItem, 'timestamp' | 'ordinal'>[] = [
    { type: 'event_msg', payload: { type: 'task_started', turn_id: turnId } },
    done({ type: 'UserMessage', id: `${turnId}-u`, content: [{ type: 'text', text: user }] }),
    done({ type: 'AgentMessage', id: `${turnId}-a`, content: [{ type: 'Text', text: `reply to ${user}` }] }),
    { type: 'event_msg', payload: { type: 'task_complete', turn_id: turnId } },
  ];
  return items.map((it, i) => ({ timestamp: T(first + i), ordinal: first + i, ...it }) as RolloutItem);
}

export interface PaginatedThread {
  id: ThreadId;
  /** The history as read (inherited items first). */
  history: RolloutItem[];
}

/**
 * A paginated thread with one turn per user message, flushed and shut down; with `base`, a fork
 * by reference of it whose inherited part ends with the base's item at `base.index`.
 */
export async function paginatedThread(
  store: ThreadStore,
  users: readonly string[],
  base?: { of: PaginatedThread; index: number },
): Promise<PaginatedThread> {
  const id = newThreadId();
  const end = base ? (base.of.history[base.index]?.ordinal ?? 0) + 1 : 0;
  const sessionMeta = meta(id, end, base ? { id: base.of.id, end } : undefined);
  await store.createThread({
    threadId: id,
    source: { kind: 'cli' },
    metadata: { cwd: '/work', modelProvider: 'openai' },
    sessionMeta,
  });
  const items = users.flatMap((u, i) => paginatedTurn(`${id}-t${i}`, end + 1 + 4 * i, u));
  await store.appendItems({ threadId: id, items });
  await store.shutdownThread(id);
  return { id, history: await loadHistoryItems(store, { threadId: id }) };
}
