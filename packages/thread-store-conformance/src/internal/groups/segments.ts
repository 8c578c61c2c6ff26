import { describe, expect, it } from 'vitest';
import { loadHistoryItems, newThreadId } from '@skein/thread-store-api';
import type { RolloutItem, SessionMetaItem, ThreadId, ThreadStore } from '@skein/thread-store-api';
import type { SuiteContext } from '../context.js';
import { createParams, expectCode } from '../fixtures.js';
import { meta, searchableTurn } from './fork-reference.js';

const line = (item: RolloutItem | undefined): string => JSON.stringify(item);

/** Bytes of a rollout's own lines up to and including `own[last]` (one compact JSON line each). */
function bytesThrough(own: readonly RolloutItem[], last: number): number {
  let bytes = 0;
  for (const item of own.slice(0, last + 1)) bytes += Buffer.byteLength(JSON.stringify(item)) + 1;
  return bytes;
}

/**
 * The `session_meta` of a new segment of `threadId` cut after `own[last]` of rollout `rollout`
 * (the segment's first line has the cut's ordinal, as Codex writes it).
 */
function segmentMeta(
  threadId: ThreadId,
  rollout: ThreadId,
  own: readonly RolloutItem[],
  last: number,
): SessionMetaItem {
  const end = (own[last]?.ordinal ?? -1) + 1;
  return meta(threadId, end, {
    history_base: { thread_id: rollout, end_ordinal_exclusive: end, end_byte_offset: bytesThrough(own, last) },
  });
}

async function own(store: ThreadStore, threadId: ThreadId, rolloutId: ThreadId): Promise<RolloutItem[]> {
  return loadHistoryItems(store, { threadId, rolloutId, includeArchived: true });
}

const turnIds = async (store: ThreadStore, threadId: ThreadId): Promise<string[]> =>
  (await store.listTurns({ threadId, sortDirection: 'asc', includeArchived: true })).turns.map((t) => t.turnId);

export function segmentTests(ctx: SuiteContext): void {
  const supported = ctx.harness.capabilities.segments === true;
  const contentSearch = ctx.harness.capabilities.contentSearch !== false;
  // The session_metas name the provider openai, whatever the store's default provider.
  const modelProviders = ['openai'];

  describe('segments of a paginated thread (a revert starts a new rollout)', () => {
    /** A paginated thread of three turns (ordinals 0..12), shut down. */
    async function threeTurns(): Promise<{ id: ThreadId; items: RolloutItem[] }> {
      const id = newThreadId();
      const first = meta(id, 0);
      await ctx.store.createThread({ ...createParams(ctx.provider, { threadId: id }), sessionMeta: first });
      const turns = [
        ...searchableTurn('t1', 1, 'alpha question'),
        ...searchableTurn('t2', 5, 'bravo question'),
        ...searchableTurn('t3', 9, 'charlie question'),
      ];
      await ctx.store.appendItems({ threadId: id, items: turns });
      await ctx.store.shutdownThread(id);
      return { id, items: [first, ...turns] };
    }

    it.skipIf(supported)(
      'a store without segments rejects a new segment and a rollout id with unsupported',
      async () => {
        const t = await threeTurns();
        const seg = { rolloutId: newThreadId(), sessionMeta: segmentMeta(t.id, t.id, t.items, 4) };
        await expectCode(ctx.store.resumeThread({ threadId: t.id, segment: seg }), 'unsupported');
        await expectCode(loadHistoryItems(ctx.store, { threadId: t.id, rolloutId: t.id }), 'unsupported');
      },
    );

    it.runIf(supported)(
      'after a revert the thread reads as its newest segment: history, rollouts, turns, items, listing, search',
      async () => {
        const t = await threeTurns();
        const before = await ctx.store.readThread({ threadId: t.id });
        const r = newThreadId();
        // Reverted before its second turn: the cut is after item 4 (ordinal 4).
        const seg = segmentMeta(t.id, t.id, t.items, 4);
        await ctx.store.resumeThread({ threadId: t.id, segment: { rolloutId: r, sessionMeta: seg } });
        const after = searchableTurn('t4', 6, 'delta question');
        await ctx.store.appendItems({ threadId: t.id, items: after });
        await ctx.store.shutdownThread(t.id);

        const history = await loadHistoryItems(ctx.store, { threadId: t.id });
        expect(history.map(line)).toEqual([...t.items.slice(0, 5), seg, ...after].map(line));
        const read = await ctx.store.readThread({ threadId: t.id, includeHistory: true });
        expect(read.threadId).toBe(t.id);
        // Its first message is still its preview; it reads as created when the segment was (as
        // Codex 0.169 reports a reverted thread).
        expect(read.preview).toBe(before.preview);
        expect(read.createdAt).toEqual(new Date(seg.payload.timestamp as string));
        expect(read.createdAt).not.toEqual(before.createdAt);
        expect(ctx.store.listSegments).toBeTypeOf('function');
        expect(await ctx.store.listSegments?.({ threadId: t.id })).toEqual([
          { rolloutId: t.id, historyBase: null },
          {
            rolloutId: r,
            historyBase: { threadId: t.id, endOrdinalExclusive: 5, endByteOffset: bytesThrough(t.items, 4) },
          },
        ]);
        // Each rollout's own lines, as given: the first keeps its reverted turns.
        expect((await own(ctx.store, t.id, t.id)).map(line)).toEqual(t.items.map(line));
        expect((await own(ctx.store, t.id, r)).map(line)).toEqual([seg, ...after].map(line));
        expect(await turnIds(ctx.store, t.id)).toEqual(['t1', 't4']);
        const page = await ctx.store.listThreads({ pageSize: 100, modelProviders });
        expect(page.items.filter((x) => x.threadId === t.id)).toHaveLength(1);
        expect(page.items.some((x) => (x.threadId as string) === r)).toBe(false);
        if (contentSearch) {
          const found = async (term: string) =>
            (await ctx.store.searchThreads({ searchTerm: term, pageSize: 100, modelProviders })).items.map(
              (x) => x.thread.threadId,
            );
          expect(await found('alpha question')).toEqual([t.id]);
          expect(await found('delta question')).toEqual([t.id]);
          // Reverted messages are not the thread's any more.
          expect(await found('bravo question')).toEqual([]);
          expect(await found('charlie question')).toEqual([]);
        }
      },
    );

    it.runIf(supported)(
      'appends go to the newest segment; a segment of a segment; a fork that names a segment',
      async () => {
        const t = await threeTurns();
        const r1 = newThreadId();
        const seg1 = segmentMeta(t.id, t.id, t.items, 8);
        await ctx.store.resumeThread({ threadId: t.id, segment: { rolloutId: r1, sessionMeta: seg1 } });
        const t4 = searchableTurn('t4', 10, 'delta question');
        await ctx.store.appendItems({ threadId: t.id, items: t4 });
        await ctx.store.shutdownThread(t.id);
        // A later resume without a segment appends to the newest one.
        await ctx.store.resumeThread({ threadId: t.id });
        const t5 = searchableTurn('t5', 14, 'echo question');
        await ctx.store.appendItems({ threadId: t.id, items: t5 });
        await ctx.store.shutdownThread(t.id);
        const r1Own = [seg1, ...t4, ...t5];
        expect((await own(ctx.store, t.id, r1)).map(line)).toEqual(r1Own.map(line));
        expect((await own(ctx.store, t.id, t.id)).map(line)).toEqual(t.items.map(line));

        // A second revert, before t5: its base is the first segment.
        const r2 = newThreadId();
        const seg2 = segmentMeta(t.id, r1, r1Own, 4);
        await ctx.store.resumeThread({ threadId: t.id, segment: { rolloutId: r2, sessionMeta: seg2 } });
        const t6 = searchableTurn('t6', 15, 'foxtrot question');
        await ctx.store.appendItems({ threadId: t.id, items: t6 });
        await ctx.store.shutdownThread(t.id);
        expect((await ctx.store.listSegments?.({ threadId: t.id }))?.map((s) => s.rolloutId)).toEqual([t.id, r1, r2]);
        expect((await loadHistoryItems(ctx.store, { threadId: t.id })).map(line)).toEqual(
          [...t.items.slice(0, 9), seg1, ...t4, seg2, ...t6].map(line),
        );
        expect(await turnIds(ctx.store, t.id)).toEqual(['t1', 't2', 't4', 't6']);

        // A fork of the thread as it was after t5: its base is the first segment's rollout id.
        const f = newThreadId();
        const fEnd = 18;
        const fMeta = meta(f, fEnd, {
          forked_from_id: t.id,
          forked_from_ordinal_exclusive: fEnd,
          history_base: { thread_id: r1, end_ordinal_exclusive: fEnd, end_byte_offset: bytesThrough(r1Own, 8) },
        });
        await ctx.store.createThread({
          ...createParams(ctx.provider, { threadId: f, forkedFromId: t.id }),
          sessionMeta: fMeta,
        });
        const fOwn = searchableTurn('tf', 19, 'golf question');
        await ctx.store.appendItems({ threadId: f, items: fOwn });
        await ctx.store.shutdownThread(f);
        expect((await loadHistoryItems(ctx.store, { threadId: f })).map(line)).toEqual(
          [...t.items.slice(0, 9), ...r1Own, fMeta, ...fOwn].map(line),
        );
        expect(await turnIds(ctx.store, f)).toEqual(['t1', 't2', 't4', 't5', 'tf']);
        expect(await ctx.store.listSegments?.({ threadId: f })).toEqual([
          {
            rolloutId: f,
            historyBase: { threadId: r1, endOrdinalExclusive: fEnd, endByteOffset: bytesThrough(r1Own, 8) },
          },
        ]);
        if (contentSearch) {
          const found = async (term: string) =>
            (await ctx.store.searchThreads({ searchTerm: term, pageSize: 100, modelProviders })).items
              .map((x) => x.thread.threadId as string)
              .sort();
          // t5 is the fork's (inherited) and no longer the thread's; foxtrot only the thread's.
          expect(await found('echo question')).toEqual([f]);
          expect(await found('foxtrot question')).toEqual([t.id]);
          expect(await found('delta question')).toEqual([f, t.id].sort());
        }
        if (ctx.harness.capabilities.reopen) {
          const store = await ctx.reopen();
          expect((await store.listSegments?.({ threadId: t.id }))?.map((s) => s.rolloutId)).toEqual([t.id, r1, r2]);
          expect((await own(store, t.id, r2)).map(line)).toEqual([seg2, ...t6].map(line));
          expect(await turnIds(store, f)).toEqual(['t1', 't2', 't4', 't5', 'tf']);
        }
      },
    );

    it.runIf(supported)('bad segments are refused and change nothing', async () => {
      const t = await threeTurns();
      const other = await threeTurns();
      const resume = (rolloutId: ThreadId, sessionMeta: SessionMetaItem) =>
        ctx.store.resumeThread({ threadId: t.id, segment: { rolloutId, sessionMeta } });
      const good = segmentMeta(t.id, t.id, t.items, 4);
      // A base that is not one of the thread's rollouts, a cut it does not have.
      await expectCode(resume(newThreadId(), segmentMeta(t.id, other.id, other.items, 4)), 'invalid_request');
      const far = meta(t.id, 40, {
        history_base: { thread_id: t.id, end_ordinal_exclusive: 40, end_byte_offset: 9000 },
      });
      await expectCode(resume(newThreadId(), far), 'invalid_request');
      // No history_base, another thread's session_meta, the thread's own id as the rollout id.
      await expectCode(resume(newThreadId(), meta(t.id, 5)), 'invalid_request');
      await expectCode(
        resume(newThreadId(), { ...good, payload: { ...good.payload, id: other.id } }),
        'invalid_request',
      );
      await expectCode(resume(t.id, good), 'invalid_request');
      // A rollout id some thread already has; one that sorts before the thread's newest rollout.
      await expectCode(resume(other.id, good), 'conflict');
      await expectCode(resume('00000000-0000-7000-8000-000000000000' as ThreadId, good), 'invalid_request');
      // A legacy thread has no segments.
      const legacy = newThreadId();
      await ctx.store.createThread(createParams(ctx.provider, { threadId: legacy }));
      await ctx.store.persistThread(legacy);
      await ctx.store.shutdownThread(legacy);
      await expectCode(
        ctx.store.resumeThread({
          threadId: legacy,
          segment: { rolloutId: newThreadId(), sessionMeta: { ...good, payload: { ...good.payload, id: legacy } } },
        }),
        'invalid_request',
      );
      // Nothing was reserved: a good segment works now, and one shut down before any write leaves none.
      await resume(newThreadId(), good);
      await ctx.store.shutdownThread(t.id);
      expect(await ctx.store.listSegments?.({ threadId: t.id })).toEqual([{ rolloutId: t.id, historyBase: null }]);
      expect((await loadHistoryItems(ctx.store, { threadId: t.id })).map(line)).toEqual(t.items.map(line));
      // Unknown rollouts and threads.
      await expectCode(own(ctx.store, t.id, newThreadId()), 'not_found');
      await expectCode(own(ctx.store, t.id, other.id), 'not_found');
      await expectCode(Promise.resolve(ctx.store.listSegments?.({ threadId: newThreadId() })), 'not_found');
    });

    it.runIf(supported)('a segment written by persistThread alone; archive and delete take every rollout', async () => {
      const t = await threeTurns();
      const r = newThreadId();
      const seg = segmentMeta(t.id, t.id, t.items, 8);
      await ctx.store.resumeThread({ threadId: t.id, segment: { rolloutId: r, sessionMeta: seg } });
      await ctx.store.persistThread(t.id);
      await ctx.store.shutdownThread(t.id);
      expect((await own(ctx.store, t.id, r)).map(line)).toEqual([line(seg)]);
      expect(await turnIds(ctx.store, t.id)).toEqual(['t1', 't2']);
      await ctx.store.archiveThread({ threadId: t.id });
      await expectCode(Promise.resolve(ctx.store.listSegments?.({ threadId: t.id })), 'not_found');
      expect((await ctx.store.listSegments?.({ threadId: t.id, includeArchived: true }))?.length).toBe(2);
      expect((await own(ctx.store, t.id, r)).map(line)).toEqual([line(seg)]);
      await ctx.store.unarchiveThread({ threadId: t.id });
      await ctx.store.deleteThread({ threadId: t.id });
      await expectCode(Promise.resolve(ctx.store.listSegments?.({ threadId: t.id })), 'not_found');
      await expectCode(own(ctx.store, t.id, r), 'not_found');
    });
  });
}
