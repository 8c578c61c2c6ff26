import { describe, expect, it } from 'vitest';
import { encodeListCursor, loadHistoryItems, newThreadId } from '@skein/thread-store-api';
import type { ListThreadsParams, RolloutItem, ThreadId, ThreadStore } from '@skein/thread-store-api';
import type { SuiteContext } from '../context.js';
import { at, createParams, expectCode, expectIterCode, seedThread, withoutTimestamp } from '../fixtures.js';

const VALID = '0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b';

/** Strings that must never be taken for a thread id (and so never reach a path). */
const BAD_IDS: Array<[string, unknown]> = [
  ['a relative path', '../x'],
  ['a parent escape with a uuid', `../../${VALID}`],
  ['an absolute path', '/etc/passwd'],
  ['a uuid with trailing text', `${VALID}.jsonl`],
  ['a uuid with a trailing path', `${VALID}/../../x`],
  ['a uuid with a leading space', ` ${VALID}`],
  ['a uuid with a newline', `${VALID}\n`],
  ['an empty string', ''],
  ['not a uuid', 'hello'],
  ['a number', 42],
  ['null', null],
];

/** Every method that takes a thread id, called with `id`. */
function callsWith(store: ThreadStore, id: ThreadId, provider: string): Array<[string, () => Promise<unknown>]> {
  return [
    ['createThread', () => store.createThread({ ...createParams(provider), threadId: id })],
    ['resumeThread', () => store.resumeThread({ threadId: id })],
    ['appendItems', () => store.appendItems({ threadId: id, items: [] })],
    ['persistThread', () => store.persistThread(id)],
    ['flushThread', () => store.flushThread(id)],
    ['shutdownThread', () => store.shutdownThread(id)],
    ['discardThread', () => store.discardThread(id)],
    ['readThread', () => store.readThread({ threadId: id })],
    ['loadHistory', () => loadHistoryItems(store, { threadId: id })],
    ['updateThreadMetadata', () => store.updateThreadMetadata({ threadId: id, patch: { name: 'x' } })],
    ['archiveThread', () => store.archiveThread({ threadId: id })],
    ['unarchiveThread', () => store.unarchiveThread({ threadId: id })],
    ['deleteThread', () => store.deleteThread({ threadId: id })],
  ];
}

async function seedPages(ctx: SuiteContext, n: number): Promise<void> {
  for (let i = 0; i < n; i += 1) await seedThread(ctx.store, ctx.provider, { createdAt: at(i) });
}

export function badInputTests(ctx: SuiteContext): void {
  describe('bad input', () => {
    for (const [what, id] of BAD_IDS) {
      it(`a thread id that is ${what} is invalid_request in every method`, async () => {
        for (const [method, call] of callsWith(ctx.store, id as ThreadId, ctx.provider)) {
          const e = await expectCode(call, 'invalid_request').catch((err: unknown) => {
            throw new Error(`${method}: ${err instanceof Error ? err.message : String(err)}`);
          });
          expect(e.message, method).toBeTruthy();
        }
        expect((await ctx.store.listThreads({ modelProviders: [] })).items).toEqual([]);
      });
    }

    it('an uppercase uuid names the same thread as its lowercase form', async () => {
      const id = await seedThread(ctx.store, ctx.provider, { user: 'case test' });
      const t = await ctx.store.readThread({ threadId: id.toUpperCase() as ThreadId });
      expect(t.threadId).toBe(id);
    });

    describe('cursors', () => {
      const rejects = async (ctx2: SuiteContext, params: ListThreadsParams): Promise<void> => {
        await expectCode(ctx2.store.listThreads(params), 'invalid_request');
      };

      it('garbage cursors are invalid_request', async () => {
        await seedPages(ctx, 3);
        for (const cursor of [
          'garbage',
          'sk1.',
          'sk1.!!!!',
          'sk1.bm90IGpzb24',
          '2025-10-02T09:30:14.999Z',
          '{}',
          ' ',
          'sk9.W10',
        ]) {
          await rejects(ctx, { pageSize: 1, cursor });
        }
      });

      it('a tampered cursor is invalid_request', async () => {
        await seedPages(ctx, 3);
        const page = await ctx.store.listThreads({ pageSize: 1 });
        const good = page.nextCursor;
        expect(good).not.toBeNull();
        if (!good) return;
        await rejects(ctx, { pageSize: 1, cursor: good.slice(0, Math.floor(good.length / 2)) });
        await rejects(ctx, { pageSize: 1, cursor: `${good}x!` });
        await rejects(ctx, { pageSize: 1, cursor: good.split('').reverse().join('') });
        await rejects(ctx, { pageSize: 1, cursor: `x${good}` });
        // The untouched cursor still works.
        await expect(ctx.store.listThreads({ pageSize: 1, cursor: good })).resolves.toMatchObject({
          items: [expect.anything()],
        });
      });

      it('a cursor from another sort key or direction is invalid_request', async () => {
        await seedPages(ctx, 3);
        const page = await ctx.store.listThreads({ pageSize: 1, sortKey: 'createdAt', sortDirection: 'desc' });
        const cursor = page.nextCursor;
        await rejects(ctx, { pageSize: 1, cursor, sortKey: 'updatedAt', sortDirection: 'desc' });
        await rejects(ctx, { pageSize: 1, cursor, sortKey: 'recencyAt', sortDirection: 'desc' });
        await rejects(ctx, { pageSize: 1, cursor, sortKey: 'createdAt', sortDirection: 'asc' });
      });

      it('a cursor from another filter set is invalid_request', async () => {
        await seedPages(ctx, 3);
        const page = await ctx.store.listThreads({ pageSize: 1 });
        const cursor = page.nextCursor;
        await rejects(ctx, { pageSize: 1, cursor, modelProviders: [] });
        await rejects(ctx, { pageSize: 1, cursor, cwdFilters: ['/x'] });
        await rejects(ctx, { pageSize: 1, cursor, archived: true });
        await rejects(ctx, { pageSize: 1, cursor, searchTerm: 'hello' });
        await rejects(ctx, { pageSize: 1, cursor, allowedSources: ['exec'] });
        // A different page size is not a different listing.
        await expect(ctx.store.listThreads({ pageSize: 2, cursor })).resolves.toMatchObject({
          items: expect.any(Array),
        });
      });

      it('a cursor made by another store kind is invalid_request', async () => {
        await seedPages(ctx, 3);
        const ids = (await ctx.store.listThreads({})).items.map((t) => t.threadId);
        for (const store of ['other', 'remote-elsewhere']) {
          const cursor = encodeListCursor({
            store,
            sortKey: 'createdAt',
            sortDirection: 'desc',
            filters: '[null,null,null,false,null]',
            towards: 'next',
            value: at(2).getTime(),
            threadId: ids[0] ?? VALID,
          });
          await rejects(ctx, { cursor });
        }
      });

      it('a cursor that is not a string is invalid_request', async () => {
        await rejects(ctx, { cursor: 42 as unknown as string });
        await rejects(ctx, { cursor: { towards: 'next' } as unknown as string });
      });
    });

    it('page sizes outside 1..1000 are invalid_request; 1 and 1000 are fine', async () => {
      await seedPages(ctx, 2);
      for (const pageSize of [0, -1, 1.5, 1001, 1e9, Number.MAX_SAFE_INTEGER, Number.POSITIVE_INFINITY, Number.NaN]) {
        await expectCode(ctx.store.listThreads({ pageSize }), 'invalid_request');
      }
      await expectCode(ctx.store.listThreads({ pageSize: '10' as unknown as number }), 'invalid_request');
      await expect(ctx.store.listThreads({ pageSize: 1 })).resolves.toMatchObject({ items: [expect.anything()] });
      await expect(ctx.store.listThreads({ pageSize: 1000 })).resolves.toMatchObject({
        items: [expect.anything(), expect.anything()],
      });
    });

    it('unknown sort keys and directions are invalid_request', async () => {
      await expectCode(ctx.store.listThreads({ sortKey: 'name' as 'createdAt' }), 'invalid_request');
      await expectCode(ctx.store.listThreads({ sortDirection: 'up' as 'asc' }), 'invalid_request');
    });

    it('unknown item types are preserved verbatim in the history', async () => {
      const unknown: RolloutItem[] = [
        {
          timestamp: '2024-01-15T12:00:02.000Z',
          type: 'world_state',
          payload: { full: true, state: { files: ['a.ts'], n: 3 } },
        },
        { timestamp: '2024-01-15T12:00:03.000Z', type: 'future_line_kind', payload: [1, 'two', { three: null }] },
        { type: 'event_msg', payload: { type: 'future_event_we_keep?', x: 1 } },
        { timestamp: '2024-01-15T12:00:04.000Z', type: 'token_usage_record', payload: { usage: { total: 5 } } },
      ];
      const p = createParams(ctx.provider);
      await ctx.store.createThread(p);
      await ctx.store.appendItems({ threadId: p.threadId, items: unknown });
      await ctx.store.shutdownThread(p.threadId);
      const history = await loadHistoryItems(ctx.store, { threadId: p.threadId });
      const kept = history.filter((i) => i.type !== 'session_meta' && i.type !== 'event_msg');
      expect(kept).toEqual([unknown[0], unknown[1], unknown[3]]);
    });

    it('a very large item (5 MB of text) round-trips', { timeout: 60_000 }, async () => {
      const big = 'x'.repeat(5 * 1024 * 1024 - 3) + 'end';
      const item: RolloutItem = {
        type: 'response_item',
        payload: { type: 'function_call_output', call_id: 'call_big', output: big },
      };
      const p = createParams(ctx.provider);
      await ctx.store.createThread(p);
      await ctx.store.appendItems({
        threadId: p.threadId,
        items: [item, { type: 'event_msg', payload: { type: 'user_message', message: 'after big' } }],
      });
      await ctx.store.shutdownThread(p.threadId);
      const history = await loadHistoryItems(ctx.store, { threadId: p.threadId });
      expect(history).toHaveLength(3);
      const got = history[1];
      expect(got && withoutTimestamp(got)).toEqual(item);
      expect((got?.payload as { output: string }).output.length).toBe(big.length);
      await expect(ctx.store.readThread({ threadId: p.threadId })).resolves.toMatchObject({ preview: 'after big' });
    });

    it('an item of 16 MiB is accepted and round-trips', { timeout: 120_000 }, async () => {
      const big = 'y'.repeat(16 * 1024 * 1024);
      const p = createParams(ctx.provider);
      await ctx.store.createThread(p);
      await ctx.store.appendItems({
        threadId: p.threadId,
        items: [{ type: 'response_item', payload: { type: 'function_call_output', call_id: 'c16', output: big } }],
      });
      await ctx.store.shutdownThread(p.threadId);
      const history = await loadHistoryItems(ctx.store, { threadId: p.threadId });
      const out = (history[1]?.payload as { output?: string } | undefined)?.output;
      expect(out?.length).toBe(big.length);
      expect(out === big).toBe(true);
    });

    it('items that are not rollout items are invalid_request', async () => {
      const p = createParams(ctx.provider);
      await ctx.store.createThread(p);
      const bad: unknown[] = [
        null,
        'line',
        7,
        [],
        {},
        { type: '', payload: {} },
        { type: 'event_msg' },
        { type: 'x', payload: {}, timestamp: 5 },
      ];
      for (const item of bad) {
        await expectCode(
          ctx.store.appendItems({ threadId: p.threadId, items: [item as RolloutItem] }),
          'invalid_request',
        );
      }
      await expectCode(
        ctx.store.appendItems({ threadId: p.threadId, items: 'nope' as unknown as RolloutItem[] }),
        'invalid_request',
      );
      await ctx.store.flushThread(p.threadId);
      await expectCode(ctx.store.readThread({ threadId: p.threadId }), 'not_found');
      await ctx.store.discardThread(p.threadId);
    });

    it('a missing thread is not_found in every method that reads or changes one', async () => {
      const id = newThreadId();
      await expectCode(ctx.store.readThread({ threadId: id }), 'not_found');
      await expectIterCode(() => ctx.store.loadHistory({ threadId: id }), 'not_found');
      await expectCode(ctx.store.resumeThread({ threadId: id }), 'not_found');
      await expectCode(ctx.store.updateThreadMetadata({ threadId: id, patch: {} }), 'not_found');
      await expectCode(ctx.store.archiveThread({ threadId: id }), 'not_found');
      await expectCode(ctx.store.unarchiveThread({ threadId: id }), 'not_found');
      await expectCode(ctx.store.deleteThread({ threadId: id }), 'not_found');
    });
  });
}
