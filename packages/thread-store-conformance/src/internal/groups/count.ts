import { describe, expect, it } from 'vitest';
import { MAX_FILTER_VALUES } from '@skein/thread-store-api';
import type { CountThreadsParams, SessionSource, ThreadStore } from '@skein/thread-store-api';
import type { SuiteContext } from '../context.js';
import { CWD_A, CWD_B, at, expectCode, seedThread } from '../fixtures.js';

/** Every thread `listThreads` returns with these filters, across all its pages. */
async function listedCount(store: ThreadStore, params: CountThreadsParams): Promise<number> {
  let n = 0;
  let cursor: string | null = null;
  for (let pages = 0; pages < 1000; pages += 1) {
    const page = await store.listThreads({ ...params, pageSize: 2, cursor });
    n += page.items.length;
    if (page.nextCursor === null) return n;
    cursor = page.nextCursor;
  }
  throw new Error('listing does not end');
}

const SOURCES: SessionSource[] = [
  { kind: 'cli' },
  { kind: 'vscode' },
  { kind: 'exec' },
  { kind: 'subagent', subagent: { kind: 'review' } },
  { kind: 'custom', name: 'atlas' },
];

/**
 * Seeds threads that differ in every filtered field: provider, cwd, source, archived, name,
 * preview (one has none, so it is never listed).
 */
async function seedVaried(ctx: SuiteContext): Promise<void> {
  const store = ctx.store;
  for (let i = 0; i < 15; i += 1) {
    const id = await seedThread(store, ctx.provider, {
      createdAt: at(i),
      cwd: i % 2 === 0 ? CWD_A : CWD_B,
      modelProvider: i % 3 === 0 ? 'other-provider' : ctx.provider,
      source: SOURCES[i % SOURCES.length] ?? { kind: 'cli' },
      user: i % 4 === 0 ? `Fix the Parser, take ${i}` : `tidy the docs, take ${i}`,
    });
    if (i % 5 === 1) await store.updateThreadMetadata({ threadId: id, patch: { name: `parser work ${i}` } });
    if (i % 4 === 3) await store.archiveThread({ threadId: id });
  }
  await seedThread(store, ctx.provider, { createdAt: at(99), user: null });
}

/** Filter sets covering each filter alone and combined. */
function filterTable(provider: string): Array<[string, CountThreadsParams]> {
  return [
    ['no filters (default provider, interactive sources)', {}],
    ['every provider', { modelProviders: [] }],
    ['one other provider', { modelProviders: ['other-provider'] }],
    ['an unknown provider', { modelProviders: ['nobody'] }],
    ['archived', { archived: true, modelProviders: [] }],
    ['archived, default provider', { archived: true }],
    ['one cwd', { cwdFilters: [CWD_B], modelProviders: [] }],
    ['both cwds', { cwdFilters: [CWD_A, CWD_B] }],
    ['no cwd at all', { cwdFilters: [] }],
    ['source kind exec', { allowedSources: ['exec'], modelProviders: [] }],
    ['source kinds subagent and cli', { allowedSources: ['subagent', 'cli'], modelProviders: [] }],
    ['an exact source', { allowedSources: [{ kind: 'custom', name: 'atlas' }], modelProviders: [] }],
    ['search term in names and previews', { searchTerm: 'PARSER', modelProviders: [] }],
    ['search term matching nothing', { searchTerm: 'no such words' }],
    [
      'everything combined',
      {
        searchTerm: 'take',
        cwdFilters: [CWD_A],
        modelProviders: [provider],
        allowedSources: ['cli', 'vscode', 'exec'],
        archived: false,
      },
    ],
  ];
}

export function countTests(ctx: SuiteContext): void {
  describe('count', () => {
    it('an empty store counts 0', async () => {
      expect(await ctx.store.countThreads({})).toBe(0);
      expect(await ctx.store.countThreads({ modelProviders: [], archived: true })).toBe(0);
    });

    it('counts what the listing returns, with every filter', async () => {
      await seedVaried(ctx);
      let nonZero = 0;
      for (const [what, params] of filterTable(ctx.provider)) {
        const listed = await listedCount(ctx.store, params);
        expect(await ctx.store.countThreads(params), what).toBe(listed);
        if (listed > 0) nonZero += 1;
      }
      // The table must exercise real counts, not only empty ones.
      expect(nonZero).toBeGreaterThanOrEqual(10);
      // Spot checks against the seed itself (15 threads, every third on other-provider, every
      // fourth from i = 3 archived, the one without a preview never listed).
      expect(await ctx.store.countThreads({ modelProviders: [], allowedSources: ['cli', 'vscode', 'exec'] })).toBe(7);
      expect(await ctx.store.countThreads({ archived: true, modelProviders: [], allowedSources: ['exec'] })).toBe(1);
    });

    it('ignores paging and order fields, and follows archive, unarchive, patches and delete', async () => {
      const ids = [];
      for (let i = 0; i < 5; i += 1) ids.push(await seedThread(ctx.store, ctx.provider, { createdAt: at(i) }));
      const [a, b, c] = ids;
      if (!a || !b || !c) throw new Error('seed failed');
      const withPaging = {
        pageSize: 1,
        sortKey: 'updatedAt',
        sortDirection: 'asc',
        cursor: null,
      } as CountThreadsParams;
      expect(await ctx.store.countThreads(withPaging)).toBe(5);
      await ctx.store.archiveThread({ threadId: a });
      expect(await ctx.store.countThreads({})).toBe(4);
      expect(await ctx.store.countThreads({ archived: true })).toBe(1);
      await ctx.store.unarchiveThread({ threadId: a });
      expect(await ctx.store.countThreads({})).toBe(5);
      await ctx.store.updateThreadMetadata({ threadId: b, patch: { modelProvider: 'moved-provider' } });
      expect(await ctx.store.countThreads({})).toBe(4);
      expect(await ctx.store.countThreads({ modelProviders: ['moved-provider'] })).toBe(1);
      await ctx.store.deleteThread({ threadId: c });
      expect(await ctx.store.countThreads({ modelProviders: [] })).toBe(4);
      expect(await ctx.store.countThreads({ modelProviders: [], archived: true })).toBe(0);
    });

    it('counts more threads than a page holds', async () => {
      for (let i = 0; i < 30; i += 1) await seedThread(ctx.store, ctx.provider, { createdAt: at(i) });
      expect(await ctx.store.countThreads({})).toBe(30);
      const page = await ctx.store.listThreads({});
      expect(page.items.length).toBeLessThan(30);
    });

    it('bad filters are invalid_request', async () => {
      await expectCode(ctx.store.countThreads({ modelProviders: [1 as unknown as string] }), 'invalid_request');
      await expectCode(ctx.store.countThreads({ allowedSources: [42 as unknown as 'cli'] }), 'invalid_request');
      await expectCode(
        ctx.store.countThreads({ cwdFilters: new Array<string>(MAX_FILTER_VALUES + 1).fill('/x') }),
        'invalid_request',
      );
    });
  });
}
