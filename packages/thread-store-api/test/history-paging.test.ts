import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeHistoryCursor,
  encodeHistoryCursor,
  fetchFromSorted,
  isThreadStoreError,
  normalizeListItemsParams,
  normalizeListTurnsParams,
  pageByPosition,
} from '../src/index.js';
import type { NormalizedHistoryPageParams, PositionPage, SortDirection } from '../src/index.js';
import { tid } from './helpers.js';

const params = (over: Partial<NormalizedHistoryPageParams> = {}): NormalizedHistoryPageParams => ({
  threadId: tid(1),
  includeArchived: false,
  pageSize: 3,
  sortDirection: 'asc',
  cursor: null,
  scope: 'turns',
  ...over,
});

async function walk(
  positions: number[],
  pageSize: number,
  dir: SortDirection,
): Promise<{ forward: number[]; back: number[] }> {
  const fetch = fetchFromSorted(positions, (x) => x);
  const forward: number[] = [];
  let cursor: string | null = null;
  let lastCursor: string | null = null;
  for (let i = 0; i < 1000; i++) {
    const page: PositionPage<number> = await pageByPosition(
      fetch,
      (x) => x,
      params({ pageSize, sortDirection: dir, cursor }),
      'memory',
    );
    forward.push(...page.items);
    if (cursor !== null) expect(page.backwardsCursor).not.toBeNull();
    if (page.nextCursor === null) break;
    lastCursor = page.nextCursor;
    cursor = page.nextCursor;
  }
  // From the last page, walk back with backwards cursors.
  const back: number[] = [];
  let bc: string | null = null;
  if (lastCursor !== null) {
    const last = await pageByPosition(
      fetch,
      (x) => x,
      params({ pageSize, sortDirection: dir, cursor: lastCursor }),
      'memory',
    );
    back.unshift(...last.items);
    bc = last.backwardsCursor;
  } else {
    back.push(...forward);
  }
  while (bc !== null) {
    const page: PositionPage<number> = await pageByPosition(
      fetch,
      (x) => x,
      params({ pageSize, sortDirection: dir, cursor: bc }),
      'memory',
    );
    back.unshift(...page.items);
    expect(page.nextCursor).not.toBeNull();
    bc = page.backwardsCursor;
  }
  return { forward, back };
}

describe('pageByPosition', () => {
  it('pages partition every set of positions exactly, both directions, forwards and backwards', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.integer({ min: 0, max: 500 }), { maxLength: 40 }),
        fc.integer({ min: 1, max: 7 }),
        fc.constantFrom<SortDirection>('asc', 'desc'),
        async (raw, size, dir) => {
          const sorted = [...raw].sort((a, b) => a - b);
          const expected = dir === 'asc' ? sorted : [...sorted].reverse();
          const { forward, back } = await walk(sorted, size, dir);
          expect(forward).toEqual(expected);
          expect(back).toEqual(expected);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('entries added between pages come later, never as repeats', async () => {
    const data = [1, 2, 3, 4];
    const fetch = fetchFromSorted(data, (x) => x);
    const first = await pageByPosition(fetch, (x) => x, params({ pageSize: 3 }), 'memory');
    data.push(5, 6);
    const second = await pageByPosition(
      fetchFromSorted(data, (x) => x),
      (x) => x,
      params({ pageSize: 3, cursor: first.nextCursor }),
      'memory',
    );
    expect([...first.items, ...second.items]).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('rejects cursors of another thread, scope, direction or store, and damaged ones', async () => {
    const c = encodeHistoryCursor({
      store: 'memory',
      threadId: tid(1),
      scope: 'turns',
      sortDirection: 'asc',
      towards: 'next',
      position: 3,
    });
    const fetch = fetchFromSorted([1, 2, 3, 4], (x) => x);
    const rejects = async (p: NormalizedHistoryPageParams, store = 'memory'): Promise<string> => {
      try {
        await pageByPosition(fetch, (x) => x, p, store);
      } catch (e) {
        expect(isThreadStoreError(e, 'invalid_request')).toBe(true);
        return (e as Error).message;
      }
      throw new Error('accepted');
    };
    await expect(pageByPosition(fetch, (x) => x, params({ cursor: c }), 'memory')).resolves.toMatchObject({
      items: [4],
    });
    expect(await rejects(params({ cursor: c, threadId: tid(2) }))).toContain('belongs to thread');
    expect(await rejects(params({ cursor: c, scope: 'items' }))).toContain('page of turns');
    expect(await rejects(params({ cursor: c, sortDirection: 'desc' }))).toContain('sorted asc');
    expect(await rejects(params({ cursor: c }), 'local')).toContain('memory store');
    expect(await rejects(params({ cursor: `${c}x` }))).toContain('damaged');
    expect(await rejects(params({ cursor: 'sk1.abc' }))).toContain('not a Skein turn or item cursor');
    const forged = `skh1.${Buffer.from(JSON.stringify(['memory', tid(1), 'turns', 'asc', 'next', -1])).toString('base64url')}`;
    expect(await rejects(params({ cursor: forged }))).toContain('damaged');
    expect(
      decodeHistoryCursor(c, { store: 'memory', threadId: tid(1), scope: 'turns', sortDirection: 'asc' }).position,
    ).toBe(3);
  });
});

describe('page parameters', () => {
  it('apply Codex defaults and reject bad values', () => {
    expect(normalizeListTurnsParams({ threadId: tid(1) })).toMatchObject({
      pageSize: 20,
      sortDirection: 'desc',
      itemsView: 'summary',
      scope: 'turns',
    });
    expect(normalizeListItemsParams({ threadId: tid(1), turnId: 'x' })).toMatchObject({
      pageSize: 50,
      sortDirection: 'asc',
      scope: 'items:x',
    });
    for (const bad of [
      { pageSize: 0 },
      { pageSize: 1001 },
      { pageSize: 1.5 },
      { sortDirection: 'up' },
      { itemsView: 'all' },
    ]) {
      let code = '';
      try {
        normalizeListTurnsParams({ threadId: tid(1), ...(bad as object) });
      } catch (e) {
        code = (e as { code: string }).code;
      }
      expect(code, JSON.stringify(bad)).toBe('invalid_request');
    }
  });
});
