import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_PAGE_SIZE,
  MAX_PAGE_SIZE,
  compareThreads,
  encodeListCursor,
  isThreadStoreError,
  normalizeListParams,
  paginateSorted,
  threadMatchesFilters,
} from '../src/index.js';
import type {
  ListThreadsParams,
  NormalizedListParams,
  SortDirection,
  StoredThread,
  ThreadSortKey,
} from '../src/index.js';
import { thread, tid } from './helpers.js';

function invalid(params: ListThreadsParams): void {
  let caught: unknown;
  try {
    normalizeListParams(params, 'openai');
  } catch (e) {
    caught = e;
  }
  expect(isThreadStoreError(caught, 'invalid_request'), JSON.stringify(params)).toBe(true);
}

describe('normalizeListParams', () => {
  it('applies the defaults', () => {
    const p = normalizeListParams({}, 'acme');
    expect(p).toMatchObject({
      pageSize: DEFAULT_PAGE_SIZE,
      sortKey: 'createdAt',
      sortDirection: 'desc',
      allowedSources: undefined,
      modelProviders: ['acme'],
      cwdFilters: null,
      archived: false,
      searchTerm: null,
    });
  });

  it('modelProviders: absent or null is the default provider, [] is every provider', () => {
    expect(normalizeListParams({ modelProviders: null }, 'acme').modelProviders).toEqual(['acme']);
    expect(normalizeListParams({ modelProviders: [] }, 'acme').modelProviders).toBeNull();
    expect(normalizeListParams({ modelProviders: ['x', 'y'] }, 'acme').modelProviders).toEqual(['x', 'y']);
  });

  it('cwdFilters: absent is every cwd, [] is none', () => {
    expect(normalizeListParams({}, 'a').cwdFilters).toBeNull();
    expect(normalizeListParams({ cwdFilters: [] }, 'a').cwdFilters).toEqual([]);
  });

  it('allowedSources: absent and [] both mean the default sources', () => {
    expect(normalizeListParams({ allowedSources: [] }, 'a').allowedSources).toBeUndefined();
    expect(normalizeListParams({ allowedSources: [] }, 'a').filters).toBe(normalizeListParams({}, 'a').filters);
  });

  it('the filter fingerprint ignores order but not content', () => {
    const a = normalizeListParams(
      { modelProviders: ['x', 'y'], cwdFilters: ['/b', '/a'], allowedSources: ['exec', 'cli'] },
      'o',
    );
    const b = normalizeListParams(
      { modelProviders: ['y', 'x'], cwdFilters: ['/a', '/b'], allowedSources: ['cli', 'exec'] },
      'o',
    );
    expect(a.filters).toBe(b.filters);
    const variants: ListThreadsParams[] = [
      {},
      { modelProviders: [] },
      { cwdFilters: [] },
      { cwdFilters: ['/a'] },
      { archived: true },
      { searchTerm: 'x' },
      { allowedSources: ['exec'] },
      { allowedSources: [{ kind: 'custom', name: 'z' }] },
    ];
    const prints = variants.map((v) => normalizeListParams(v, 'o').filters);
    expect(new Set(prints).size).toBe(prints.length);
    // Paging parameters are not filters.
    expect(normalizeListParams({ pageSize: 3, sortKey: 'updatedAt', sortDirection: 'asc' }, 'o').filters).toBe(
      prints[0],
    );
  });

  it('rejects bad page sizes, sort keys and directions', () => {
    for (const pageSize of [0, -1, 1.5, MAX_PAGE_SIZE + 1, 1e12, Number.NaN, Number.POSITIVE_INFINITY])
      invalid({ pageSize });
    invalid({ pageSize: '5' as unknown as number });
    invalid({ sortKey: 'name' as ThreadSortKey });
    invalid({ sortDirection: 'up' as SortDirection });
    invalid({ allowedSources: 'cli' as unknown as [] });
    expect(normalizeListParams({ pageSize: 1 }, 'o').pageSize).toBe(1);
    expect(normalizeListParams({ pageSize: MAX_PAGE_SIZE }, 'o').pageSize).toBe(MAX_PAGE_SIZE);
  });
});

describe('threadMatchesFilters', () => {
  const p = (params: ListThreadsParams): NormalizedListParams => normalizeListParams(params, 'openai');

  it('never lists a thread with an empty preview', () => {
    expect(threadMatchesFilters(thread({ preview: '' }), p({ modelProviders: [] }))).toBe(false);
    expect(threadMatchesFilters(thread(), p({}))).toBe(true);
  });

  it('archived selects the archived collection instead of the active one', () => {
    const archived = thread({ archivedAt: new Date(1) });
    expect(threadMatchesFilters(archived, p({}))).toBe(false);
    expect(threadMatchesFilters(archived, p({ archived: true }))).toBe(true);
    expect(threadMatchesFilters(thread(), p({ archived: true }))).toBe(false);
  });

  it('filters by provider, cwd and source', () => {
    const t = thread({ modelProvider: 'x', cwd: '/a', source: { kind: 'exec' } });
    expect(threadMatchesFilters(t, p({ modelProviders: [], allowedSources: ['exec'] }))).toBe(true);
    expect(threadMatchesFilters(t, p({ allowedSources: ['exec'] }))).toBe(false);
    expect(threadMatchesFilters(t, p({ modelProviders: ['x'] }))).toBe(false);
    expect(threadMatchesFilters(t, p({ modelProviders: ['x'], allowedSources: ['exec'], cwdFilters: ['/a'] }))).toBe(
      true,
    );
    expect(threadMatchesFilters(t, p({ modelProviders: ['x'], allowedSources: ['exec'], cwdFilters: [] }))).toBe(false);
    expect(threadMatchesFilters(t, p({ modelProviders: ['x'], allowedSources: ['exec'], cwdFilters: ['/b'] }))).toBe(
      false,
    );
  });

  it('searchTerm is a case-insensitive substring of name or preview', () => {
    const t = thread({ name: 'Parser Work', preview: 'Fix the Lexer' });
    expect(threadMatchesFilters(t, p({ searchTerm: 'parser' }))).toBe(true);
    expect(threadMatchesFilters(t, p({ searchTerm: 'LEXER' }))).toBe(true);
    expect(threadMatchesFilters(t, p({ searchTerm: 'r w' }))).toBe(true);
    expect(threadMatchesFilters(t, p({ searchTerm: 'tokenizer' }))).toBe(false);
    expect(threadMatchesFilters(thread({ name: null }), p({ searchTerm: 'hel' }))).toBe(true);
  });
});

describe('compareThreads', () => {
  it('orders by sort value, then thread id, in the given direction', () => {
    const a = thread({ threadId: tid(1), createdAt: new Date(10) });
    const b = thread({ threadId: tid(2), createdAt: new Date(10) });
    const c = thread({ threadId: tid(0), createdAt: new Date(20) });
    expect([c, b, a].sort((x, y) => compareThreads(x, y, 'createdAt', 'asc')).map((t) => t.threadId)).toEqual([
      tid(1),
      tid(2),
      tid(0),
    ]);
    expect([a, b, c].sort((x, y) => compareThreads(x, y, 'createdAt', 'desc')).map((t) => t.threadId)).toEqual([
      tid(0),
      tid(2),
      tid(1),
    ]);
    expect(compareThreads(a, a, 'updatedAt', 'desc') === 0).toBe(true);
  });
});

/** Threads with values drawn from a small range, so ties happen often. */
const threadsArb = fc
  .array(
    fc.record({
      c: fc.integer({ min: 0, max: 5 }),
      u: fc.integer({ min: 0, max: 5 }),
      r: fc.integer({ min: 0, max: 5 }),
    }),
    {
      maxLength: 30,
    },
  )
  .map((rows) =>
    rows.map((v, i) =>
      thread({
        threadId: tid((i * 7919) % 1000),
        createdAt: new Date(v.c),
        updatedAt: new Date(v.u),
        recencyAt: new Date(v.r),
      }),
    ),
  )
  .filter((ts) => new Set(ts.map((t) => t.threadId)).size === ts.length);

function sortedFor(ts: StoredThread[], p: NormalizedListParams): StoredThread[] {
  return [...ts].sort((a, b) => compareThreads(a, b, p.sortKey, p.sortDirection));
}

describe('paginateSorted', () => {
  const params = (
    pageSize: number,
    sortKey: ThreadSortKey = 'createdAt',
    sortDirection: SortDirection = 'desc',
  ): NormalizedListParams => normalizeListParams({ pageSize, sortKey, sortDirection }, 'openai');

  it('the first page has no backwards cursor; the last has no next cursor', () => {
    const ts = [0, 1, 2].map((i) => thread({ threadId: tid(i), createdAt: new Date(i) }));
    const p = params(2);
    const sorted = sortedFor(ts, p);
    const first = paginateSorted(sorted, (t) => t, p, 'memory', null);
    expect(first.items.map((t) => t.threadId)).toEqual([tid(2), tid(1)]);
    expect(first.backwardsCursor).toBeNull();
    const second = paginateSorted(sorted, (t) => t, p, 'memory', first.nextCursor);
    expect(second.items.map((t) => t.threadId)).toEqual([tid(0)]);
    expect(second.nextCursor).toBeNull();
    expect(second.backwardsCursor).not.toBeNull();
    const back = paginateSorted(sorted, (t) => t, p, 'memory', second.backwardsCursor);
    expect(back.items.map((t) => t.threadId)).toEqual([tid(2), tid(1)]);
    expect(back.backwardsCursor).toBeNull();
    expect(paginateSorted(sorted, (t) => t, p, 'memory', '').items).toEqual(first.items);
  });

  it('an exact fit has no next cursor', () => {
    const ts = [0, 1].map((i) => thread({ threadId: tid(i), createdAt: new Date(i) }));
    const p = params(2);
    expect(paginateSorted(sortedFor(ts, p), (t) => t, p, 'memory', null).nextCursor).toBeNull();
  });

  it('a cursor whose anchor thread is gone still continues at its position', () => {
    const ts = [0, 1, 2, 3].map((i) => thread({ threadId: tid(i), createdAt: new Date(i * 10) }));
    const p = params(2);
    const sorted = sortedFor(ts, p);
    const first = paginateSorted(sorted, (t) => t, p, 'memory', null);
    const without = sorted.filter((t) => t.threadId !== tid(2));
    expect(paginateSorted(without, (t) => t, p, 'memory', first.nextCursor).items.map((t) => t.threadId)).toEqual([
      tid(1),
      tid(0),
    ]);
  });

  it('a next cursor past the end gives an empty page that can go back', () => {
    const ts = [0, 1].map((i) => thread({ threadId: tid(i), createdAt: new Date(i) }));
    const p = params(1);
    const sorted = sortedFor(ts, p);
    const anchor = encodeListCursor({
      store: 'memory',
      sortKey: 'createdAt',
      sortDirection: 'desc',
      filters: p.filters,
      towards: 'next',
      value: -5,
      threadId: tid(9),
    });
    const page = paginateSorted(sorted, (t) => t, p, 'memory', anchor);
    expect(page.items).toEqual([]);
    expect(page.nextCursor).toBeNull();
    const back = paginateSorted(sorted, (t) => t, p, 'memory', page.backwardsCursor);
    expect(back.items.map((t) => t.threadId)).toEqual([tid(0)]);
  });

  it('rejects cursors of another store, sort or filter set', () => {
    const ts = [0, 1, 2].map((i) => thread({ threadId: tid(i), createdAt: new Date(i) }));
    const p = params(1);
    const first = paginateSorted(sortedFor(ts, p), (t) => t, p, 'memory', null);
    const reject = (fn: () => unknown): void => {
      let caught: unknown;
      try {
        fn();
      } catch (e) {
        caught = e;
      }
      expect(isThreadStoreError(caught, 'invalid_request')).toBe(true);
    };
    reject(() => paginateSorted(ts, (t) => t, p, 'local', first.nextCursor));
    reject(() => paginateSorted(ts, (t) => t, params(1, 'updatedAt'), 'memory', first.nextCursor));
    reject(() => paginateSorted(ts, (t) => t, params(1, 'createdAt', 'asc'), 'memory', first.nextCursor));
    reject(() =>
      paginateSorted(
        ts,
        (t) => t,
        normalizeListParams({ pageSize: 1, archived: true }, 'openai'),
        'memory',
        first.nextCursor,
      ),
    );
  });

  it('walking forward, then backward, visits every thread exactly once in order (property)', () => {
    fc.assert(
      fc.property(
        threadsArb,
        fc.integer({ min: 1, max: 8 }),
        fc.constantFrom<ThreadSortKey>('createdAt', 'updatedAt', 'recencyAt'),
        fc.constantFrom<SortDirection>('asc', 'desc'),
        (ts, pageSize, sortKey, sortDirection) => {
          const p = params(pageSize, sortKey, sortDirection);
          const sorted = sortedFor(ts, p);
          const want = sorted.map((t) => t.threadId);
          const got: string[] = [];
          let page = paginateSorted(sorted, (t) => t, p, 'memory', null);
          got.push(...page.items.map((t) => t.threadId));
          let guard = 0;
          while (page.nextCursor !== null && guard++ < 100) {
            page = paginateSorted(sorted, (t) => t, p, 'memory', page.nextCursor);
            got.push(...page.items.map((t) => t.threadId));
          }
          expect(got).toEqual(want);
          const back: string[] = page.items.map((t) => t.threadId);
          guard = 0;
          while (page.backwardsCursor !== null && guard++ < 100) {
            page = paginateSorted(sorted, (t) => t, p, 'memory', page.backwardsCursor);
            back.unshift(...page.items.map((t) => t.threadId));
          }
          expect(back).toEqual(want);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('pages never repeat or skip a thread while others are inserted between pages (property)', () => {
    fc.assert(
      fc.property(threadsArb, threadsArb, fc.integer({ min: 1, max: 5 }), (initial, inserts, pageSize) => {
        const p = params(pageSize, 'createdAt', 'desc');
        const ids = new Set(initial.map((t) => t.threadId));
        const extra = inserts.map((t, i) => ({ ...t, threadId: tid(5000 + i) })).filter((t) => !ids.has(t.threadId));
        let current = sortedFor(initial, p);
        const seen: StoredThread[] = [];
        let page = paginateSorted(current, (t) => t, p, 'memory', null);
        seen.push(...page.items);
        let k = 0;
        while (page.nextCursor !== null) {
          const add = extra[k++];
          if (add) current = sortedFor([...current, add], p);
          page = paginateSorted(current, (t) => t, p, 'memory', page.nextCursor);
          seen.push(...page.items);
        }
        const seenIds = seen.map((t) => t.threadId);
        expect(new Set(seenIds).size).toBe(seenIds.length);
        for (const t of initial) expect(seenIds).toContain(t.threadId);
        for (let i = 1; i < seen.length; i += 1) {
          const a = seen[i - 1];
          const b = seen[i];
          if (a && b) expect(compareThreads(a, b, p.sortKey, p.sortDirection)).toBeLessThan(0);
        }
      }),
      { numRuns: 200 },
    );
  });
});
