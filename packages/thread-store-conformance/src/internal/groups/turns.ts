import { describe, expect, it } from 'vitest';
import { loadHistoryItems, newThreadId } from '@skein/thread-store-api';
import type {
  ItemPage,
  ListItemsParams,
  ListTurnsParams,
  RolloutItem,
  StoredThreadItem,
  StoredTurn,
  ThreadId,
  ThreadStore,
  TurnPage,
} from '@skein/thread-store-api';
import type { SuiteContext } from '../context.js';
import { createParams, expectCode, seedThread, turnItems } from '../fixtures.js';

/** One explicit turn the way a session writes it: task_started, the messages, task_complete. */
function explicitTurn(
  turnId: string,
  user: string,
  agent: string,
  end?: Record<string, unknown> | null,
): RolloutItem[] {
  const items: RolloutItem[] = [
    { type: 'event_msg', payload: { type: 'task_started', turn_id: turnId, started_at: 1_700_000_000 } },
    ...turnItems(user, agent),
  ];
  if (end !== null)
    items.push({
      type: 'event_msg',
      payload: { type: 'task_complete', turn_id: turnId, completed_at: 1_700_000_002, duration_ms: 2000, ...end },
    });
  return items;
}

function turnsOf(n: number, prefix = 't'): RolloutItem[] {
  const out: RolloutItem[] = [];
  for (let i = 1; i <= n; i++)
    out.push(...explicitTurn(`${prefix}${i}`, `question ${prefix}${i}`, `answer ${prefix}${i}`));
  return out;
}

/**
 * The threads of this group are legacy ones: their items come from the legacy message events
 * the fixtures append (a paginated thread takes `item_completed` events instead).
 */
const LEGACY = { historyMode: 'legacy' } as const;

async function seedTurns(store: ThreadStore, provider: string, n: number, keepLive = false): Promise<ThreadId> {
  return seedThread(store, provider, { user: null, extra: turnsOf(n), keepLive, ...LEGACY });
}

/** Follows `nextCursor` (or `backwardsCursor`) from a first page to the end. */
async function allTurns(
  store: ThreadStore,
  params: ListTurnsParams,
  follow: 'nextCursor' | 'backwardsCursor' = 'nextCursor',
): Promise<StoredTurn[]> {
  const out: StoredTurn[] = [];
  let page: TurnPage = await store.listTurns(params);
  for (let i = 0; i < 200; i++) {
    if (follow === 'nextCursor') out.push(...page.turns);
    else out.unshift(...page.turns);
    const next = page[follow];
    if (next === null) return out;
    page = await store.listTurns({ ...params, cursor: next });
  }
  throw new Error('pages never ended');
}

async function allItems(store: ThreadStore, params: ListItemsParams): Promise<StoredThreadItem[]> {
  const out: StoredThreadItem[] = [];
  let page: ItemPage = await store.listItems(params);
  for (let i = 0; i < 200; i++) {
    out.push(...page.items);
    if (page.nextCursor === null) return out;
    page = await store.listItems({ ...params, cursor: page.nextCursor });
  }
  throw new Error('pages never ended');
}

const turnIds = (turns: readonly StoredTurn[]): string[] => turns.map((t) => t.turnId);

export function turnPageTests(ctx: SuiteContext): void {
  describe('turn and item pages', () => {
    it('turn pages partition the turns exactly: newest first by default, oldest first with asc', async () => {
      const id = await seedTurns(ctx.store, ctx.provider, 7);
      const expected = ['t1', 't2', 't3', 't4', 't5', 't6', 't7'];
      const desc = await allTurns(ctx.store, { threadId: id, pageSize: 3 });
      expect(turnIds(desc)).toEqual([...expected].reverse());
      const asc = await allTurns(ctx.store, { threadId: id, pageSize: 3, sortDirection: 'asc' });
      expect(turnIds(asc)).toEqual(expected);
      const first = await ctx.store.listTurns({ threadId: id, pageSize: 3 });
      expect(first.backwardsCursor).toBeNull();
      const whole = await ctx.store.listTurns({ threadId: id, pageSize: 7 });
      expect(whole.nextCursor).toBeNull();
      expect(turnIds(whole.turns)).toEqual([...expected].reverse());
      // Ordinals increase through the thread.
      const ordinals = asc.map((t) => t.ordinal);
      expect([...ordinals].sort((a, b) => a - b)).toEqual(ordinals);
      expect(new Set(ordinals).size).toBe(ordinals.length);
    });

    it('turns carry status, times and the items of the view asked for', async () => {
      const id = await seedTurns(ctx.store, ctx.provider, 2);
      const [t1] = (await ctx.store.listTurns({ threadId: id, sortDirection: 'asc', pageSize: 1 })).turns;
      expect(t1).toMatchObject({
        turnId: 't1',
        status: 'completed',
        error: null,
        durationMs: 2000,
        itemsView: 'summary',
      });
      expect(t1?.startedAt?.toISOString()).toBe('2023-11-14T22:13:20.000Z');
      expect(t1?.completedAt?.toISOString()).toBe('2023-11-14T22:13:22.000Z');
      expect(t1?.items.map((i) => i.item.type)).toEqual(['userMessage', 'agentMessage']);
      expect(t1?.items[0]?.item).toMatchObject({
        type: 'userMessage',
        id: 'item-1',
        content: [{ type: 'text', text: 'question t1' }],
      });
      expect(t1?.items[1]?.item).toMatchObject({ type: 'agentMessage', id: 'item-2', text: 'answer t1' });
      expect(t1?.items.every((i) => i.turnId === 't1')).toBe(true);
      const none = await ctx.store.listTurns({ threadId: id, itemsView: 'notLoaded' });
      expect(none.turns.map((t) => [t.itemsView, t.items.length])).toEqual([
        ['notLoaded', 0],
        ['notLoaded', 0],
      ]);
      const full = await ctx.store.listTurns({ threadId: id, itemsView: 'full', sortDirection: 'asc' });
      expect(full.turns[1]?.items.map((i) => i.itemId)).toEqual(['item-3', 'item-4']);
    });

    it('failed, interrupted and unterminated turns; inProgress only while a live writer holds the thread', async () => {
      const p = createParams(ctx.provider, LEGACY);
      await ctx.store.createThread(p);
      await ctx.store.appendItems({
        threadId: p.threadId,
        items: [
          ...explicitTurn('ok', 'a', 'b'),
          ...explicitTurn('bad', 'c', 'd', { error: { message: 'model failed', codex_error_info: 'other' } }),
          ...explicitTurn('stop', 'e', 'f', null),
          { type: 'event_msg', payload: { type: 'turn_aborted', turn_id: 'stop', reason: 'interrupted' } },
          ...explicitTurn('cut', 'g', 'h', null),
          ...explicitTurn('open', 'i', 'j', null),
        ],
      });
      await ctx.store.flushThread(p.threadId);
      const live = (await ctx.store.listTurns({ threadId: p.threadId, sortDirection: 'asc' })).turns;
      expect(live.map((t) => [t.turnId, t.status])).toEqual([
        ['ok', 'completed'],
        ['bad', 'failed'],
        ['stop', 'interrupted'],
        ['cut', 'interrupted'],
        ['open', 'inProgress'],
      ]);
      expect(live[1]?.error?.message).toBe('model failed');
      await ctx.store.shutdownThread(p.threadId);
      const after = (await ctx.store.listTurns({ threadId: p.threadId, sortDirection: 'asc' })).turns;
      expect(after[4]?.status).toBe('interrupted');
    });

    it('backwards cursors return the pages before, in both directions', async () => {
      const id = await seedTurns(ctx.store, ctx.provider, 8);
      for (const sortDirection of ['asc', 'desc'] as const) {
        const forward = await allTurns(ctx.store, { threadId: id, pageSize: 3, sortDirection });
        // Walk to the last page, then back from it.
        let page = await ctx.store.listTurns({ threadId: id, pageSize: 3, sortDirection });
        while (page.nextCursor !== null)
          page = await ctx.store.listTurns({ threadId: id, pageSize: 3, sortDirection, cursor: page.nextCursor });
        const back: StoredTurn[] = [...page.turns];
        let bc = page.backwardsCursor;
        while (bc !== null) {
          const prev = await ctx.store.listTurns({ threadId: id, pageSize: 3, sortDirection, cursor: bc });
          back.unshift(...prev.turns);
          expect(prev.nextCursor).not.toBeNull();
          bc = prev.backwardsCursor;
        }
        expect(turnIds(back)).toEqual(turnIds(forward));
      }
    });

    it('item pages partition the items of the thread and of one turn', async () => {
      const id = await seedTurns(ctx.store, ctx.provider, 5);
      const items = await allItems(ctx.store, { threadId: id, pageSize: 3 });
      expect(items.map((i) => i.itemId)).toEqual(Array.from({ length: 10 }, (_, k) => `item-${k + 1}`));
      expect(items.map((i) => i.turnId)).toEqual(['t1', 't1', 't2', 't2', 't3', 't3', 't4', 't4', 't5', 't5']);
      const desc = await allItems(ctx.store, { threadId: id, pageSize: 4, sortDirection: 'desc' });
      expect(desc.map((i) => i.itemId)).toEqual(items.map((i) => i.itemId).reverse());
      const t3 = await allItems(ctx.store, { threadId: id, turnId: 't3', pageSize: 1 });
      expect(t3.map((i) => [i.turnId, i.itemId, i.item.type])).toEqual([
        ['t3', 'item-5', 'userMessage'],
        ['t3', 'item-6', 'agentMessage'],
      ]);
      const ordinals = items.map((i) => i.ordinal);
      expect([...ordinals].sort((a, b) => a - b)).toEqual(ordinals);
      await expectCode(ctx.store.listItems({ threadId: id, turnId: 'no-such-turn' }), 'not_found');
    });

    it('a turn id that repeats names its first turn in item pages', async () => {
      const extra = [
        ...explicitTurn('t1', 'question t1', 'answer t1'),
        ...explicitTurn('again', 'first question again', 'first answer again'),
        ...explicitTurn('t2', 'question t2', 'answer t2'),
        ...explicitTurn('again', 'second question again', 'second answer again'),
      ];
      const id = await seedThread(ctx.store, ctx.provider, { user: null, extra, ...LEGACY });
      expect(turnIds(await allTurns(ctx.store, { threadId: id, sortDirection: 'asc' }))).toEqual([
        't1',
        'again',
        't2',
        'again',
      ]);
      const items = await allItems(ctx.store, { threadId: id, turnId: 'again', pageSize: 1 });
      expect(items.map((i) => [i.turnId, i.itemId])).toEqual([
        ['again', 'item-3'],
        ['again', 'item-4'],
      ]);
      expect(JSON.stringify(items.map((i) => i.item))).toContain('first question again');
      expect(JSON.stringify(items.map((i) => i.item))).not.toContain('second');
    });

    it('no repeats or skips while a writer appends between pages', async () => {
      const id = await seedTurns(ctx.store, ctx.provider, 3, true);
      const seen: string[] = [];
      const seenItems: string[] = [];
      let page = await ctx.store.listTurns({ threadId: id, pageSize: 2, sortDirection: 'asc' });
      let itemPage = await ctx.store.listItems({ threadId: id, pageSize: 3 });
      let round = 0;
      for (;;) {
        seen.push(...turnIds(page.turns));
        seenItems.push(...itemPage.items.map((i) => i.itemId));
        if (round < 3) {
          round += 1;
          await ctx.store.appendItems({ threadId: id, items: turnsOf(2, `r${round}-`) });
          await ctx.store.flushThread(id);
        }
        if (page.nextCursor === null && itemPage.nextCursor === null) break;
        if (page.nextCursor !== null)
          page = await ctx.store.listTurns({
            threadId: id,
            pageSize: 2,
            sortDirection: 'asc',
            cursor: page.nextCursor,
          });
        else page = { turns: [], nextCursor: null, backwardsCursor: null };
        if (itemPage.nextCursor !== null)
          itemPage = await ctx.store.listItems({ threadId: id, pageSize: 3, cursor: itemPage.nextCursor });
        else itemPage = { items: [], nextCursor: null, backwardsCursor: null };
      }
      await ctx.store.shutdownThread(id);
      expect(seen).toEqual(['t1', 't2', 't3', 'r1-1', 'r1-2', 'r2-1', 'r2-2', 'r3-1', 'r3-2']);
      expect(seenItems).toEqual(Array.from({ length: 18 }, (_, k) => `item-${k + 1}`));
      // Newest first: a cursor taken before more turns arrive continues into older turns only.
      const first = await ctx.store.listTurns({ threadId: id, pageSize: 4 });
      await ctx.store.resumeThread({ threadId: id });
      await ctx.store.appendItems({ threadId: id, items: turnsOf(1, 'late-') });
      await ctx.store.shutdownThread(id);
      const rest = await ctx.store.listTurns({ threadId: id, pageSize: 100, cursor: first.nextCursor });
      expect([...turnIds(first.turns), ...turnIds(rest.turns)]).toEqual([...seen].reverse());
      const newer = await ctx.store.listTurns({ threadId: id, pageSize: 100, cursor: rest.backwardsCursor });
      expect(turnIds(newer.turns)).toEqual(['late-1', ...[...seen].reverse().slice(0, 4)]);
    });

    it('user messages without task events make implicit turns with stable ids', async () => {
      const id = await seedThread(ctx.store, ctx.provider, {
        user: 'first',
        extra: turnItems('second', 'reply'),
        ...LEGACY,
      });
      const a = await ctx.store.listTurns({ threadId: id, sortDirection: 'asc', itemsView: 'full' });
      const b = await ctx.store.listTurns({ threadId: id, sortDirection: 'asc', itemsView: 'full' });
      expect(a.turns).toHaveLength(2);
      expect(turnIds(b.turns)).toEqual(turnIds(a.turns));
      expect(a.turns.map((t) => t.items.map((i) => i.item.type))).toEqual([
        ['userMessage', 'agentMessage'],
        ['userMessage', 'agentMessage'],
      ]);
      const items = await allItems(ctx.store, { threadId: id, turnId: a.turns[1]?.turnId ?? '' });
      expect(items.map((i) => i.itemId)).toEqual(['item-3', 'item-4']);
    });

    it("a fork's inherited turns are part of its pages", async () => {
      const parent = await seedTurns(ctx.store, ctx.provider, 2);
      const inherited = (await loadHistoryItems(ctx.store, { threadId: parent })).filter(
        (i) => i.type !== 'session_meta',
      );
      const fork = await seedThread(ctx.store, ctx.provider, {
        forkedFromId: parent,
        user: null,
        extra: [...inherited, ...explicitTurn('own', 'mine', 'ok')],
        ...LEGACY,
      });
      const turns = await allTurns(ctx.store, { threadId: fork, sortDirection: 'asc', pageSize: 2 });
      expect(turnIds(turns)).toEqual(['t1', 't2', 'own']);
    });

    it('cursors of another thread, kind or direction, tampered and listing cursors are invalid_request', async () => {
      const a = await seedTurns(ctx.store, ctx.provider, 3);
      const b = await seedTurns(ctx.store, ctx.provider, 3);
      const turnCursor = (await ctx.store.listTurns({ threadId: a, pageSize: 1 })).nextCursor;
      const itemCursor = (await ctx.store.listItems({ threadId: a, pageSize: 1 })).nextCursor;
      expect(turnCursor).not.toBeNull();
      expect(itemCursor).not.toBeNull();
      if (turnCursor === null || itemCursor === null) return;
      await expectCode(ctx.store.listTurns({ threadId: b, cursor: turnCursor, pageSize: 1 }), 'invalid_request');
      await expectCode(ctx.store.listTurns({ threadId: a, cursor: itemCursor, pageSize: 1 }), 'invalid_request');
      await expectCode(ctx.store.listItems({ threadId: a, cursor: turnCursor }), 'invalid_request');
      await expectCode(ctx.store.listItems({ threadId: a, turnId: 't1', cursor: itemCursor }), 'invalid_request');
      await expectCode(
        ctx.store.listTurns({ threadId: a, cursor: turnCursor, pageSize: 1, sortDirection: 'asc' }),
        'invalid_request',
      );
      const flipped = turnCursor.slice(0, -2) + (turnCursor.endsWith('A') ? 'B' : 'A') + turnCursor.slice(-1);
      await expectCode(ctx.store.listTurns({ threadId: a, cursor: flipped, pageSize: 1 }), 'invalid_request');
      await expectCode(ctx.store.listTurns({ threadId: a, cursor: 'not a cursor' }), 'invalid_request');
      await expectCode(ctx.store.listTurns({ threadId: a, cursor: `${turnCursor}==` }), 'invalid_request');
      const listCursor = (await ctx.store.listThreads({ pageSize: 1 })).nextCursor;
      if (listCursor !== null)
        await expectCode(ctx.store.listTurns({ threadId: a, cursor: listCursor }), 'invalid_request');
    });

    it('unknown and archived threads, bad parameters and page size limits', async () => {
      await expectCode(ctx.store.listTurns({ threadId: newThreadId() }), 'not_found');
      await expectCode(ctx.store.listItems({ threadId: newThreadId() }), 'not_found');
      await expectCode(ctx.store.listTurns({ threadId: 'not-a-uuid' as ThreadId }), 'invalid_request');
      const id = await seedTurns(ctx.store, ctx.provider, 2);
      for (const pageSize of [0, -1, 1.5, 1001])
        await expectCode(ctx.store.listTurns({ threadId: id, pageSize }), 'invalid_request');
      await expectCode(ctx.store.listItems({ threadId: id, pageSize: 0 }), 'invalid_request');
      await expectCode(ctx.store.listTurns({ threadId: id, sortDirection: 'sideways' as 'asc' }), 'invalid_request');
      await expectCode(ctx.store.listTurns({ threadId: id, itemsView: 'all' as 'full' }), 'invalid_request');
      expect((await ctx.store.listTurns({ threadId: id, pageSize: 1000 })).turns).toHaveLength(2);
      await ctx.store.archiveThread({ threadId: id });
      await expectCode(ctx.store.listTurns({ threadId: id }), 'not_found');
      await expectCode(ctx.store.listItems({ threadId: id }), 'not_found');
      expect((await ctx.store.listTurns({ threadId: id, includeArchived: true })).turns).toHaveLength(2);
      expect((await ctx.store.listItems({ threadId: id, includeArchived: true })).items).toHaveLength(4);
    });

    it('a thread with no turns has empty pages', async () => {
      const id = await seedThread(ctx.store, ctx.provider, { user: null, ...LEGACY });
      await expect(ctx.store.listTurns({ threadId: id })).resolves.toEqual({
        turns: [],
        nextCursor: null,
        backwardsCursor: null,
      });
      await expect(ctx.store.listItems({ threadId: id })).resolves.toEqual({
        items: [],
        nextCursor: null,
        backwardsCursor: null,
      });
    });
  });
}
