import { appendFileSync, readFileSync } from 'node:fs';
import { loadHistoryItems, newThreadId } from '@skein/thread-store-api';
import type { RolloutItem } from '@skein/thread-store-api';
import { describe, expect, it } from 'vitest';
import { LocalThreadStore } from '../src/index.js';
import { agentMsg, openStore, tmpHome, userMsg } from './helpers/home.js';

const create = (id: ReturnType<typeof newThreadId>) => ({
  threadId: id,
  source: { kind: 'cli' as const },
  metadata: { cwd: '/tmp/project', modelProvider: 'openai' },
});

function records(file: string): Record<string, unknown>[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
}

describe('paginated writer', () => {
  it('writes new threads paginated by default: Codex envelope order, ordinals from 0, item_completed messages', async () => {
    const home = tmpHome();
    // No historyMode: the store's default.
    const store = new LocalThreadStore({ home });
    const id = newThreadId();
    await store.createThread(create(id));
    await store.appendItems({ threadId: id, items: [userMsg('hello') as RolloutItem, agentMsg('hi') as RolloutItem] });
    await store.shutdownThread(id);
    const t = await store.readThread({ threadId: id });
    expect(t.historyMode).toBe('paginated');
    expect(t.preview).toBe('hello');
    const raw = readFileSync(t.rolloutPath as string, 'utf8').split('\n')[1] as string;
    expect(Object.keys(JSON.parse(raw) as object)).toEqual(['timestamp', 'ordinal', 'type', 'payload']);
    const recs = records(t.rolloutPath as string);
    expect(recs.map((r) => r.ordinal)).toEqual([0, 1, 2]);
    expect(recs[0]).toMatchObject({ type: 'session_meta', payload: { history_mode: 'paginated' } });
    expect(recs[1]).toMatchObject({
      payload: { type: 'item_completed', thread_id: id, item: { type: 'UserMessage' } },
    });
    expect(recs[2]).toMatchObject({ payload: { type: 'item_completed', item: { type: 'AgentMessage' } } });
    await store.close();
  });

  it('after a torn tail, appends one newline and continues from the last valid ordinal + 1', async () => {
    const home = tmpHome();
    const store = openStore(home, { historyMode: 'paginated' });
    const id = newThreadId();
    await store.createThread(create(id));
    await store.appendItems({ threadId: id, items: [userMsg('one') as RolloutItem] });
    await store.shutdownThread(id);
    const file = (await store.readThread({ threadId: id })).rolloutPath as string;
    appendFileSync(file, '{"timestamp":"2026-01-01T00:00:00.000Z","ordinal":2,"type":"event_ms');
    await store.resumeThread({ threadId: id });
    await store.appendItems({ threadId: id, items: [agentMsg('two') as RolloutItem] });
    await store.shutdownThread(id);
    const lines = readFileSync(file, 'utf8').split('\n');
    // The torn bytes stay, on a line of their own, as Codex leaves them.
    expect(lines[2]).toBe('{"timestamp":"2026-01-01T00:00:00.000Z","ordinal":2,"type":"event_ms');
    expect(records(file).map((r) => r.ordinal)).toEqual([0, 1, 2]);
  });

  it.each(['paginated', 'legacy'] as const)(
    'a %s writer refuses to write after bytes another writer appended, and caps unflushed lines',
    async (historyMode) => {
      const home = tmpHome();
      const store = openStore(home, { historyMode, maxBufferedBytes: 4096 });
      const id = newThreadId();
      await store.createThread(create(id));
      await store.appendItems({ threadId: id, items: [userMsg('one') as RolloutItem] });
      await store.flushThread(id);
      const file = (await store.readThread({ threadId: id })).rolloutPath as string;
      const before = readFileSync(file, 'utf8');
      appendFileSync(file, '{"foreign":true}\n');
      await store.appendItems({ threadId: id, items: [agentMsg('two') as RolloutItem] });
      await expect(store.flushThread(id)).rejects.toMatchObject({ code: 'conflict' });
      expect(readFileSync(file, 'utf8')).toBe(before + '{"foreign":true}\n');
      await expect(
        store.appendItems({ threadId: id, items: [agentMsg('x'.repeat(5000)) as RolloutItem] }),
      ).rejects.toMatchObject({ code: 'resource_exhausted' });
      await store.discardThread(id);
    },
  );

  it('a fork references its parent (history_base) and reads back the parent prefix; turns 0 is refused', async () => {
    const home = tmpHome();
    const store = openStore(home, { historyMode: 'paginated' });
    const parent = newThreadId();
    await store.createThread(create(parent));
    for (const [u, a] of [
      ['first', 'one'],
      ['second', 'two'],
    ]) {
      const turn = newThreadId();
      await store.appendItems({
        threadId: parent,
        items: [
          { type: 'event_msg', payload: { type: 'task_started', turn_id: turn } },
          userMsg(u as string) as RolloutItem,
          agentMsg(a as string) as RolloutItem,
          { type: 'event_msg', payload: { type: 'task_complete', turn_id: turn } },
        ],
      });
    }
    await store.shutdownThread(parent);
    const fork = newThreadId();
    await expect(
      store.createThread({ ...create(fork), forkBase: { threadId: parent, turns: 0 } }),
    ).rejects.toMatchObject({ code: 'invalid_request' });
    await store.createThread({ ...create(fork), forkedFromId: parent, forkBase: { threadId: parent, turns: 1 } });
    await store.persistThread(fork);
    await store.shutdownThread(fork);
    const t = await store.readThread({ threadId: fork, includeHistory: true });
    const first = records(t.rolloutPath as string)[0] as { ordinal: number; payload: Record<string, unknown> };
    expect(first.payload).toMatchObject({
      forked_from_id: parent,
      forked_from_ordinal_exclusive: 5,
      history_base: { thread_id: parent, end_ordinal_exclusive: 5 },
    });
    expect(first.ordinal).toBe(5);
    const texts: string[] = [];
    for await (const item of t.history ?? []) {
      const it = (item.payload as { item?: { type?: string; content?: { text: string }[] } }).item;
      if (it?.type === 'UserMessage') texts.push(it.content?.[0]?.text ?? '');
    }
    expect(texts).toEqual(['first']);
    expect(t.preview).toBe('first');
  });

  it('a fork moved in with its session_meta keeps its history_base byte for byte; an offset that ends no line of the right number is refused', async () => {
    const source = new LocalThreadStore({ home: tmpHome(), historyMode: 'paginated' });
    const target = new LocalThreadStore({ home: tmpHome(), historyMode: 'paginated' });
    const parent = newThreadId();
    await source.createThread(create(parent));
    await source.appendItems({
      threadId: parent,
      items: [userMsg('base question') as RolloutItem, agentMsg('base answer') as RolloutItem],
    });
    await source.shutdownThread(parent);
    const fork = newThreadId();
    await source.createThread({ ...create(fork), forkedFromId: parent, forkBase: { threadId: parent } });
    await source.appendItems({ threadId: fork, items: [userMsg('fork question') as RolloutItem] });
    await source.shutdownThread(fork);
    const parentFile = (await source.readThread({ threadId: parent })).rolloutPath as string;
    const forkFile = (await source.readThread({ threadId: fork })).rolloutPath as string;
    const [meta, ...own] = readFileSync(forkFile, 'utf8')
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as RolloutItem);
    const base = (meta?.payload as { history_base: { end_byte_offset: number } }).history_base;
    expect(base.end_byte_offset).toBe(readFileSync(parentFile).length);

    // The parent first (as its file was), then the fork from its session_meta and own items.
    const parentItems = readFileSync(parentFile, 'utf8')
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as RolloutItem);
    await target.createThread({ ...create(parent), sessionMeta: parentItems[0] as never });
    await target.appendItems({ threadId: parent, items: parentItems.slice(1) });
    await target.shutdownThread(parent);
    const moved = (await target.readThread({ threadId: parent })).rolloutPath as string;
    expect(readFileSync(moved, 'utf8')).toBe(readFileSync(parentFile, 'utf8'));
    // One byte short of the line's end, or a line numbered otherwise: refused, nothing written.
    const shifted = (patch: Record<string, number>) =>
      ({ ...meta, payload: { ...(meta?.payload as object), history_base: { ...base, ...patch } } }) as never;
    await expect(
      target.createThread({ ...create(fork), sessionMeta: shifted({ end_byte_offset: base.end_byte_offset - 1 }) }),
    ).rejects.toMatchObject({ code: 'invalid_request', message: expect.stringContaining('ends at byte') });
    await expect(
      target.createThread({ ...create(fork), sessionMeta: shifted({ end_ordinal_exclusive: 2 }) }),
    ).rejects.toMatchObject({ code: 'invalid_request', message: expect.stringContaining('is numbered 2, not 1') });
    await target.createThread({ ...create(fork), forkedFromId: parent, sessionMeta: meta as never });
    await target.appendItems({ threadId: fork, items: own });
    await target.shutdownThread(fork);
    const movedFork = (await target.readThread({ threadId: fork })).rolloutPath as string;
    expect(readFileSync(movedFork, 'utf8')).toBe(readFileSync(forkFile, 'utf8'));
    // It reads as the fork it was: the parent's lines, then its own.
    expect(await loadHistoryItems(target, { threadId: fork })).toEqual(
      await loadHistoryItems(source, { threadId: fork }),
    );
    expect((await loadHistoryItems(target, { threadId: fork })).length).toBe(parentItems.length + own.length + 1);
    await source.close();
    await target.close();
  });
});
