import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadHistoryItems, newThreadId, sessionMetaPayloadFor } from '@skein/thread-store-api';
import type { RolloutItem, SessionMetaItem, ThreadId } from '@skein/thread-store-api';
import { PostgresThreadStore } from '../src/index.js';
import { createTestDatabase, freshTenant } from './helpers/database.js';
import type { TestDatabase } from './helpers/database.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase('paginated_append');
});
afterAll(async () => {
  await db.drop();
});

/** One turn as a writer appends it to a paginated thread: no ordinals, the items with their ids. */
function turn(threadId: ThreadId, n: number): RolloutItem[] {
  const turnId = `turn-${n}`;
  const item = (inner: Record<string, unknown>): RolloutItem => ({
    type: 'event_msg',
    payload: { type: 'item_completed', thread_id: threadId, turn_id: turnId, item: inner },
  });
  return [
    { type: 'event_msg', payload: { type: 'task_started', turn_id: turnId, started_at: 1_800_000_000 + n } },
    {
      type: 'response_item',
      payload: { type: 'message', role: 'user', content: [{ type: 'input_text', text: `q${n}` }] },
    },
    item({ type: 'UserMessage', id: `user-${n}`, content: [{ type: 'text', text: `q${n}`, text_elements: [] }] }),
    item({ type: 'AgentMessage', id: `msg-${n}`, content: [{ type: 'Text', text: `a${n}` }] }),
    { type: 'event_msg', payload: { type: 'task_complete', turn_id: turnId, last_agent_message: `a${n}` } },
  ];
}

describe('a paginated thread (moved here from a rollout) takes appends', () => {
  it('numbers appended lines after the last ordinal, so its turns and item ids read back, also after a resume', async () => {
    const tenant = freshTenant();
    const store = await PostgresThreadStore.open({ connectionString: db.url, tenant });
    const threadId = newThreadId();
    const createdAt = new Date('2026-11-01T10:00:00.000Z');
    const params = { threadId, source: { kind: 'cli' as const }, metadata: { cwd: '/w', modelProvider: 'openai' } };
    const payload = { ...sessionMetaPayloadFor(params, createdAt), history_mode: 'paginated' as const };
    const meta: SessionMetaItem = { timestamp: createdAt.toISOString(), ordinal: 0, type: 'session_meta', payload };
    // A line moved with its ordinal keeps it, and the writer continues after it.
    const moved: RolloutItem = {
      timestamp: '2026-11-01T10:00:01.000Z',
      ordinal: 1,
      type: 'event_msg',
      payload: { type: 'thread_settings_applied' },
    };
    try {
      await store.createThread({ ...params, createdAt, sessionMeta: meta });
      await store.appendItems({ threadId, items: [moved, ...turn(threadId, 1)] });
      await store.shutdownThread(threadId);
    } finally {
      await store.close();
    }

    const again = await PostgresThreadStore.open({ connectionString: db.url, tenant });
    try {
      await again.resumeThread({ threadId });
      await again.appendItems({ threadId, items: turn(threadId, 2) });
      await again.shutdownThread(threadId);
      const history = await loadHistoryItems(again, { threadId });
      expect(history.map((i) => i.ordinal)).toEqual(Array.from({ length: 12 }, (_, k) => k));
      // The moved line is stored as written; an appended one in Codex's key order.
      expect(JSON.stringify(history[1])).toBe(JSON.stringify(moved));
      expect(Object.keys(history[2] ?? {})).toEqual(['timestamp', 'ordinal', 'type', 'payload']);
      const turns = await again.listTurns({ threadId, itemsView: 'full', sortDirection: 'asc' });
      expect(turns.turns.map((t) => [t.turnId, t.status, t.items.map((i) => i.itemId)])).toEqual([
        ['turn-1', 'completed', ['user-1', 'msg-1']],
        ['turn-2', 'completed', ['user-2', 'msg-2']],
      ]);
      const items = await again.listItems({ threadId });
      expect(items.items.map((i) => i.itemId)).toEqual(['user-1', 'msg-1', 'user-2', 'msg-2']);
    } finally {
      await again.close();
    }
  });
});
