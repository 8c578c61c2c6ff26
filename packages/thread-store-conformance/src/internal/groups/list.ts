import { describe, expect, it } from 'vitest';
import { MAX_PAGE_SIZE } from '@skein/thread-store-api';
import type { ListThreadsParams, SessionSource, StoredThread, ThreadId } from '@skein/thread-store-api';
import type { SuiteContext } from '../context.js';
import { CWD_A, CWD_B, at, ids, seedThread } from '../fixtures.js';
import { DIRECTIONS, SORT_KEYS, expectedOrder, seedSortable, walkBackward, walkForward } from '../listing-helpers.js';

function isSortedBy(
  items: readonly StoredThread[],
  key: 'createdAt' | 'updatedAt' | 'recencyAt',
  dir: 'asc' | 'desc',
): boolean {
  for (let i = 1; i < items.length; i += 1) {
    const a = items[i - 1];
    const b = items[i];
    if (!a || !b) return false;
    const av = a[key].getTime();
    const bv = b[key].getTime();
    const c = av !== bv ? av - bv : a.threadId < b.threadId ? -1 : a.threadId > b.threadId ? 1 : 0;
    if ((dir === 'asc' ? c : -c) >= 0) return false;
  }
  return true;
}

export function listTests(ctx: SuiteContext): void {
  describe('list', () => {
    it('defaults: createdAt descending, the default provider, interactive sources', async () => {
      const rows = await seedSortable(ctx.store, ctx.provider);
      const page = await ctx.store.listThreads({});
      expect(ids(page.items)).toEqual(expectedOrder(rows, 'createdAt', 'desc'));
      expect(page.nextCursor).toBeNull();
      expect(page.backwardsCursor).toBeNull();
    });

    it('an empty store lists nothing', async () => {
      const page = await ctx.store.listThreads({});
      expect(page).toEqual({ items: [], nextCursor: null, backwardsCursor: null });
    });

    it('the default page size is 25', async () => {
      for (let i = 0; i < 27; i += 1) await seedThread(ctx.store, ctx.provider, { createdAt: at(i) });
      const page = await ctx.store.listThreads({});
      expect(page.items).toHaveLength(25);
      expect(page.nextCursor).not.toBeNull();
      const rest = await ctx.store.listThreads({ cursor: page.nextCursor });
      expect(rest.items).toHaveLength(2);
      expect(rest.nextCursor).toBeNull();
    });

    for (const sortKey of SORT_KEYS) {
      for (const sortDirection of DIRECTIONS) {
        it(`sorts by ${sortKey} ${sortDirection}, ties broken by thread id`, async () => {
          const rows = await seedSortable(ctx.store, ctx.provider);
          const page = await ctx.store.listThreads({ sortKey, sortDirection, pageSize: MAX_PAGE_SIZE });
          expect(ids(page.items)).toEqual(expectedOrder(rows, sortKey, sortDirection));
          for (const t of page.items) {
            const row = rows.find((r) => r.threadId === t.threadId);
            expect(t[sortKey].getTime()).toBe(at(row?.[sortKey] ?? NaN).getTime());
          }
        });

        it(`pages by ${sortKey} ${sortDirection}: every page size walks forward and backward over every thread once`, async () => {
          const rows = await seedSortable(ctx.store, ctx.provider);
          const expected = expectedOrder(rows, sortKey, sortDirection);
          for (const pageSize of [1, 2, 3, 4, 5, 6, 7, 8, MAX_PAGE_SIZE]) {
            const params: ListThreadsParams = { sortKey, sortDirection, pageSize };
            const pages = await walkForward(ctx.store, params);
            const forward = pages.flatMap((p) => ids(p.items));
            expect(forward, `forward, page size ${pageSize}`).toEqual(expected);
            expect(pages).toHaveLength(Math.max(1, Math.ceil(expected.length / pageSize)));
            const last = pages[pages.length - 1];
            if (!last) throw new Error('no pages');
            const backward = await walkBackward(ctx.store, params, last);
            expect(ids(backward), `backward, page size ${pageSize}`).toEqual(expected);
          }
        });
      }
    }

    it('a next cursor followed by its page’s backwards cursor returns the same page again', async () => {
      await seedSortable(ctx.store, ctx.provider);
      const first = await ctx.store.listThreads({ pageSize: 3 });
      const second = await ctx.store.listThreads({ pageSize: 3, cursor: first.nextCursor });
      const back = await ctx.store.listThreads({ pageSize: 3, cursor: second.backwardsCursor });
      expect(ids(back.items)).toEqual(ids(first.items));
      expect(back.backwardsCursor).toBeNull();
    });

    it('walking forward while threads are created between pages returns every thread exactly once', async () => {
      const originals: string[] = [];
      for (let i = 0; i < 9; i += 1)
        originals.push(await seedThread(ctx.store, ctx.provider, { createdAt: at(100 + i * 10) }));
      const older: string[] = [];
      const newer: string[] = [];
      const pages = await walkForward(ctx.store, { pageSize: 2 }, async (k) => {
        newer.push(await seedThread(ctx.store, ctx.provider, { createdAt: at(1000 + k) }));
        older.push(await seedThread(ctx.store, ctx.provider, { createdAt: at(-k) }));
        // Same createdAt as an original thread: it lands by thread id, before or after the anchor.
        await seedThread(ctx.store, ctx.provider, { createdAt: at(100 + (k % 9) * 10) });
      });
      const items = pages.flatMap((p) => p.items);
      const seen = ids(items);
      expect(new Set(seen).size, 'no thread is listed twice').toBe(seen.length);
      for (const id of originals) expect(seen.filter((x) => x === id)).toHaveLength(1);
      // Threads created ahead of the cursor are not listed; those behind it all are.
      for (const id of newer) expect(seen).not.toContain(id);
      for (const id of older) expect(seen).toContain(id);
      expect(isSortedBy(items, 'createdAt', 'desc')).toBe(true);
    });

    it('walking backward while threads are created between pages returns every thread exactly once', async () => {
      const originals: string[] = [];
      for (let i = 0; i < 9; i += 1)
        originals.push(await seedThread(ctx.store, ctx.provider, { createdAt: at(100 + i * 10) }));
      const params: ListThreadsParams = { pageSize: 2, sortDirection: 'asc' };
      const pages = await walkForward(ctx.store, params);
      const last = pages[pages.length - 1];
      if (!last) throw new Error('no pages');
      const early: string[] = [];
      const late: string[] = [];
      const items = await walkBackward(ctx.store, params, last, async (k) => {
        early.push(await seedThread(ctx.store, ctx.provider, { createdAt: at(-k) }));
        late.push(await seedThread(ctx.store, ctx.provider, { createdAt: at(2000 + k) }));
      });
      const seen = ids(items);
      expect(new Set(seen).size).toBe(seen.length);
      for (const id of originals) expect(seen.filter((x) => x === id)).toHaveLength(1);
      for (const id of early) expect(seen).toContain(id);
      for (const id of late) expect(seen).not.toContain(id);
      expect(isSortedBy(items, 'createdAt', 'asc')).toBe(true);
    });

    it('listed summaries equal what readThread returns', async () => {
      const rows = await seedSortable(ctx.store, ctx.provider);
      const page = await ctx.store.listThreads({ pageSize: 100 });
      expect(page.items).toHaveLength(rows.length);
      for (const t of page.items) expect(t).toEqual(await ctx.store.readThread({ threadId: t.threadId }));
    });

    describe('filters', () => {
      it('modelProviders: absent lists only the default provider, [] lists every provider', async () => {
        const mine = await seedThread(ctx.store, ctx.provider, { createdAt: at(1) });
        const other = await seedThread(ctx.store, ctx.provider, { createdAt: at(2), modelProvider: 'other-provider' });
        const third = await seedThread(ctx.store, ctx.provider, { createdAt: at(3), modelProvider: 'third-provider' });
        expect(ids((await ctx.store.listThreads({})).items)).toEqual([mine]);
        expect(ids((await ctx.store.listThreads({ modelProviders: null })).items)).toEqual([mine]);
        expect(ids((await ctx.store.listThreads({ modelProviders: [] })).items)).toEqual([third, other, mine]);
        expect(ids((await ctx.store.listThreads({ modelProviders: ['other-provider'] })).items)).toEqual([other]);
        expect(ids((await ctx.store.listThreads({ modelProviders: ['third-provider', ctx.provider] })).items)).toEqual([
          third,
          mine,
        ]);
        expect(ids((await ctx.store.listThreads({ modelProviders: ['nobody'] })).items)).toEqual([]);
        const t = await ctx.store.readThread({ threadId: other });
        expect(t.modelProvider).toBe('other-provider');
      });

      it('cwdFilters: absent lists every cwd, [] lists nothing', async () => {
        const a = await seedThread(ctx.store, ctx.provider, { createdAt: at(1), cwd: CWD_A });
        const b = await seedThread(ctx.store, ctx.provider, { createdAt: at(2), cwd: CWD_B });
        expect(ids((await ctx.store.listThreads({})).items)).toEqual([b, a]);
        expect(ids((await ctx.store.listThreads({ cwdFilters: null })).items)).toEqual([b, a]);
        expect(ids((await ctx.store.listThreads({ cwdFilters: [] })).items)).toEqual([]);
        expect(ids((await ctx.store.listThreads({ cwdFilters: [CWD_B] })).items)).toEqual([b]);
        expect(ids((await ctx.store.listThreads({ cwdFilters: [CWD_A, CWD_B] })).items)).toEqual([b, a]);
        expect(ids((await ctx.store.listThreads({ cwdFilters: ['/nowhere'] })).items)).toEqual([]);
      });

      it('allowedSources: absent or empty lists the interactive sources only', async () => {
        const sources: Array<[string, SessionSource]> = [
          ['cli', { kind: 'cli' }],
          ['vscode', { kind: 'vscode' }],
          ['exec', { kind: 'exec' }],
          ['mcp', { kind: 'mcp' }],
          ['atlas', { kind: 'custom', name: 'atlas' }],
          ['custom-tool', { kind: 'custom', name: 'custom-tool' }],
          ['review', { kind: 'subagent', subagent: { kind: 'review' } }],
          ['other-agent', { kind: 'subagent', subagent: { kind: 'other', name: 'helper' } }],
        ];
        const byName = new Map<string, ThreadId>();
        let i = 0;
        for (const [name, source] of sources)
          byName.set(name, await seedThread(ctx.store, ctx.provider, { createdAt: at((i += 1)), source }));
        const listed = async (p: ListThreadsParams): Promise<string[]> => {
          const got = ids((await ctx.store.listThreads({ ...p, pageSize: 100 })).items);
          return [...byName]
            .filter(([, id]) => got.includes(id))
            .map(([name]) => name)
            .sort();
        };
        expect(await listed({})).toEqual(['atlas', 'cli', 'vscode']);
        expect(await listed({ allowedSources: [] })).toEqual(['atlas', 'cli', 'vscode']);
        expect(await listed({ allowedSources: ['exec'] })).toEqual(['exec']);
        expect(await listed({ allowedSources: ['mcp', 'cli'] })).toEqual(['cli', 'mcp']);
        expect(await listed({ allowedSources: ['subagent'] })).toEqual(['other-agent', 'review']);
        expect(await listed({ allowedSources: ['subagent_review'] })).toEqual(['review']);
        expect(await listed({ allowedSources: ['subagent_other'] })).toEqual(['other-agent']);
        expect(await listed({ allowedSources: ['custom'] })).toEqual(['atlas', 'custom-tool']);
        expect(await listed({ allowedSources: [{ kind: 'custom', name: 'custom-tool' }] })).toEqual(['custom-tool']);
      });

      it('filters combine, and paging keeps them', async () => {
        const want: string[] = [];
        for (let i = 0; i < 6; i += 1) {
          const cwd = i % 2 === 0 ? CWD_A : CWD_B;
          const modelProvider = i % 3 === 0 ? 'other-provider' : ctx.provider;
          const id = await seedThread(ctx.store, ctx.provider, { createdAt: at(i), cwd, modelProvider });
          if (cwd === CWD_A && modelProvider === 'other-provider') want.unshift(id);
        }
        const params: ListThreadsParams = { cwdFilters: [CWD_A], modelProviders: ['other-provider'], pageSize: 1 };
        const pages = await walkForward(ctx.store, params);
        expect(pages.flatMap((p) => ids(p.items))).toEqual(want);
      });

      it('the archived collection is listed only with archived: true', async () => {
        const active = await seedThread(ctx.store, ctx.provider, { createdAt: at(1) });
        const gone1 = await seedThread(ctx.store, ctx.provider, { createdAt: at(2) });
        const gone2 = await seedThread(ctx.store, ctx.provider, { createdAt: at(3) });
        await ctx.store.archiveThread({ threadId: gone1 });
        await ctx.store.archiveThread({ threadId: gone2 });
        expect(ids((await ctx.store.listThreads({})).items)).toEqual([active]);
        expect(ids((await ctx.store.listThreads({ archived: false })).items)).toEqual([active]);
        const archived = await ctx.store.listThreads({ archived: true });
        expect(ids(archived.items)).toEqual([gone2, gone1]);
        for (const t of archived.items) expect(t.archivedAt).toBeInstanceOf(Date);
        const p1 = await ctx.store.listThreads({ archived: true, pageSize: 1 });
        const p2 = await ctx.store.listThreads({ archived: true, pageSize: 1, cursor: p1.nextCursor });
        expect([...ids(p1.items), ...ids(p2.items)]).toEqual([gone2, gone1]);
        await ctx.store.unarchiveThread({ threadId: gone1 });
        expect(ids((await ctx.store.listThreads({})).items)).toEqual([gone1, active]);
        expect(ids((await ctx.store.listThreads({ archived: true })).items)).toEqual([gone2]);
      });

      it('filters and sorting follow patched metadata', async () => {
        const a = await seedThread(ctx.store, ctx.provider, { createdAt: at(1), user: 'alpha thread' });
        const b = await seedThread(ctx.store, ctx.provider, { createdAt: at(2), user: 'beta thread' });
        await ctx.store.updateThreadMetadata({ threadId: a, patch: { modelProvider: 'moved-provider', cwd: CWD_B } });
        await ctx.store.updateThreadMetadata({ threadId: b, patch: { preview: 'gamma renamed preview' } });
        expect(ids((await ctx.store.listThreads({})).items)).toEqual([b]);
        expect(ids((await ctx.store.listThreads({ modelProviders: ['moved-provider'] })).items)).toEqual([a]);
        expect(ids((await ctx.store.listThreads({ modelProviders: [], cwdFilters: [CWD_B] })).items)).toEqual([a]);
        expect(ids((await ctx.store.listThreads({ searchTerm: 'gamma' })).items)).toEqual([b]);
        expect(ids((await ctx.store.listThreads({ searchTerm: 'beta' })).items)).toEqual([]);
        await ctx.store.updateThreadMetadata({ threadId: a, patch: { createdAt: at(3) } });
        expect(ids((await ctx.store.listThreads({ modelProviders: [] })).items)).toEqual([a, b]);
        // A thread whose preview is cleared leaves every listing.
        await ctx.store.updateThreadMetadata({ threadId: b, patch: { preview: null } });
        expect(ids((await ctx.store.listThreads({ modelProviders: [] })).items)).toEqual([a]);
      });

      it('recencyAt sorting follows the latest turn start in the history', async () => {
        const turn = (minutes: number) => ({
          timestamp: at(minutes).toISOString(),
          type: 'event_msg',
          payload: { type: 'task_started', turn_id: `t${minutes}` },
        });
        const a = await seedThread(ctx.store, ctx.provider, { createdAt: at(1), extra: [turn(50)] });
        const b = await seedThread(ctx.store, ctx.provider, { createdAt: at(2), extra: [turn(30)] });
        const c = await seedThread(ctx.store, ctx.provider, { createdAt: at(40) });
        expect(ids((await ctx.store.listThreads({ sortKey: 'recencyAt' })).items)).toEqual([a, c, b]);
        await ctx.store.resumeThread({ threadId: b });
        await ctx.store.appendItems({ threadId: b, items: [turn(60)] });
        await ctx.store.shutdownThread(b);
        expect(ids((await ctx.store.listThreads({ sortKey: 'recencyAt' })).items)).toEqual([b, a, c]);
        expect(ids((await ctx.store.listThreads({ sortKey: 'recencyAt', sortDirection: 'asc' })).items)).toEqual([
          c,
          a,
          b,
        ]);
      });

      it('searchTerm matches the name or the preview, case-insensitively', async () => {
        const byPreview = await seedThread(ctx.store, ctx.provider, {
          createdAt: at(1),
          user: 'Refactor the Parser module',
        });
        const byName = await seedThread(ctx.store, ctx.provider, { createdAt: at(2), user: 'something else' });
        await ctx.store.updateThreadMetadata({ threadId: byName, patch: { name: 'parser follow-up' } });
        const neither = await seedThread(ctx.store, ctx.provider, {
          createdAt: at(3),
          user: 'unrelated',
          agent: 'the parser is fine',
        });
        expect(ids((await ctx.store.listThreads({ searchTerm: 'PARSER' })).items)).toEqual([byName, byPreview]);
        expect(ids((await ctx.store.listThreads({ searchTerm: 'parser module' })).items)).toEqual([byPreview]);
        expect(ids((await ctx.store.listThreads({ searchTerm: 'nothing like this' })).items)).toEqual([]);
        expect(ids((await ctx.store.listThreads({ searchTerm: '' })).items)).toEqual([neither, byName, byPreview]);
        const p1 = await ctx.store.listThreads({ searchTerm: 'parser', pageSize: 1 });
        const p2 = await ctx.store.listThreads({ searchTerm: 'parser', pageSize: 1, cursor: p1.nextCursor });
        expect([...ids(p1.items), ...ids(p2.items)]).toEqual([byName, byPreview]);
        expect(p2.nextCursor).toBeNull();
      });
    });
  });
}
