import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isThreadId, isThreadStoreError, newThreadId, parseThreadId } from '../src/index.js';

const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const VALID = '0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b';

function rejects(value: unknown): void {
  let caught: unknown;
  try {
    parseThreadId(value);
  } catch (e) {
    caught = e;
  }
  expect(isThreadStoreError(caught, 'invalid_request'), String(value)).toBe(true);
}

describe('thread ids', () => {
  it('accepts canonical UUIDs of any version and lowercases them', () => {
    expect(parseThreadId(VALID)).toBe(VALID);
    expect(parseThreadId(VALID.toUpperCase())).toBe(VALID);
    expect(parseThreadId('6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b')).toBe('6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b');
  });

  it('rejects paths, trailing text and anything that is not a UUID', () => {
    for (const v of [
      '../x',
      '../../etc/passwd',
      '/etc/passwd',
      `/${VALID}`,
      `${VALID}.jsonl`,
      `${VALID}/..`,
      `${VALID}\n`,
      ` ${VALID}`,
      `${VALID} `,
      VALID.replace(/-/g, ''),
      `{${VALID}}`,
      VALID.slice(0, -1),
      VALID.replace('a', 'g'),
      '',
      null,
      undefined,
      42,
      {},
    ])
      rejects(v);
  });

  it('the error message says what a thread id looks like, and cuts long input', () => {
    expect.assertions(2);
    try {
      parseThreadId('x'.repeat(10_000));
    } catch (e) {
      expect((e as Error).message).toMatch(/expected a UUID/);
      expect((e as Error).message.length).toBeLessThan(300);
    }
  });

  it('isThreadId accepts only lowercase canonical UUIDs', () => {
    expect(isThreadId(VALID)).toBe(true);
    expect(isThreadId(VALID.toUpperCase())).toBe(false);
    expect(isThreadId('../x')).toBe(false);
    expect(isThreadId(1)).toBe(false);
  });

  it('newThreadId makes UUIDv7 ids carrying the time', () => {
    const ms = Date.UTC(2025, 5, 1, 12, 0, 0, 123);
    const id = newThreadId(ms);
    expect(id).toMatch(V7);
    expect(parseInt(id.replace(/-/g, '').slice(0, 12), 16)).toBeGreaterThanOrEqual(ms);
    expect(parseThreadId(id)).toBe(id);
  });

  it('ids from one process strictly increase, within a millisecond and when the clock goes back', () => {
    let prev = newThreadId();
    const base = Date.now() + 10_000;
    const times = [base, base, base, base - 5000, base + 1, ...Array.from({ length: 5000 }, () => base + 2)];
    for (const t of times) {
      const id = newThreadId(t);
      expect(id).toMatch(V7);
      expect(id > prev, `${id} > ${prev}`).toBe(true);
      prev = id;
    }
  });

  it('ids drawn past several refills of the random pool keep distinct random bits', () => {
    // Ids of different milliseconds: the random tail (after the version and variant bits) is all
    // that tells them apart from a repeat of the same random bytes.
    const tails = new Set<string>();
    for (let i = 0; i < 2000; i += 1) tails.add(newThreadId(Date.UTC(2030, 0, 1) + i * 7).slice(19));
    expect(tails.size).toBe(2000);
  });

  it('every generated id parses (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 47 }), (ms) => {
        const id = newThreadId(ms);
        return V7.test(id) && parseThreadId(id) === id;
      }),
    );
  });
});
