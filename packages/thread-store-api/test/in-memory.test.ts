import { describe, expect, it } from 'vitest';
import {
  InMemoryThreadStorage,
  InMemoryThreadStore,
  isThreadStoreError,
  loadHistoryItems,
  newThreadId,
} from '../src/index.js';
import type { CreateThreadParams, RolloutItem, ThreadId } from '../src/index.js';

/** A clock the test moves by hand. */
function manualClock(start = Date.UTC(2025, 0, 1)): { now: () => Date; set: (ms: number) => void } {
  let t = start;
  return { now: () => new Date(t), set: (ms) => (t = ms) };
}

function params(threadId: ThreadId = newThreadId(), createdAt = new Date(Date.UTC(2024, 0, 1))): CreateThreadParams {
  return { threadId, source: { kind: 'cli' }, createdAt, metadata: { cwd: '/w', modelProvider: 'openai' } };
}

const userMsg = (message: string): RolloutItem => ({ type: 'event_msg', payload: { type: 'user_message', message } });

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (isThreadStoreError(e)) return e.code;
    throw e;
  }
  return 'ok';
}

describe('InMemoryThreadStore', () => {
  it('advertises no local paths and content search', () => {
    expect(new InMemoryThreadStore().capabilities).toEqual({ localPaths: false, contentSearch: true });
  });

  it('uses its clock for filled timestamps, write times and archive times', async () => {
    const clock = manualClock(Date.UTC(2025, 2, 3, 4, 5, 6, 7));
    const store = new InMemoryThreadStore({ now: clock.now });
    const p = params();
    await store.createThread(p);
    await store.appendItems({ threadId: p.threadId, items: [userMsg('hi')] });
    clock.set(Date.UTC(2025, 2, 3, 4, 5, 7, 0));
    await store.shutdownThread(p.threadId);
    const history = await loadHistoryItems(store, { threadId: p.threadId });
    expect(history[1]?.timestamp).toBe('2025-03-03T04:05:06.007Z');
    expect(history[0]?.timestamp).toBe('2025-03-03T04:05:07.000Z');
    const t = await store.readThread({ threadId: p.threadId });
    expect(t.updatedAt.toISOString()).toBe('2025-03-03T04:05:07.000Z');
    expect(t.createdAt.toISOString()).toBe('2024-01-01T00:00:00.000Z');
    clock.set(Date.UTC(2026, 0, 1));
    await store.archiveThread({ threadId: p.threadId });
    expect((await store.readThread({ threadId: p.threadId, includeArchived: true })).archivedAt?.toISOString()).toBe(
      '2026-01-01T00:00:00.000Z',
    );
  });

  it('createdAt defaults to the clock', async () => {
    const clock = manualClock(Date.UTC(2027, 6, 6));
    const store = new InMemoryThreadStore({ now: clock.now });
    const p = params();
    delete p.createdAt;
    await store.createThread(p);
    clock.set(Date.UTC(2027, 6, 7));
    await store.persistThread(p.threadId);
    expect((await store.readThread({ threadId: p.threadId })).createdAt.toISOString()).toBe('2027-07-06T00:00:00.000Z');
  });

  it('updatedAt is the last durable write unless a patch set it; a later write wins again', async () => {
    const clock = manualClock(Date.UTC(2025, 0, 1));
    const store = new InMemoryThreadStore({ now: clock.now });
    const p = params();
    await store.createThread(p);
    await store.appendItems({ threadId: p.threadId, items: [userMsg('a')] });
    await store.flushThread(p.threadId);
    const patched = new Date(Date.UTC(2020, 0, 1));
    await store.updateThreadMetadata({ threadId: p.threadId, patch: { updatedAt: patched } });
    expect((await store.readThread({ threadId: p.threadId })).updatedAt).toEqual(patched);
    await store.updateThreadMetadata({ threadId: p.threadId, patch: { name: 'n' } });
    expect((await store.readThread({ threadId: p.threadId })).updatedAt).toEqual(patched);
    clock.set(Date.UTC(2025, 0, 2));
    await store.appendItems({ threadId: p.threadId, items: [userMsg('b')] });
    await store.flushThread(p.threadId);
    expect((await store.readThread({ threadId: p.threadId })).updatedAt).toEqual(new Date(Date.UTC(2025, 0, 2)));
  });

  it('the default model provider fills threads that name none and is the default list filter', async () => {
    const store = new InMemoryThreadStore({ defaultModelProvider: 'acme' });
    expect(store.defaultModelProvider).toBe('acme');
    const p = params();
    p.metadata = { cwd: '/w', modelProvider: 'acme' };
    await store.createThread(p);
    await store.appendItems({ threadId: p.threadId, items: [userMsg('x')] });
    await store.shutdownThread(p.threadId);
    expect((await store.listThreads({})).items).toHaveLength(1);
  });

  it('keeps its own copies: changing appended items or returned values does not change the store', async () => {
    const store = new InMemoryThreadStore();
    const p = params();
    await store.createThread(p);
    const item = userMsg('original');
    await store.appendItems({ threadId: p.threadId, items: [item] });
    (item.payload as { message: string }).message = 'changed after append';
    await store.shutdownThread(p.threadId);
    const history = await loadHistoryItems(store, { threadId: p.threadId });
    (history[1]?.payload as { message: string }).message = 'changed after read';
    const again = await loadHistoryItems(store, { threadId: p.threadId });
    expect((again[1]?.payload as { message: string }).message).toBe('original');
    const t = await store.readThread({ threadId: p.threadId });
    t.createdAt.setTime(0);
    t.preview = 'x';
    expect((await store.readThread({ threadId: p.threadId })).preview).toBe('original');
    expect((await store.readThread({ threadId: p.threadId })).createdAt.getTime()).not.toBe(0);
  });

  it('stores on one storage share threads and live writers; a store on a closed store’s storage is a reopen', async () => {
    const storage = new InMemoryThreadStorage();
    const a = new InMemoryThreadStore({ storage });
    const b = new InMemoryThreadStore({ storage });
    const p = params();
    await a.createThread(p);
    expect(await code(b.createThread(p))).toBe('conflict');
    await a.appendItems({ threadId: p.threadId, items: [userMsg('shared')] });
    expect(await code(b.readThread({ threadId: p.threadId }))).toBe('not_found');
    await a.flushThread(p.threadId);
    expect((await b.readThread({ threadId: p.threadId })).preview).toBe('shared');
    await a.appendItems({ threadId: p.threadId, items: [userMsg('flushed by close')] });
    await a.close();
    expect(await loadHistoryItems(b, { threadId: p.threadId })).toHaveLength(3);
    await b.resumeThread({ threadId: p.threadId });
    await b.discardThread(p.threadId);
    const c = new InMemoryThreadStore({ storage });
    await c.resumeThread({ threadId: p.threadId });
    await c.close();
    await b.close();
  });

  it('a later history fact replaces a patched value; a patch after it wins again', async () => {
    const store = new InMemoryThreadStore();
    const p = params();
    await store.createThread(p);
    await store.appendItems({
      threadId: p.threadId,
      items: [{ type: 'turn_context', payload: { model: 'from-history-1' } }, userMsg('m')],
    });
    await store.flushThread(p.threadId);
    await store.updateThreadMetadata({ threadId: p.threadId, patch: { model: 'patched', name: 'patched name' } });
    expect((await store.readThread({ threadId: p.threadId })).model).toBe('patched');
    await store.appendItems({
      threadId: p.threadId,
      items: [
        { type: 'turn_context', payload: { model: 'from-history-2' } },
        { type: 'event_msg', payload: { type: 'thread_name_updated', thread_name: 'renamed in history' } },
      ],
    });
    await store.flushThread(p.threadId);
    expect(await store.readThread({ threadId: p.threadId })).toMatchObject({
      model: 'from-history-2',
      name: 'renamed in history',
    });
    await store.updateThreadMetadata({ threadId: p.threadId, patch: { model: 'patched again' } });
    expect((await store.readThread({ threadId: p.threadId })).model).toBe('patched again');
  });

  it('a patch value that cannot be copied is invalid_request, not a crash', async () => {
    const store = new InMemoryThreadStore();
    const p = params();
    await store.createThread(p);
    await store.persistThread(p.threadId);
    expect(await code(store.updateThreadMetadata({ threadId: p.threadId, patch: { sandboxPolicy: () => 1 } }))).toBe(
      'invalid_request',
    );
    expect(
      await code(
        store.appendItems({
          threadId: p.threadId,
          items: [{ type: 'x', payload: { f: () => 1 } } as unknown as RolloutItem],
        }),
      ),
    ).toBe('invalid_request');
    // Nothing of a rejected append is kept, not even its good items.
    expect(
      await code(
        store.appendItems({
          threadId: p.threadId,
          items: [userMsg('good'), { type: 'x', payload: { f: () => 1 } } as unknown as RolloutItem],
        }),
      ),
    ).toBe('invalid_request');
    await store.flushThread(p.threadId);
    expect(await loadHistoryItems(store, { threadId: p.threadId })).toHaveLength(1);
  });

  it('rejects params that are not objects with invalid_request', async () => {
    const store = new InMemoryThreadStore();
    const bad = null as never;
    expect(await code(store.createThread(bad))).toBe('invalid_request');
    expect(await code(store.readThread(bad))).toBe('invalid_request');
    expect(await code(store.listThreads(bad))).toBe('invalid_request');
    expect(await code(store.searchThreads(bad))).toBe('invalid_request');
    expect(await code(store.updateThreadMetadata(bad))).toBe('invalid_request');
    expect(await code(store.archiveThread(bad))).toBe('invalid_request');
    expect(await code(store.createThread({ ...params(), metadata: null as never }))).toBe('invalid_request');
    expect(await code(store.createThread({ ...params(), source: 'cli' as never }))).toBe('invalid_request');
    expect(await code(store.createThread({ ...params(), createdAt: new Date('x') }))).toBe('invalid_request');
    expect(await code(store.createThread({ ...params(), forkedFromId: '../x' as ThreadId }))).toBe('invalid_request');
  });

  it('the session_meta names the spawn parent of a sub-agent and carries optional create fields', async () => {
    const store = new InMemoryThreadStore();
    const parent = newThreadId();
    const p: CreateThreadParams = {
      ...params(),
      source: {
        kind: 'subagent',
        subagent: { kind: 'thread_spawn', parentThreadId: parent, depth: 1, agentNickname: 'n' },
      },
      baseInstructions: { text: 'be brief' },
      dynamicTools: [{ name: 'tool' }],
      threadSource: 'user',
      sessionId: 'root',
    };
    p.metadata = { cwd: '/w', modelProvider: 'openai', memoryMode: 'disabled' };
    await store.createThread(p);
    await store.persistThread(p.threadId);
    const [meta] = await loadHistoryItems(store, { threadId: p.threadId });
    expect(meta?.payload).toMatchObject({
      parent_thread_id: parent,
      agent_nickname: 'n',
      base_instructions: { text: 'be brief' },
      dynamic_tools: [{ name: 'tool' }],
      thread_source: 'user',
      session_id: 'root',
      memory_mode: 'disabled',
    });
    expect(await store.readThread({ threadId: p.threadId })).toMatchObject({
      sessionId: 'root',
      memoryMode: 'disabled',
      threadSource: 'user',
    });
  });

  it('search snippets show the match with context around it', async () => {
    const store = new InMemoryThreadStore();
    const p = params();
    await store.createThread(p);
    const long = `${'lead '.repeat(40)}the gannet colony ${'tail '.repeat(40)}`;
    await store.appendItems({
      threadId: p.threadId,
      items: [userMsg('q'), { type: 'event_msg', payload: { type: 'agent_message', message: long } }],
    });
    await store.shutdownThread(p.threadId);
    const page = await store.searchThreads({ searchTerm: 'GANNET' });
    const snippet = page.items[0]?.snippet ?? '';
    expect(snippet).toContain('the gannet colony');
    expect(snippet.startsWith('…')).toBe(true);
    expect(snippet.endsWith('…')).toBe(true);
    expect(snippet.length).toBeLessThan(long.length);
  });

  describe('turn and item pages', () => {
    const started = (turnId: string): RolloutItem => ({
      type: 'event_msg',
      payload: { type: 'task_started', turn_id: turnId },
    });

    it('show flushed items only, and the open turn is inProgress while any store on the storage holds its writer', async () => {
      const storage = new InMemoryThreadStorage();
      const a = new InMemoryThreadStore({ storage });
      const b = new InMemoryThreadStore({ storage });
      const p = params();
      await a.createThread(p);
      await a.appendItems({ threadId: p.threadId, items: [started('t1'), userMsg('one')] });
      expect(await code(b.listTurns({ threadId: p.threadId }))).toBe('not_found');
      await a.flushThread(p.threadId);
      await a.appendItems({ threadId: p.threadId, items: [userMsg('not flushed')] });
      const seen = await b.listTurns({ threadId: p.threadId, itemsView: 'full' });
      expect(seen.turns.map((t) => [t.turnId, t.status, t.items.length])).toEqual([['t1', 'inProgress', 1]]);
      await a.shutdownThread(p.threadId);
      const after = await b.listTurns({ threadId: p.threadId, itemsView: 'full' });
      expect(after.turns.map((t) => [t.turnId, t.status, t.items.length])).toEqual([['t1', 'interrupted', 2]]);
      expect((await b.listItems({ threadId: p.threadId })).items.map((i) => i.itemId)).toEqual(['item-1', 'item-2']);
    });

    it('returned items are copies: changing them changes nothing stored', async () => {
      const store = new InMemoryThreadStore();
      const p = params();
      await store.createThread(p);
      const withElements: RolloutItem = {
        type: 'event_msg',
        payload: { type: 'user_message', message: 'keep me', text_elements: [] },
      };
      await store.appendItems({ threadId: p.threadId, items: [withElements] });
      await store.shutdownThread(p.threadId);
      const first = await store.listTurns({ threadId: p.threadId, itemsView: 'full' });
      const content = first.turns[0]!.items[0]!.item.content as { text_elements: unknown[] }[];
      content[0]!.text_elements.push('changed');
      const again = await store.listTurns({ threadId: p.threadId, itemsView: 'full' });
      expect(again.turns[0]!.items[0]!.item).toMatchObject({ content: [{ text: 'keep me', text_elements: [] }] });
      const history = await loadHistoryItems(store, { threadId: p.threadId });
      expect(history[1]?.payload).toMatchObject({ text_elements: [] });
    });
  });
});
