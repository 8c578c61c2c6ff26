import { describe, expect, it } from 'vitest';
import { loadHistoryItems, newThreadId } from '@skein/thread-store-api';
import type { RolloutItem, SessionMetaItem, ThreadId, ThreadSearchResult } from '@skein/thread-store-api';
import type { SuiteContext } from '../context.js';
import { CWD_A, createParams, expectCode } from '../fixtures.js';

const T = (n: number): string => new Date(Date.UTC(2024, 0, 15, 12, 0, n)).toISOString();

/** Items every store keeps in both formats, numbered like a paginated rollout and timestamped. */
function numberedTurn(turnId: string, first: number, user: string): RolloutItem[] {
  const items: Omit<RolloutItem, 'timestamp' | 'ordinal'>[] = [
    { type: 'event_msg', payload: { type: 'task_started', turn_id: turnId } },
    {
      type: 'response_item',
      payload: { type: 'message', role: 'user', content: [{ type: 'input_text', text: user }] },
    },
    {
      type: 'response_item',
      payload: { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: `reply to ${user}` }] },
    },
    { type: 'event_msg', payload: { type: 'task_complete', turn_id: turnId, last_agent_message: `reply to ${user}` } },
  ];
  return items.map((it, i) => ({ timestamp: T(first + i), ordinal: first + i, ...it }) as RolloutItem);
}

/**
 * Like numberedTurn, with the messages as paginated threads keep them (`item_completed`), which
 * content search reads: the user's text and the agent's `reply to <text>`.
 */
export function searchableTurn(turnId: string, first: number, user: string): RolloutItem[] {
  const completed = (item: Record<string, unknown>): Record<string, unknown> => ({
    type: 'event_msg',
    payload: { type: 'item_completed', turn_id: turnId, item },
  });
  const items: Omit<RolloutItem, 'timestamp' | 'ordinal'>[] = [
    { type: 'event_msg', payload: { type: 'task_started', turn_id: turnId } },
    completed({ type: 'UserMessage', id: `${turnId}-u`, content: [{ type: 'text', text: user }] }),
    completed({ type: 'AgentMessage', id: `${turnId}-a`, content: [{ type: 'Text', text: `reply to ${user}` }] }),
    { type: 'event_msg', payload: { type: 'task_complete', turn_id: turnId, last_agent_message: `reply to ${user}` } },
  ] as Omit<RolloutItem, 'timestamp' | 'ordinal'>[];
  return items.map((it, i) => ({ timestamp: T(first + i), ordinal: first + i, ...it }) as RolloutItem);
}

type TurnOf = (turnId: string, first: number, user: string) => RolloutItem[];

/** A paginated session_meta of `threadId`, with a history_base when given (key order as Codex's). */
export function meta(threadId: ThreadId, ordinal: number, extra: Record<string, unknown> = {}): SessionMetaItem {
  return {
    timestamp: T(ordinal),
    ordinal,
    type: 'session_meta',
    payload: {
      session_id: threadId,
      id: threadId,
      ...extra,
      timestamp: T(ordinal),
      cwd: CWD_A,
      originator: 'codex_exec',
      cli_version: '0.169.0',
      source: 'cli',
      model_provider: 'openai',
      history_mode: 'paginated',
    },
  } as SessionMetaItem;
}

/**
 * Where the line of `items[last]` ends in its thread's own rollout file if each item is one
 * compact JSON line (how Codex and the local store write them). A fork's file starts at its own
 * session_meta (what comes before it is inherited). Stores with files check `end_byte_offset`
 * against their file, the others keep it.
 */
function endByte(items: readonly RolloutItem[], last: number): number {
  let start = 0;
  for (const [i, item] of items.slice(0, last + 1).entries()) if (item.type === 'session_meta' && i > 0) start = i;
  let bytes = 0;
  for (const item of items.slice(start, last + 1)) bytes += Buffer.byteLength(JSON.stringify(item)) + 1;
  return bytes;
}

const line = (item: RolloutItem | undefined): string => JSON.stringify(item);

export function forkReferenceTests(ctx: SuiteContext): void {
  describe('forks by reference (sessionMeta with history_base)', () => {
    /** A base of two turns (ordinals 0..8), flushed. */
    async function base(
      turn: TurnOf = numberedTurn,
      first = 'first question',
      second = 'second question',
    ): Promise<{ id: ThreadId; history: RolloutItem[] }> {
      const id = newThreadId();
      await ctx.store.createThread({ ...createParams(ctx.provider, { threadId: id }), sessionMeta: meta(id, 0) });
      await ctx.store.appendItems({
        threadId: id,
        items: [...turn('t-base-1', 1, first), ...turn('t-base-2', 5, second)],
      });
      await ctx.store.shutdownThread(id);
      return { id, history: await loadHistoryItems(ctx.store, { threadId: id }) };
    }

    /** Creates a fork of `of` whose inherited part ends with its item at `index`. */
    async function fork(
      of: { id: ThreadId; history: RolloutItem[] },
      index: number,
      user: string,
      turn: TurnOf = numberedTurn,
    ): Promise<{ id: ThreadId; meta: SessionMetaItem; own: RolloutItem[] }> {
      const id = newThreadId();
      const end = (of.history[index]?.ordinal ?? -1) + 1;
      const m = meta(id, end, {
        forked_from_id: of.id,
        forked_from_ordinal_exclusive: end,
        history_base: { thread_id: of.id, end_ordinal_exclusive: end, end_byte_offset: endByte(of.history, index) },
      });
      const own = turn(`t-${user}`, end + 1, user);
      await ctx.store.createThread({
        ...createParams(ctx.provider, { threadId: id, forkedFromId: of.id }),
        sessionMeta: m,
      });
      await ctx.store.appendItems({ threadId: id, items: own });
      await ctx.store.shutdownThread(id);
      return { id, meta: m, own };
    }

    it("reads as the base's items up to the cut, then its own; the session_meta comes back as given", async () => {
      const b = await base();
      expect(b.history).toHaveLength(9);
      // Forked after the base's first turn (its item numbered 4).
      const f = await fork(b, 4, 'forked question');
      const history = await loadHistoryItems(ctx.store, { threadId: f.id });
      expect(history.map(line)).toEqual([...b.history.slice(0, 5), f.meta, ...f.own].map(line));
      const read = await ctx.store.readThread({ threadId: f.id, includeHistory: true });
      expect(read.forkedFromId).toBe(b.id);
      const turns = await ctx.store.listTurns({ threadId: f.id, sortDirection: 'asc' });
      expect(turns.turns.map((t) => t.turnId)).toEqual(['t-base-1', 't-forked question']);
      // An inherited turn has the items it has in the base.
      const items = await ctx.store.listItems({ threadId: f.id, turnId: 't-base-1' });
      const inBase = await ctx.store.listItems({ threadId: b.id, turnId: 't-base-1' });
      expect(items.items.map((i) => i.item)).toEqual(inBase.items.map((i) => i.item));
      // The base is unchanged and a fork of the fork resolves through both.
      expect((await loadHistoryItems(ctx.store, { threadId: b.id })).map(line)).toEqual(b.history.map(line));
      const fHistory = { id: f.id, history };
      const ff = await fork(fHistory, history.length - 1, 'fork of a fork');
      expect((await loadHistoryItems(ctx.store, { threadId: ff.id })).map(line)).toEqual(
        [...history, ff.meta, ...ff.own].map(line),
      );
      const ffTurns = await ctx.store.listTurns({ threadId: ff.id, sortDirection: 'asc' });
      expect(ffTurns.turns.map((t) => t.turnId)).toEqual(['t-base-1', 't-forked question', 't-fork of a fork']);
      // A store that gives the stored JSON gives the same history, the base's part included.
      const json = ctx.store.loadHistoryJson?.bind(ctx.store);
      if (json) {
        const texts: string[] = [];
        for await (const t of json({ threadId: ff.id })) texts.push(t);
        expect(texts.map((t) => JSON.parse(t) as unknown)).toEqual(
          await loadHistoryItems(ctx.store, { threadId: ff.id }),
        );
      }
    });

    it.skipIf(ctx.harness.capabilities.contentSearch === false)(
      'content search finds a fork by its inherited messages, only those before the cut, and snippets them first',
      async () => {
        const b = await base(searchableTurn, 'alpha kestrel', 'beta ocelot');
        // Forked after the base's first turn; its own turn mentions the kestrel again.
        const f = await fork(b, 4, 'gamma heron kestrel', searchableTurn);
        const fHistory = { id: f.id, history: await loadHistoryItems(ctx.store, { threadId: f.id }) };
        // A fork of the fork after all of it, and one cut at the fork's session_meta (ordinal 5).
        const ff = await fork(fHistory, fHistory.history.length - 1, 'delta lynx', searchableTurn);
        const cut = await fork(fHistory, 5, 'epsilon wren', searchableTurn);
        // The session_metas name the provider openai, whatever the store's default provider.
        const modelProviders = ['openai'];
        const hits = async (searchTerm: string): Promise<ThreadSearchResult[]> =>
          (await ctx.store.searchThreads({ searchTerm, pageSize: 50, modelProviders })).items;
        const idsOf = (items: readonly ThreadSearchResult[]): string[] => items.map((r) => r.thread.threadId);
        const sorted = (items: readonly ThreadSearchResult[]): string[] => idsOf(items).sort();

        // Only in the base's first turn, which every fork inherits.
        const kestrel = await hits('KESTREL');
        expect(sorted(kestrel)).toEqual([b.id, f.id, ff.id, cut.id].sort());
        // The first match in history order is the inherited one, not the fork's own later one.
        for (const r of kestrel) expect(r.snippet, r.thread.threadId).toContain('alpha kestrel');
        // In the base after the cut: the forks do not see it.
        expect(sorted(await hits('ocelot'))).toEqual([b.id]);
        // The fork's own turn: inherited by the fork of the fork that took it, not by the one cut before it.
        const heron = await hits('heron');
        expect(sorted(heron)).toEqual([f.id, ff.id].sort());
        for (const r of heron) expect(r.snippet).toContain('gamma heron');
        expect(sorted(await hits('lynx'))).toEqual([ff.id]);
        expect(sorted(await hits('wren'))).toEqual([cut.id]);

        // Ordered and paged like a listing of the same threads.
        const listing = (await ctx.store.listThreads({ pageSize: 50, modelProviders })).items.map((t) => t.threadId);
        expect(idsOf(kestrel)).toEqual(listing.filter((id) => idsOf(kestrel).includes(id)));
        const paged: string[] = [];
        let page = await ctx.store.searchThreads({ searchTerm: 'kestrel', pageSize: 1, modelProviders });
        const firstPage = idsOf(page.items);
        for (;;) {
          paged.push(...idsOf(page.items));
          if (page.nextCursor === null) break;
          const next = await ctx.store.searchThreads({
            searchTerm: 'kestrel',
            pageSize: 1,
            modelProviders,
            cursor: page.nextCursor,
          });
          if (paged.length === 1) {
            expect(next.backwardsCursor).not.toBeNull();
            const back = await ctx.store.searchThreads({
              searchTerm: 'kestrel',
              pageSize: 1,
              modelProviders,
              cursor: next.backwardsCursor,
            });
            expect(idsOf(back.items)).toEqual(firstPage);
          }
          page = next;
        }
        expect(paged).toEqual(idsOf(kestrel));
        expect(paged).toHaveLength(4);
      },
    );

    it('a history_base that does not resolve, or is malformed, is invalid_request and reserves nothing', async () => {
      const b = await base();
      const id = newThreadId();
      const p = { ...createParams(ctx.provider, { threadId: id }) };
      const ref = (threadId: string, end: number, bytes = endByte(b.history, end - 1)): SessionMetaItem =>
        meta(id, end, { history_base: { thread_id: threadId, end_ordinal_exclusive: end, end_byte_offset: bytes } });
      // A base the store does not have; a cut past the base's last item.
      await expectCode(ctx.store.createThread({ ...p, sessionMeta: ref(newThreadId(), 5) }), 'invalid_request');
      await expectCode(ctx.store.createThread({ ...p, sessionMeta: ref(b.id, 40, 5000) }), 'invalid_request');
      // Malformed: no ordinal bound, the thread itself, not paginated, with forkBase too.
      await expectCode(ctx.store.createThread({ ...p, sessionMeta: ref(b.id, 0, 10) }), 'invalid_request');
      await expectCode(ctx.store.createThread({ ...p, sessionMeta: ref(id, 5) }), 'invalid_request');
      const legacy = ref(b.id, 5);
      delete (legacy.payload as Record<string, unknown>).history_mode;
      await expectCode(ctx.store.createThread({ ...p, sessionMeta: legacy }), 'invalid_request');
      await expectCode(
        ctx.store.createThread({ ...p, sessionMeta: ref(b.id, 5), forkBase: { threadId: b.id } }),
        'invalid_request',
      );
      // Nothing was reserved: the id can still be created, and then it resolves.
      await ctx.store.createThread({ ...p, sessionMeta: ref(b.id, 5) });
      await ctx.store.persistThread(id);
      await ctx.store.shutdownThread(id);
      expect(await loadHistoryItems(ctx.store, { threadId: id })).toHaveLength(6);
    });
  });
}
