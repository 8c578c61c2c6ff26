import fc from 'fast-check';
import sliceAnsi from 'slice-ansi';
import stringWidth from 'string-width';
import { describe, expect, it } from 'vitest';
import { displayWidth, truncate } from '../src/internal/table.js';

/**
 * truncate() as it was before its ASCII fast path: string-width and slice-ansi for every string.
 * Null where its loop does not end (slice-ansi and string-width disagree about an emoji's width).
 */
function libraryTruncate(s: string, max: number): string | null {
  if (stringWidth(s) <= max) return s;
  if (max <= 0) return '';
  let cut = sliceAnsi(s, 0, max - 1);
  for (let n = 0; stringWidth(cut) > max - 1; n++) {
    if (n > 50) return null;
    cut = sliceAnsi(cut, 0, stringWidth(cut) - 1);
  }
  return `${cut}…`;
}

const PIECES = [
  ...'abc XYZ 019 ~!@#$%^&*()_+-=[]{};:\'",.<>/?\\|`',
  '\x1b[1m',
  '\x1b[22m',
  '\x1b[36m',
  '\x1b[39m',
  '\x1b[0m',
  '\x1b[m',
  '\x1b[1;2m',
  '\x1b[38;5;208m',
  '\x1b[12345m',
  '\x1b[;1m',
  '\x1b[2K',
  '\x1b',
  '\x07',
  '\x7f',
  '\t',
  'é',
  'e\u0301',
  '漢字',
  'ｶ',
  '👍',
  '👩‍💻',
  '\u200b',
];
const text = fc.array(fc.constantFrom(...PIECES), { maxLength: 40 }).map((p) => p.join(''));
// Only text on which truncate() ends (see libraryTruncate): no emoji, no wide character.
const cuttable = fc
  .array(fc.constantFrom(...PIECES.filter((p) => !['👍', '👩‍💻', '漢字', 'ｶ'].includes(p))), { maxLength: 40 })
  .map((p) => p.join(''));

describe('terminal widths', () => {
  it('are string-width’s for ASCII, color codes and any other text', () => {
    fc.assert(
      fc.property(text, (s) => {
        expect(displayWidth(s)).toBe(stringWidth(s));
      }),
      { numRuns: 2000 },
    );
  });

  it('cut the same as string-width and slice-ansi do', () => {
    fc.assert(
      fc.property(cuttable, fc.integer({ min: -1, max: 45 }), (s, max) => {
        const expected = libraryTruncate(s, max);
        fc.pre(expected !== null);
        expect(truncate(s, max)).toBe(expected);
      }),
      { numRuns: 2000 },
    );
    const long = 'Export lock worker json module limit update retry as command promise lock on search.';
    expect(truncate(long, 20)).toBe(`${long.slice(0, 19)}…`);
  });

  it('end on any text, emoji and wide characters included, and never exceed the width', () => {
    // The case that made the old loop spin forever (slice-ansi and string-width disagree).
    const spun = '漢\ufe0féa\ufe0f👨‍👩‍👧\x1b[1m\ufe0f\ufe0f\x1b[31m漢b';
    expect(displayWidth(truncate(spun, 2))).toBeLessThanOrEqual(2);
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(...PIECES, '\ufe0f', '👨‍👩‍👧', '🇫🇷'), { maxLength: 40 }).map((p) => p.join('')),
        fc.integer({ min: 1, max: 45 }),
        (s, max) => {
          const out = truncate(s, max);
          expect(displayWidth(out)).toBeLessThanOrEqual(max);
          if (displayWidth(s) > max) expect(out.endsWith('…')).toBe(true);
          else expect(out).toBe(s);
        },
      ),
      { numRuns: 3000 },
    );
  });
});
