import { describe, expect, it } from 'vitest';
import { MAX_FILTER_VALUES, MAX_THREAD_DATE, MIN_THREAD_DATE, newThreadId } from '@skein/thread-store-api';
import type { ListThreadsParams } from '@skein/thread-store-api';
import type { SuiteContext } from '../context.js';
import { at, createParams, expectCode, seedThread } from '../fixtures.js';

/** Dates a store must refuse rather than clamp or store where no listing finds them. */
const OUT_OF_RANGE: Array<[string, Date]> = [
  ['year 275760 (the largest Date)', new Date(8.64e15)],
  ['year 20000', new Date(Date.UTC(20000, 0, 1))],
  ['year 10000', new Date(MAX_THREAD_DATE.getTime() + 1)],
  ['before 1970', new Date(-1)],
];

export function limitTests(ctx: SuiteContext): void {
  describe('limits', () => {
    for (const [what, date] of OUT_OF_RANGE) {
      it(`createdAt ${what} is invalid_request, and no thread appears`, async () => {
        const p = { ...createParams(ctx.provider), createdAt: date };
        await expectCode(ctx.store.createThread(p), 'invalid_request');
        await expectCode(ctx.store.readThread({ threadId: p.threadId }), 'not_found');
      });

      it(`a patch to ${what} is invalid_request and changes nothing`, async () => {
        const id = await seedThread(ctx.store, ctx.provider, { createdAt: at(1) });
        const before = await ctx.store.readThread({ threadId: id });
        for (const field of ['createdAt', 'updatedAt', 'advanceRecencyAt'] as const)
          await expectCode(
            ctx.store.updateThreadMetadata({ threadId: id, patch: { [field]: date } }),
            'invalid_request',
          );
        const after = await ctx.store.readThread({ threadId: id });
        expect(after.createdAt).toEqual(before.createdAt);
        expect(after.updatedAt).toEqual(before.updatedAt);
        expect(after.recencyAt).toEqual(before.recencyAt);
      });
    }

    it('the first and last supported dates are kept exactly, and the threads are listed', async () => {
      const first = await seedThread(ctx.store, ctx.provider, { createdAt: MIN_THREAD_DATE, user: 'at the epoch' });
      const last = await seedThread(ctx.store, ctx.provider, { createdAt: MAX_THREAD_DATE, user: 'at the end' });
      expect((await ctx.store.readThread({ threadId: first })).createdAt).toEqual(MIN_THREAD_DATE);
      expect((await ctx.store.readThread({ threadId: last })).createdAt).toEqual(MAX_THREAD_DATE);
      const listed = (await ctx.store.listThreads({ sortDirection: 'asc' })).items.map((t) => t.threadId);
      expect(listed).toEqual([first, last]);
      const found = (await ctx.store.searchThreads({ searchTerm: 'at the' })).items.map((r) => r.thread.threadId);
      if (ctx.harness.capabilities.contentSearch !== false) expect(found).toEqual([last, first]);
      // A far date every file system keeps as a modification time (ext4 stops in 2446).
      const when = new Date(Date.UTC(2400, 0, 1, 12, 30, 15, 678));
      await ctx.store.updateThreadMetadata({ threadId: first, patch: { updatedAt: when } });
      expect((await ctx.store.readThread({ threadId: first })).updatedAt).toEqual(when);
    });

    describe('filter lists', () => {
      const lists: Array<[string, (n: number) => ListThreadsParams]> = [
        ['cwdFilters', (n) => ({ cwdFilters: Array.from({ length: n }, (_, i) => `/srv/${i}`) })],
        ['modelProviders', (n) => ({ modelProviders: Array.from({ length: n }, (_, i) => `provider-${i}`) })],
        ['allowedSources', (n) => ({ allowedSources: Array.from({ length: n }, () => 'cli' as const) })],
      ];
      for (const [name, make] of lists) {
        it(`${name} with more than ${MAX_FILTER_VALUES} entries is invalid_request; ${MAX_FILTER_VALUES} is fine`, async () => {
          await seedThread(ctx.store, ctx.provider, { user: 'a listed thread' });
          await expectCode(ctx.store.listThreads(make(MAX_FILTER_VALUES + 1)), 'invalid_request');
          await expectCode(ctx.store.listThreads(make(100_000)), 'invalid_request');
          await expectCode(
            ctx.store.searchThreads({ ...make(MAX_FILTER_VALUES + 1), searchTerm: 'listed' }),
            'invalid_request',
          );
          await ctx.store.listThreads(make(MAX_FILTER_VALUES));
          await ctx.store.searchThreads({ ...make(MAX_FILTER_VALUES), searchTerm: 'listed' });
        });
      }

      it('entries of the wrong type are invalid_request', async () => {
        const bad = [
          { cwdFilters: [42] },
          { modelProviders: [null] },
          { allowedSources: [7] },
          { cwdFilters: 'not a list' },
        ] as unknown as ListThreadsParams[];
        for (const params of bad) await expectCode(ctx.store.listThreads(params), 'invalid_request');
      });
    });

    it('deleting a thread that never existed is not_found, also twice', async () => {
      const id = newThreadId();
      await expectCode(ctx.store.deleteThread({ threadId: id }), 'not_found');
      const made = await seedThread(ctx.store, ctx.provider, {});
      await ctx.store.deleteThread({ threadId: made });
      await expectCode(ctx.store.deleteThread({ threadId: made }), 'not_found');
      await expectCode(ctx.store.deleteThread({ threadId: id }), 'not_found');
    });
  });
}
