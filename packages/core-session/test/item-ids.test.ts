import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { collectHistory, InMemoryThreadStore, isObject } from '@skein/thread-store-api';
import type { HistoryMode, ResponseItemPayload, ThreadStore } from '@skein/thread-store-api';
import { LocalThreadStore } from '@skein/thread-store-local';
import { afterEach, describe, expect, it } from 'vitest';
import { Session } from '../src/index.js';
import type { ModelClient, ModelRequest, ModelStreamEvent, SessionEventMsg } from '../src/index.js';
import { EventReader } from './support/events.js';

/**
 * A model whose reply is two reasoning items (the first with the model's id, the second without),
 * a message streamed in deltas and, every other turn, a message the model gives no id.
 */
class ScriptedModel implements ModelClient {
  readonly model = 'scripted-1';
  readonly provider = 'openai';
  private n = 0;

  async *stream(request: ModelRequest): AsyncIterable<ModelStreamEvent> {
    void request;
    const n = ++this.n;
    const summary = (text: string) => [{ type: 'summary_text', text }];
    yield {
      type: 'output_item_done',
      item: { type: 'reasoning', id: `rs_model_${n}`, summary: summary(`think ${n}`) },
    };
    yield { type: 'output_item_done', item: { type: 'reasoning', summary: summary(`more ${n}`) } };
    const withId = n % 2 === 1;
    const message: ResponseItemPayload = {
      type: 'message',
      role: 'assistant',
      content: [{ type: 'output_text', text: `answer ${n}` }],
      ...(withId ? { id: `msg_model_${n}` } : {}),
    };
    for (const delta of ['ans', `wer ${n}`])
      yield { type: 'output_text_delta', delta, itemId: withId ? `msg_model_${n}` : null };
    yield { type: 'output_item_done', item: message };
    yield { type: 'completed', responseId: `resp_${n}`, usage: null };
  }
}

/** The item ids a turn's events announced, in order, each once (deltas and merges repeat them). */
function announced(msgs: readonly SessionEventMsg[]): { ids: string[]; deltaIds: string[] } {
  const ids: string[] = [];
  const deltaIds: string[] = [];
  for (const m of msgs) {
    if (m.type === 'agent_message_delta') deltaIds.push(m.itemId);
    if (m.type === 'user_message' || m.type === 'agent_message' || m.type === 'agent_reasoning')
      if (ids.at(-1) !== m.itemId) ids.push(m.itemId);
  }
  return { ids, deltaIds };
}

interface Backend {
  name: string;
  mode: HistoryMode;
  open(home: string, shared: { memory?: InMemoryThreadStore }): ThreadStore;
}

const backends: Backend[] = [
  {
    name: 'InMemoryThreadStore',
    mode: 'legacy',
    open: (_home, shared) =>
      shared.memory
        ? new InMemoryThreadStore({ defaultModelProvider: 'openai', storage: shared.memory.storage })
        : (shared.memory = new InMemoryThreadStore({ defaultModelProvider: 'openai' })),
  },
  {
    name: 'LocalThreadStore (paginated)',
    mode: 'paginated',
    open: (home) => new LocalThreadStore({ home, defaultModelProvider: 'openai', fsync: 'never' }),
  },
  {
    name: 'LocalThreadStore (legacy)',
    mode: 'legacy',
    open: (home) =>
      new LocalThreadStore({ home, defaultModelProvider: 'openai', fsync: 'never', historyMode: 'legacy' }),
  },
];

describe.each(backends)('item ids over $name', ({ mode, open }) => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function turn(session: Session, events: EventReader, text: string): Promise<SessionEventMsg[]> {
    session.submit({ type: 'user_turn', items: [{ type: 'text', text }] });
    return events.until('turn_complete');
  }

  it('announces the ids the store returns for the items, before and after a resume', async () => {
    const home = await mkdtemp(path.join(tmpdir(), 'skein-item-ids-'));
    cleanups.push(() => rm(home, { recursive: true, force: true }));
    const shared: { memory?: InMemoryThreadStore } = {};
    const store = open(home, shared);
    cleanups.push(() => store.close());
    const model = new ScriptedModel();
    const first = await Session.start({ store, model, cwd: home });
    const firstEvents = new EventReader(first);
    const turns = [await turn(first, firstEvents, 'one'), await turn(first, firstEvents, 'two')];
    first.submit({ type: 'shutdown' });
    await firstEvents.until('shutdown_complete');

    // A second store over the same storage resumes the thread: the ids continue from its history.
    const again = open(home, shared);
    cleanups.push(() => again.close());
    const resumed = await Session.resume({ store: again, model, threadId: first.threadId });
    const resumedEvents = new EventReader(resumed);
    turns.push(await turn(resumed, resumedEvents, 'three'));
    resumed.submit({ type: 'shutdown' });
    await resumedEvents.until('shutdown_complete');

    const live = turns.map(announced);
    for (const t of live) {
      expect(t.ids).toHaveLength(mode === 'legacy' ? 3 : 4);
      // Every delta carries the id of the message it belongs to.
      expect(new Set(t.deltaIds)).toEqual(new Set([t.ids.at(-1)]));
    }
    const reader = open(home, shared);
    cleanups.push(() => reader.close());
    const page = await reader.listItems({ threadId: first.threadId, pageSize: 100 });
    expect(page.items.map((i) => i.itemId)).toEqual(live.flatMap((t) => t.ids));
    expect(page.items.map((i) => i.item.id)).toEqual(live.flatMap((t) => t.ids));
    expect(page.items.map((i) => i.item.type)).toEqual(
      live.flatMap(() =>
        mode === 'legacy'
          ? ['userMessage', 'reasoning', 'agentMessage']
          : ['userMessage', 'reasoning', 'reasoning', 'agentMessage'],
      ),
    );
    const userEvents = turns.map((t) => t.find((m) => m.type === 'user_message'));
    if (mode === 'legacy') {
      // Legacy lines carry no ids: every reader numbers the items through the thread.
      expect(live.flatMap((t) => t.ids)).toEqual(Array.from({ length: 9 }, (_, k) => `item-${k + 1}`));
    } else {
      // Paginated lines carry the ids: a UUIDv7 for the user message, the model's ids for its output.
      expect(live.map((t) => t.ids.slice(1))).toEqual([
        ['rs_model_1', expect.stringMatching(/^rs_[0-9a-f-]{36}$/), 'msg_model_1'],
        ['rs_model_2', expect.stringMatching(/^rs_[0-9a-f-]{36}$/), expect.stringMatching(/^msg_[0-9a-f-]{36}$/)],
        ['rs_model_3', expect.stringMatching(/^rs_[0-9a-f-]{36}$/), 'msg_model_3'],
      ]);
      for (const u of userEvents)
        expect(u).toMatchObject({ itemId: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-7/) });
      // The user message carries the time it was recorded with, as Codex records it.
      const users = page.items.filter((i) => i.item.type === 'userMessage');
      expect(users.map((i) => i.item.startedAtMs)).toEqual(userEvents.map((u) => (u as { atMs: number }).atMs));
      // The rollout holds Codex's item_completed lines with those ids (and no legacy message events).
      const history = await collectHistory(reader.loadHistory({ threadId: first.threadId }));
      const completed = history
        .map((i) => i.payload)
        .filter((p) => isObject(p) && p.type === 'item_completed')
        .map((p) => (p as { item: { id: string } }).item.id);
      expect(completed).toEqual(live.flatMap((t) => t.ids));
      expect(history.some((i) => isObject(i.payload) && i.payload.type === 'user_message')).toBe(false);
    }
  });
});
