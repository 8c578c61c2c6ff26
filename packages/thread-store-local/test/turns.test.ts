import { closeSync, copyFileSync, mkdirSync, openSync, readFileSync, statSync, utimesSync, writeSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  itemPageFromHistory,
  loadHistoryItems,
  newThreadId,
  normalizeListItemsParams,
  normalizeListTurnsParams,
  turnPageFromHistory,
} from '@skein/thread-store-api';
import type { RolloutItem, StoredTurn, ThreadId, TurnPage } from '@skein/thread-store-api';
import type { LocalThreadStore } from '../src/index.js';
import { openStore, tmpHome, writeRollout } from './helpers/home.js';

const ev = (payload: Record<string, unknown>): RolloutItem => ({ type: 'event_msg', payload: payload as never });
const resp: RolloutItem = {
  type: 'response_item',
  payload: { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'x'.repeat(200) }] },
};

function turn(i: number, opts: { explicit?: boolean; end?: boolean } = {}): RolloutItem[] {
  const explicit = opts.explicit ?? true;
  const out: RolloutItem[] = [];
  if (explicit) out.push(ev({ type: 'task_started', turn_id: `turn-${i}`, started_at: 1_700_000_000 + i }));
  out.push(
    { type: 'turn_context', payload: { cwd: '/w', model: 'm' } },
    ev({ type: 'user_message', message: `question ${i}`, images: [] }),
    ev({ type: 'agent_reasoning', text: `thinking ${i}` }),
    ev({ type: 'agent_reasoning', text: `more ${i}` }),
    resp,
    ev({ type: 'agent_message', message: `answer ${i}` }),
  );
  if (explicit && opts.end !== false) out.push(ev({ type: 'task_complete', turn_id: `turn-${i}`, duration_ms: i }));
  return out;
}

async function create(store: LocalThreadStore): Promise<ThreadId> {
  const threadId = newThreadId();
  await store.createThread({ threadId, source: { kind: 'cli' }, metadata: { cwd: '/w', modelProvider: 'openai' } });
  return threadId;
}

async function allTurns(store: LocalThreadStore, threadId: ThreadId): Promise<StoredTurn[]> {
  const out: StoredTurn[] = [];
  let page: TurnPage = await store.listTurns({ threadId, sortDirection: 'asc', itemsView: 'full', pageSize: 4 });
  for (;;) {
    out.push(...page.turns);
    if (!page.nextCursor) return out;
    page = await store.listTurns({
      threadId,
      sortDirection: 'asc',
      itemsView: 'full',
      pageSize: 4,
      cursor: page.nextCursor,
    });
  }
}

describe('turn index of the local store', () => {
  it('gives the same turns and items as deriving them from the whole history, across many indexing passes', async () => {
    const store = openStore(tmpHome());
    const threadId = await create(store);
    const chunks: RolloutItem[][] = [
      turn(1).slice(0, 3),
      [...turn(1).slice(3), ...turn(2, { explicit: false })],
      turn(3, { end: false }),
      [ev({ type: 'turn_aborted', turn_id: 'turn-3' }), ...turn(4)],
      [ev({ type: 'task_complete', turn_id: 'turn-3' }), ...turn(5, { explicit: false }).slice(0, 2)],
      [...turn(5, { explicit: false }).slice(2), ev({ type: 'thread_rolled_back', num_turns: 2 })],
      [...turn(6), { type: 'compacted', payload: { message: 'summary' } }, ev({ type: 'context_compacted' })],
      turn(7, { end: false }),
    ];
    for (const [i, chunk] of chunks.entries()) {
      await store.appendItems({ threadId, items: chunk });
      await store.flushThread(threadId);
      // A metadata patch line between turns is not history.
      if (i === 2) await store.updateThreadMetadata({ threadId, patch: { model: 'patched' } });
      // Each read re-indexes the tail appended since the last one.
      const history = await loadHistoryItems(store, { threadId });
      const p = { threadId, sortDirection: 'asc' as const, itemsView: 'full' as const, pageSize: 1000 };
      const expected = await turnPageFromHistory(history, normalizeListTurnsParams(p), 'local', true);
      const got = await store.listTurns(p);
      expect(got.turns).toEqual(expected.turns);
      const items = await store.listItems({ threadId, pageSize: 1000 });
      const expectedItems = await itemPageFromHistory(
        history,
        normalizeListItemsParams({ threadId, pageSize: 1000 }),
        'local',
      );
      expect(items.items).toEqual(expectedItems.items);
    }
    await store.shutdownThread(threadId);
    const turns = await allTurns(store, threadId);
    expect(turns.map((t) => [t.turnId, t.status])).toEqual([
      ['turn-1', 'completed'],
      ['legacy-turn-10', 'completed'],
      ['turn-3', 'interrupted'],
      ['turn-6', 'completed'],
      // The compaction after turn-6 ends makes a turn of its own (as in Codex).
      ['legacy-turn-47', 'completed'],
      ['turn-7', 'interrupted'],
    ]);
    expect(turns[4]?.items.map((i) => i.item.type)).toEqual(['contextCompaction']);
    // After the rollback, items are numbered on from the turns that remain.
    expect(turns[3]?.items[0]?.itemId).toBe('item-10');
  });

  it('a page from the end of a long thread reads only the bytes of its turns', async () => {
    const home = tmpHome();
    const store = openStore(home);
    const threadId = await create(store);
    for (let i = 1; i <= 40; i++) await store.appendItems({ threadId, items: turn(i) });
    await store.shutdownThread(threadId);
    const first = await store.listTurns({ threadId, pageSize: 3 });
    expect(first.turns.map((t) => t.turnId)).toEqual(['turn-40', 'turn-39', 'turn-38']);
    // Damage the middle of the file without changing its size or mtime: only reads of the
    // damaged turns can notice.
    const file = (await store.readThread({ threadId })).rolloutPath as string;
    const before = statSync(file);
    const text = readFileSync(file, 'utf8');
    const at = text.indexOf('question 10"');
    const fd = openSync(file, 'r+');
    writeSync(fd, Buffer.from('#'.repeat(4000)), 0, 4000, Buffer.byteLength(text.slice(0, at)) - 2000);
    closeSync(fd);
    utimesSync(file, before.atime, before.mtime);
    const again = await store.listTurns({ threadId, pageSize: 3, itemsView: 'full' });
    expect(again.turns.map((t) => t.turnId)).toEqual(['turn-40', 'turn-39', 'turn-38']);
    expect(again.turns[0]?.items.map((i) => i.item.type)).toEqual(['userMessage', 'reasoning', 'agentMessage']);
    expect(again.turns[0]?.items[1]?.item).toMatchObject({ summary: ['thinking 40', 'more 40'] });
    // Item ids are numbered through the thread: read from the index, the last turn keeps its ids,
    // while deriving them from the whole (damaged) history numbers them differently.
    expect(again.turns[0]?.items.map((i) => i.itemId)).toEqual(['item-118', 'item-119', 'item-120']);
    const history = await loadHistoryItems(store, { threadId });
    expect(JSON.stringify(history)).not.toContain('question 10"');
    const p = { threadId, pageSize: 1, itemsView: 'full' as const };
    const derived = await turnPageFromHistory(history, normalizeListTurnsParams(p), 'local', false);
    expect(derived.turns[0]?.items.map((i) => i.itemId)).not.toEqual(['item-118', 'item-119', 'item-120']);
  });

  it("pages a paginated thread by ordinals, and a paginated fork's inherited turns up to its fork point", async () => {
    const home = tmpHome();
    const P = '01a20fbe-c459-7643-ab77-616a760687af';
    const F = '01a20fbe-d000-7643-ab77-616a760687af';
    let ordinal = 0;
    const line = (type: string, payload: Record<string, unknown>): Record<string, unknown> => ({
      timestamp: '2026-11-24T22:48:10.105Z',
      ordinal: ordinal++,
      type,
      payload,
    });
    const pTurn = (thread: string, t: string): Record<string, unknown>[] => [
      line('event_msg', { type: 'task_started', turn_id: t, started_at: 1795560490 }),
      line('response_item', { type: 'message', role: 'user', content: [] }),
      line('event_msg', {
        type: 'item_completed',
        thread_id: thread,
        turn_id: t,
        item: { type: 'UserMessage', id: `u-${t}`, content: [{ type: 'text', text: `ask ${t}` }] },
        started_at_ms: 1795560490100,
      }),
      line('event_msg', {
        type: 'item_completed',
        thread_id: thread,
        turn_id: t,
        item: { type: 'AgentMessage', id: `a-${t}`, content: [{ type: 'Text', text: `reply ${t}` }] },
      }),
      line('event_msg', { type: 'task_complete', turn_id: t, completed_at: 1795560491, duration_ms: 900 }),
    ];
    const meta = (id: string, extra: Record<string, unknown> = {}): Record<string, unknown> =>
      line('session_meta', {
        id,
        session_id: id,
        timestamp: '2026-11-24T22:48:10.083Z',
        cwd: '/w',
        source: 'exec',
        model_provider: 'openai',
        history_mode: 'paginated',
        ...extra,
      });
    const parent = [meta(P), ...pTurn(P, 'p1'), ...pTurn(P, 'p2')];
    const cutOrdinal = ordinal;
    const cutByte = parent.reduce((n, l) => n + Buffer.byteLength(JSON.stringify(l)) + 1, 0);
    parent.push(...pTurn(P, 'p3-after-fork'));
    writeRollout(home, `sessions/2026/11/24/rollout-2026-11-24T22-48-10-${P}.jsonl`, parent);
    ordinal = cutOrdinal;
    const fork = [
      meta(F, {
        forked_from_id: P,
        history_base: { thread_id: P, end_ordinal_exclusive: cutOrdinal, end_byte_offset: cutByte },
      }),
      ...pTurn(F, 'f1'),
    ];
    writeRollout(home, `sessions/2026/11/25/rollout-2026-11-25T09-00-00-${F}.jsonl`, fork);
    const store = openStore(home);
    const p = await store.listTurns({ threadId: P as ThreadId, sortDirection: 'asc', itemsView: 'full' });
    expect(p.turns.map((t) => [t.turnId, t.ordinal, t.status])).toEqual([
      ['p1', 1, 'completed'],
      ['p2', 6, 'completed'],
      ['p3-after-fork', 11, 'completed'],
    ]);
    expect(p.turns[0]).toMatchObject({ durationMs: 900, startedAt: new Date(1795560490000) });
    expect(p.turns[0]?.items).toEqual([
      {
        turnId: 'p1',
        itemId: 'u-p1',
        ordinal: 3,
        createdAt: new Date(1795560490100),
        item: {
          type: 'userMessage',
          id: 'u-p1',
          clientId: null,
          content: [{ type: 'text', text: 'ask p1', text_elements: [] }],
          // The event's times, as Codex serves them: the line recorded a start and no completion.
          startedAtMs: 1795560490100,
          completedAtMs: null,
        },
      },
      expect.objectContaining({ itemId: 'a-p1', ordinal: 4, item: expect.objectContaining({ text: 'reply p1' }) }),
    ]);
    const f = await store.listTurns({ threadId: F as ThreadId, pageSize: 2 });
    expect(f.turns.map((t) => t.turnId)).toEqual(['f1', 'p2']);
    const rest = await store.listTurns({ threadId: F as ThreadId, pageSize: 2, cursor: f.nextCursor });
    expect(rest.turns.map((t) => t.turnId)).toEqual(['p1']);
    const items = await store.listItems({ threadId: F as ThreadId, pageSize: 3 });
    expect(items.items.map((i) => i.itemId)).toEqual(['u-p1', 'a-p1', 'u-p2']);
    const more = await store.listItems({ threadId: F as ThreadId, pageSize: 3, cursor: items.nextCursor });
    expect(more.items.map((i) => i.itemId)).toEqual(['a-p2', 'u-f1', 'a-f1']);
    const one = await store.listItems({ threadId: F as ThreadId, turnId: 'p2' });
    expect(one.items.map((i) => i.itemId)).toEqual(['u-p2', 'a-p2']);
    await expect(store.listItems({ threadId: F as ThreadId, turnId: 'p3-after-fork' })).rejects.toMatchObject({
      code: 'not_found',
    });
  });

  it('pages the turns of a compressed (.jsonl.zst) rollout', async () => {
    const home = tmpHome();
    const Z = '0a1b2c3d-0000-4000-8000-00000000000f';
    const name = `rollout-2025-11-02T08-00-00-${Z}.jsonl.zst`;
    mkdirSync(path.join(home, 'sessions/2025/11/02'), { recursive: true });
    copyFileSync(new URL(`./fixtures/${name}`, import.meta.url), path.join(home, 'sessions/2025/11/02', name));
    const store = openStore(home);
    const page = await store.listTurns({ threadId: Z as ThreadId, itemsView: 'full' });
    expect(page.turns.map((t) => [t.turnId, t.status])).toEqual([['legacy-turn-2', 'completed']]);
    expect(page.turns[0]?.items.map((i) => [i.itemId, i.item.type])).toEqual([
      ['item-1', 'userMessage'],
      ['item-2', 'agentMessage'],
    ]);
    const items = await store.listItems({ threadId: Z as ThreadId, turnId: 'legacy-turn-2', sortDirection: 'desc' });
    expect(items.items.map((i) => i.item.text ?? i.item.content)).toEqual([
      'Zstandard frames decoded fine.',
      [{ type: 'text', text: 'compress me please', text_elements: [] }],
    ]);
  });
});
