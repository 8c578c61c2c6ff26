import { describe, expect, it } from 'vitest';
import { decodeListCursor, encodeListCursor, isThreadStoreError } from '../src/index.js';
import type { ListCursor } from '../src/index.js';

const base: ListCursor = {
  store: 'memory',
  sortKey: 'createdAt',
  sortDirection: 'desc',
  filters: '[null,["openai"],null,false,null]',
  towards: 'next',
  value: 1_700_000_000_123,
  threadId: '0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b',
};
const expectFor = {
  store: base.store,
  sortKey: base.sortKey,
  sortDirection: base.sortDirection,
  filters: base.filters,
};

function rejected(cursor: string, expectation = expectFor): string {
  try {
    decodeListCursor(cursor, expectation);
  } catch (e) {
    expect(isThreadStoreError(e, 'invalid_request')).toBe(true);
    return (e as Error).message;
  }
  throw new Error(`cursor accepted: ${cursor}`);
}

describe('list cursors', () => {
  it('round-trip, next and prev', () => {
    expect(decodeListCursor(encodeListCursor(base), expectFor)).toEqual(base);
    const prev = { ...base, towards: 'prev' as const };
    expect(decodeListCursor(encodeListCursor(prev), expectFor)).toEqual(prev);
  });

  it('are opaque, versioned and url-safe', () => {
    const c = encodeListCursor(base);
    expect(c.startsWith('sk1.')).toBe(true);
    expect(c).toMatch(/^[A-Za-z0-9._-]+$/);
    expect(c).not.toContain(base.threadId);
  });

  it('reject a cursor of another sort key or direction', () => {
    const c = encodeListCursor(base);
    expect(rejected(c, { ...expectFor, sortKey: 'updatedAt' })).toMatch(/sorted by createdAt desc/);
    rejected(c, { ...expectFor, sortDirection: 'asc' });
  });

  it('reject a cursor of another filter set or store kind', () => {
    const c = encodeListCursor(base);
    expect(rejected(c, { ...expectFor, filters: '[]' })).toMatch(/other filters/);
    expect(rejected(encodeListCursor({ ...base, store: 'other' }))).toMatch(/other store/);
  });

  it('reject garbage, other versions and tampering', () => {
    const c = encodeListCursor(base);
    const body = (v: unknown): string => `sk1.${Buffer.from(JSON.stringify(v)).toString('base64url')}`;
    for (const bad of [
      '',
      'x',
      'sk1.',
      'sk2.' + c.slice(4),
      c.slice(0, c.length - 6),
      `sk1.${Buffer.from('not json').toString('base64url')}`,
      body({ a: 1 }),
      body(['memory', 'createdAt', 'desc', base.filters, 'next', 5]),
      body(['memory', 'createdAt', 'desc', base.filters, 'sideways', 5, base.threadId]),
      body(['memory', 'createdAt', 'desc', base.filters, 'next', '5', base.threadId]),
      body(['memory', 'createdAt', 'desc', base.filters, 'next', null, base.threadId]),
      body(['memory', 'createdAt', 'desc', base.filters, 'next', 5, 7]),
      body([1, 'createdAt', 'desc', base.filters, 'next', 5, base.threadId]),
    ])
      rejected(bad);
    expect(rejected(42 as unknown as string)).toMatch(/not a Skein cursor/);
  });

  it('shorten very long bad cursors in the message', () => {
    expect(rejected('z'.repeat(5000)).length).toBeLessThan(200);
  });
});
