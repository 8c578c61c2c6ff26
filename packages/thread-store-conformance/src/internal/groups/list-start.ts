import { describe, expect, it } from 'vitest';
import { MAX_PAGE_SIZE } from '@skein/thread-store-api';
import type { ListStart, ListThreadsParams, SortDirection, ThreadId, ThreadSortKey } from '@skein/thread-store-api';
import type { SuiteContext } from '../context.js';
import { CWD_A, CWD_B, at, expectCode, ids, seedThread } from '../fixtures.js';
import { DIRECTIONS, SORT_KEYS, expectedOrder, seedSortable, walkBackward, walkForward } from '../listing-helpers.js';
import type { SortableThread } from '../listing-helpers.js';

/**
 * The threads of a full listing that a start keeps, worked out from the rows alone: those whose
 * sort value lies beyond the start in the listing's direction, and at equal values those the
 * start's thread id (if any) puts at or after it.
 */
function expectedFrom(
  rows: readonly SortableThread[],
  key: ThreadSortKey,
  dir: SortDirection,
  start: { minutes: number; inclusive: boolean; threadId?: string },
): string[] {
  const atMs = at(start.minutes).getTime();
  return expectedOrder(rows, key, dir).filter((id) => {
    const row = rows.find((r) => r.threadId === id);
    if (!row) throw new Error('unknown row');
    const v = at(row[key]).getTime();
    const beyond = dir === 'asc' ? v > atMs : v < atMs;
    if (beyond) return true;
    if (v !== atMs) return false;
    if (start.threadId === undefined) return start.inclusive;
    if (id === start.threadId) return start.inclusive;
    return dir === 'asc' ? id > start.threadId : id < start.threadId;
  });
}

/** Every value a seeded column takes, plus one before, one between two and one after them all. */
function probeMinutes(rows: readonly SortableThread[], key: ThreadSortKey): number[] {
  const values = [...new Set(rows.map((r) => r[key]))].sort((a, b) => a - b);
  const first = values[0] ?? 0;
  const last = values[values.length - 1] ?? 0;
  return [first - 1, ...values, (first + (values[1] ?? first)) / 2, last + 1];
}

export function listStartTests(ctx: SuiteContext): void {
  describe('list start (a time bound on the sort key)', () => {
    for (const sortKey of SORT_KEYS) {
      for (const sortDirection of DIRECTIONS) {
        it(`by ${sortKey} ${sortDirection}: every start, inclusive and exclusive, keeps exactly the threads beyond it`, async () => {
          const rows = await seedSortable(ctx.store, ctx.provider);
          for (const minutes of probeMinutes(rows, sortKey)) {
            for (const inclusive of [true, false]) {
              const start: ListStart = { at: at(minutes), inclusive };
              const page = await ctx.store.listThreads({ sortKey, sortDirection, pageSize: MAX_PAGE_SIZE, start });
              const expected = expectedFrom(rows, sortKey, sortDirection, { minutes, inclusive });
              expect(ids(page.items), `start ${minutes} ${inclusive ? 'inclusive' : 'exclusive'}`).toEqual(expected);
              expect(page.nextCursor).toBeNull();
              expect(page.backwardsCursor).toBeNull();
            }
          }
        });

        it(`by ${sortKey} ${sortDirection}: a start with a thread id is the keyset position of that thread`, async () => {
          const rows = await seedSortable(ctx.store, ctx.provider);
          const full = expectedOrder(rows, sortKey, sortDirection);
          for (const [i, id] of full.entries()) {
            const row = rows.find((r) => r.threadId === id);
            if (!row) throw new Error('unknown row');
            for (const inclusive of [true, false]) {
              const page = await ctx.store.listThreads({
                sortKey,
                sortDirection,
                pageSize: MAX_PAGE_SIZE,
                start: { at: at(row[sortKey]), inclusive, threadId: id as ThreadId },
              });
              // A position in the listing: everything after the thread, and the thread itself when inclusive.
              expect(ids(page.items), `at thread ${i} ${inclusive ? 'inclusive' : 'exclusive'}`).toEqual(
                full.slice(inclusive ? i : i + 1),
              );
            }
          }
        });

        it(`by ${sortKey} ${sortDirection}: a started listing pages forward and back within its start`, async () => {
          const rows = await seedSortable(ctx.store, ctx.provider);
          const values = probeMinutes(rows, sortKey);
          const minutes = values[Math.floor(values.length / 2)] ?? 0;
          const expected = expectedFrom(rows, sortKey, sortDirection, { minutes, inclusive: true });
          expect(expected.length).toBeGreaterThan(1);
          for (const pageSize of [1, 2, 3]) {
            const params: ListThreadsParams = { sortKey, sortDirection, pageSize, start: { at: at(minutes) } };
            const pages = await walkForward(ctx.store, params);
            expect(
              pages.flatMap((p) => ids(p.items)),
              `forward, page size ${pageSize}`,
            ).toEqual(expected);
            const last = pages[pages.length - 1];
            if (!last) throw new Error('no pages');
            const back = await walkBackward(ctx.store, params, last);
            expect(ids(back), `backward, page size ${pageSize}`).toEqual(expected);
          }
        });
      }
    }

    it('ties at the start: inclusive keeps every thread of that time, exclusive none, a thread id splits them', async () => {
      const tie = at(30);
      const tied: ThreadId[] = [];
      for (let i = 0; i < 3; i += 1) tied.push(await seedThread(ctx.store, ctx.provider, { createdAt: tie }));
      const before = await seedThread(ctx.store, ctx.provider, { createdAt: at(20) });
      const after = await seedThread(ctx.store, ctx.provider, { createdAt: at(40) });
      const byId = [...tied].sort();
      const list = async (sortDirection: SortDirection, start: ListStart): Promise<string[]> =>
        ids((await ctx.store.listThreads({ sortDirection, start })).items);
      expect(await list('asc', { at: tie })).toEqual([...byId, after]);
      expect(await list('asc', { at: tie, inclusive: false })).toEqual([after]);
      expect(await list('desc', { at: tie })).toEqual([...byId].reverse().concat(before));
      expect(await list('desc', { at: tie, inclusive: false })).toEqual([before]);
      const middle = byId[1] as ThreadId;
      expect(await list('asc', { at: tie, threadId: middle })).toEqual([middle, byId[2], after]);
      expect(await list('asc', { at: tie, inclusive: false, threadId: middle })).toEqual([byId[2], after]);
      expect(await list('desc', { at: tie, threadId: middle })).toEqual([middle, byId[0], before]);
      expect(await list('desc', { at: tie, inclusive: false, threadId: middle })).toEqual([byId[0], before]);
      // One millisecond either side of the tie: the tied threads are all in, or all out.
      const ms = (d: number): Date => new Date(tie.getTime() + d);
      expect(await list('asc', { at: ms(-1), inclusive: false })).toEqual([...byId, after]);
      expect(await list('asc', { at: ms(1) })).toEqual([after]);
      expect(await list('desc', { at: ms(1), inclusive: false })).toEqual([...byId].reverse().concat(before));
      expect(await list('desc', { at: ms(-1) })).toEqual([before]);
    });

    it('combines with the filters: a start keeps the filtered threads beyond it', async () => {
      const made: { id: string; minutes: number; cwd: string; exec: boolean }[] = [];
      for (let i = 0; i < 8; i += 1) {
        const cwd = i % 2 === 0 ? CWD_A : CWD_B;
        const exec = i % 3 === 0;
        const minutes = 10 * i;
        const id = await seedThread(ctx.store, ctx.provider, {
          createdAt: at(minutes),
          cwd,
          source: exec ? { kind: 'exec' } : { kind: 'cli' },
          user: `filtered ${i} ${cwd === CWD_A ? 'apple' : 'pear'}`,
        });
        made.push({ id, minutes, cwd, exec });
      }
      const page = await ctx.store.listThreads({
        sortDirection: 'asc',
        cwdFilters: [CWD_A],
        allowedSources: ['cli', 'exec'],
        start: { at: at(20) },
      });
      expect(ids(page.items)).toEqual(made.filter((m) => m.cwd === CWD_A && m.minutes >= 20).map((m) => m.id));
      const cli = await ctx.store.listThreads({ searchTerm: 'pear', start: { at: at(50), inclusive: false } });
      expect(ids(cli.items)).toEqual(
        made
          .filter((m) => m.cwd === CWD_B && !m.exec && m.minutes < 50)
          .map((m) => m.id)
          .reverse(),
      );
    });

    it('content search takes a start too', async () => {
      const old = await seedThread(ctx.store, ctx.provider, { createdAt: at(1), user: 'find the kumquat' });
      const recent = await seedThread(ctx.store, ctx.provider, { createdAt: at(9), user: 'another kumquat here' });
      const all = await ctx.store.searchThreads({ searchTerm: 'kumquat' });
      expect(all.items.map((r) => r.thread.threadId)).toEqual([recent, old]);
      const started = await ctx.store.searchThreads({ searchTerm: 'kumquat', start: { at: at(5) } });
      expect(started.items.map((r) => r.thread.threadId)).toEqual([old]);
    });

    it('cursors belong to their start: reusing one with another start, or none, is invalid_request', async () => {
      await seedSortable(ctx.store, ctx.provider);
      const started = await ctx.store.listThreads({ pageSize: 1, start: { at: at(8) } });
      expect(started.nextCursor).not.toBeNull();
      await expectCode(ctx.store.listThreads({ pageSize: 1, cursor: started.nextCursor }), 'invalid_request');
      await expectCode(
        ctx.store.listThreads({ pageSize: 1, cursor: started.nextCursor, start: { at: at(8), inclusive: false } }),
        'invalid_request',
      );
      const plain = await ctx.store.listThreads({ pageSize: 1 });
      await expectCode(
        ctx.store.listThreads({ pageSize: 1, cursor: plain.nextCursor, start: { at: at(8) } }),
        'invalid_request',
      );
      // The same start given again (a new Date of the same instant) continues the listing.
      const next = await ctx.store.listThreads({ pageSize: 1, cursor: started.nextCursor, start: { at: at(8) } });
      expect(next.items).toHaveLength(1);
    });

    it('a null start lists from the beginning; counts ignore a start', async () => {
      const rows = await seedSortable(ctx.store, ctx.provider);
      const page = await ctx.store.listThreads({ start: null });
      expect(ids(page.items)).toEqual(expectedOrder(rows, 'createdAt', 'desc'));
      const counted = await ctx.store.countThreads({ start: { at: at(0) } } as Parameters<
        typeof ctx.store.countThreads
      >[0]);
      expect(counted).toBe(rows.length);
    });

    it('rejects a malformed start with invalid_request', async () => {
      await seedThread(ctx.store, ctx.provider, { createdAt: at(1) });
      const bad: unknown[] = [
        'yesterday',
        42,
        {},
        { at: '2026-01-10T10:00:00Z' },
        { at: 1_768_039_200_000 },
        { at: new Date(Number.NaN) },
        { at: at(1), inclusive: 'yes' },
        { at: at(1), threadId: 'not-a-thread' },
        { at: at(1), threadId: 7 },
      ];
      for (const start of bad)
        await expectCode(ctx.store.listThreads({ start: start as ListStart }), 'invalid_request');
    });
  });
}
