import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { EchoModelClient } from '@skein/core-session';
import type { SessionEvent } from '@skein/core-session';
import { collectHistory, newThreadId } from '@skein/thread-store-api';
import type { RolloutItem, StoredTurn, ThreadId, ThreadStore } from '@skein/thread-store-api';
import { LocalThreadStore } from '@skein/thread-store-local';
import { afterEach, describe, expect, it } from 'vitest';
import { ThreadManager } from '../src/index.js';
import type { CodexThread } from '../src/index.js';

/**
 * Forks of legacy threads in a home whose store writes paginated rollouts by default (what
 * Codex 0.169 does): the fork is a legacy copy, so its turn pages are the parent's turns up to
 * the fork point, whether the parent marks turns with task_started/task_complete or (older
 * Codex) only with user messages.
 */

let home: string;
const opened: ThreadStore[] = [];
const managers: ThreadManager[] = [];

afterEach(async () => {
  for (const m of managers.splice(0)) await m.shutdownAll();
  for (const s of opened.splice(0)) await s.close().catch(() => undefined);
  await rm(home, { recursive: true, force: true });
});

async function openHome(historyMode?: 'legacy'): Promise<LocalThreadStore> {
  home ??= await mkdtemp(path.join(tmpdir(), 'skein-fork-turns-'));
  const store = new LocalThreadStore({
    home,
    defaultModelProvider: 'openai',
    fsync: 'never',
    watch: false,
    ...(historyMode ? { historyMode } : {}),
  });
  opened.push(store);
  return store;
}

function manager(store: ThreadStore): ThreadManager {
  const m = new ThreadManager({
    store,
    model: new EchoModelClient({ provider: 'openai', model: 'echo-1' }),
    defaults: { cwd: home, cliVersion: '0.1.0' },
  });
  managers.push(m);
  return m;
}

const readers = new WeakMap<CodexThread, AsyncIterator<SessionEvent>>();
async function turn(thread: CodexThread, text: string): Promise<void> {
  const events = readers.get(thread) ?? thread.events()[Symbol.asyncIterator]();
  readers.set(thread, events);
  thread.submit({ type: 'user_turn', items: [{ type: 'text', text }] });
  for (;;) {
    const r: IteratorResult<SessionEvent> = await events.next();
    if (r.done) throw new Error('events ended before turn_complete');
    if (r.value.msg.type === 'turn_complete') return;
  }
}

async function allTurns(store: ThreadStore, threadId: ThreadId): Promise<StoredTurn[]> {
  const page = await store.listTurns({ threadId, pageSize: 100, sortDirection: 'asc', itemsView: 'full' });
  expect(page.nextCursor).toBeNull();
  return page.turns;
}

/**
 * What a copy keeps of a turn: its status, error, duration and items. Lines copied into a fork
 * are written anew (new times), and a turn opened by a user message has no id of its own (its
 * id names its position), so those are left out; a turn id from task_started is kept.
 */
function copied(turns: StoredTurn[]): unknown[] {
  return turns.map((t) => ({
    turnId: t.turnId.startsWith('legacy-turn-') ? '(implicit)' : t.turnId,
    status: t.status,
    error: t.error,
    durationMs: t.durationMs,
    items: t.items.map((i) => ({ itemId: i.itemId, item: i.item })),
  }));
}

const userMessage = (text: string): RolloutItem[] => [
  { type: 'response_item', payload: { type: 'message', role: 'user', content: [{ type: 'input_text', text }] } },
  { type: 'event_msg', payload: { type: 'user_message', message: text, images: [], local_images: [] } },
];
const agentMessage = (text: string): RolloutItem[] => [
  { type: 'event_msg', payload: { type: 'agent_message', message: text } },
  {
    type: 'response_item',
    payload: { type: 'message', role: 'assistant', content: [{ type: 'output_text', text }] },
  },
];

describe('a fork of a legacy thread keeps its turns', () => {
  it('when turns are marked by task_started and task_complete', async () => {
    // The parent was written in the legacy format (by an older Codex, or a store set to it).
    const legacy = await openHome('legacy');
    const writer = manager(legacy);
    const parent = await writer.startThread();
    for (const q of ['first question', 'second question', 'third question']) await turn(parent, q);
    await parent.shutdown();
    await writer.shutdownAll();
    await legacy.close();

    const store = await openHome();
    expect((await store.readThread({ threadId: parent.threadId })).historyMode).toBe('legacy');
    const parentTurns = await allTurns(store, parent.threadId);
    expect(parentTurns.map((t) => t.status)).toEqual(['completed', 'completed', 'completed']);

    const m = manager(store);
    const fork = await m.forkThread({ threadId: parent.threadId, turns: 2 });
    expect((await store.readThread({ threadId: fork.threadId })).historyMode).toBe('legacy');
    const forkTurns = await allTurns(store, fork.threadId);
    expect(copied(forkTurns)).toEqual(copied(parentTurns.slice(0, 2)));
    expect(forkTurns.map((t) => t.turnId)).toEqual(parentTurns.slice(0, 2).map((t) => t.turnId));

    // The fork goes on in its own (legacy) format: a new turn follows the copied ones.
    await turn(fork, 'a question of the fork');
    await fork.shutdown();
    const after = await allTurns(store, fork.threadId);
    expect(after).toHaveLength(3);
    expect(copied(after.slice(0, 2))).toEqual(copied(parentTurns.slice(0, 2)));
    expect(after[2]?.items.find((i) => i.item.type === 'userMessage')?.item).toMatchObject({
      content: [{ type: 'text', text: 'a question of the fork' }],
    });
  });

  it('when only user messages mark the turns (older Codex)', async () => {
    const store = await openHome();
    const parentId = newThreadId();
    await store.createThread({
      threadId: parentId,
      historyMode: 'legacy',
      source: { kind: 'cli' },
      metadata: { cwd: home, modelProvider: 'openai' },
    });
    const items: RolloutItem[] = [];
    for (let t = 1; t <= 4; t++) items.push(...userMessage(`turn ${t} asks`), ...agentMessage(`turn ${t} answers`));
    await store.appendItems({ threadId: parentId, items });
    await store.flushThread(parentId);
    await store.shutdownThread(parentId);
    const parentTurns = await allTurns(store, parentId);
    expect(parentTurns).toHaveLength(4);

    const m = manager(store);
    for (const turns of [1, 3, undefined]) {
      const fork = await m.forkThread({ threadId: parentId, ...(turns === undefined ? {} : { turns }) });
      await fork.shutdown();
      const forkTurns = await allTurns(store, fork.threadId);
      expect(copied(forkTurns)).toEqual(copied(parentTurns.slice(0, turns ?? 4)));
      // The fork's history is a copy: its own session_meta, the parent's, then the parent's lines.
      const history = await collectHistory(store.loadHistory({ threadId: fork.threadId }));
      expect(history.slice(0, 2).map((i) => i.type)).toEqual(['session_meta', 'session_meta']);
      expect(history[0]?.payload).not.toHaveProperty('history_mode');
    }
  });
});
