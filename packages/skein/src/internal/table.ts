import { createRequire } from 'node:module';
import type SliceAnsi from 'slice-ansi';
import type StringWidth from 'string-width';
import type { Style } from './color.js';

// The terminal-width libraries are loaded on first use, so commands that print JSON (or nothing)
// do not pay for loading them at start.
const requireModule = createRequire(import.meta.url);
interface WidthLibraries {
  stringWidth: typeof StringWidth;
  sliceAnsi: typeof SliceAnsi;
}
let widthLibraries: WidthLibraries | undefined;
function widths(): WidthLibraries {
  widthLibraries ??= {
    stringWidth: (requireModule('string-width') as { default: typeof StringWidth }).default,
    sliceAnsi: (requireModule('slice-ansi') as { default: typeof SliceAnsi }).default,
  };
  return widthLibraries;
}

export interface Column {
  header: string;
  /** Shrinks to fit the terminal; others keep their width. */
  flex?: boolean;
}

/**
 * A color code (SGR) as both ansi-regex versions string-width has used match it whole: ESC [, up
 * to four digits per parameter, m.
 */
const SGR = new RegExp(`${String.fromCharCode(0x1b)}\\[(?:\\d{1,4}(?:;\\d{0,4})*)?m`, 'y');

/**
 * The columns of a string made of printable ASCII and color codes only (one per character, the
 * codes none: what string-width answers for it), or null for any other text. The width libraries
 * then load only for other text: loading them (string-width's Unicode property regexes, its
 * Intl.Segmenter) was about a third of a terminal listing's start, for mostly ASCII previews.
 */
function asciiWidth(s: string): number | null {
  let width = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x20 && c <= 0x7e) width++;
    else if (c === 0x1b) {
      SGR.lastIndex = i;
      const m = SGR.exec(s);
      if (!m) return null;
      i += m[0].length - 1;
    } else return null;
  }
  return width;
}

/** Columns a string takes on a terminal: escapes take none, CJK and emoji take two. */
export function displayWidth(s: string): number {
  return asciiWidth(s) ?? widths().stringWidth(s);
}

/**
 * Cuts a string to at most `max` columns, ending in `…` when cut. Escape codes are cut as
 * units and closed, so a cut bold name does not leave the terminal bold; a wide character that
 * would straddle the edge is dropped whole.
 */
export function truncate(s: string, max: number): string {
  if (displayWidth(s) <= max) return s;
  if (max <= 0) return '';
  // Printable ASCII without codes: a column per character, nothing to close (as slice-ansi cuts it).
  if (!s.includes('\x1b') && asciiWidth(s) !== null) return `${s.slice(0, max - 1)}…`;
  const { sliceAnsi } = widths();
  let cut = sliceAnsi(s, 0, max - 1);
  // slice-ansi counts columns, but a wide character at the edge may still overflow by one.
  while (displayWidth(cut) > max - 1) {
    const shorter = sliceAnsi(cut, 0, displayWidth(cut) - 1);
    // The two libraries disagree on a width (emoji sequences, variation selectors): cut the
    // plain text by graphemes instead of asking slice-ansi again for the same string.
    if (shorter.length >= cut.length) return `${cutPlain(s, max - 1)}…`;
    cut = shorter;
  }
  return `${cut}…`;
}

const SGR_ALL = new RegExp(SGR.source, 'g');

/** The text without color codes, cut by whole graphemes to at most `columns` columns. */
function cutPlain(s: string, columns: number): string {
  let out = '';
  let width = 0;
  for (const { segment } of new Intl.Segmenter().segment(s.replace(SGR_ALL, ''))) {
    const w = displayWidth(segment);
    if (width + w > columns) break;
    out += segment;
    width += w;
  }
  return out;
}

function pad(s: string, width: number): string {
  return s + ' '.repeat(Math.max(0, width - displayWidth(s)));
}

/** Aligned columns for a terminal; the flexible column is cut to keep each row on one line. */
export function renderTable(columns: Column[], rows: string[][], style: Style, totalWidth: number): string {
  const widths = columns.map((c, i) => Math.max(displayWidth(c.header), ...rows.map((r) => displayWidth(r[i] ?? ''))));
  const gap = 2;
  const fixed = widths.reduce((a, w, i) => a + (columns[i]?.flex ? 0 : w), 0) + gap * (columns.length - 1);
  const flexIndex = columns.findIndex((c) => c.flex);
  if (flexIndex >= 0) widths[flexIndex] = Math.max(10, Math.min(widths[flexIndex] ?? 0, totalWidth - fixed));
  const fmt = (cells: string[], head: boolean): string =>
    cells
      .map((cell, i) => {
        const w = widths[i] ?? 0;
        const text = i === flexIndex ? truncate(cell, w) : cell;
        const last = i === cells.length - 1;
        const padded = last ? text : pad(text, w);
        return head ? style.bold(padded) : padded;
      })
      .join(' '.repeat(gap))
      .trimEnd();
  return (
    [
      fmt(
        columns.map((c) => c.header),
        true,
      ),
      ...rows.map((r) => fmt(r, false)),
    ].join('\n') + '\n'
  );
}

/** One line: newlines and tabs folded into spaces, so tab-separated output stays one row per thread. */
export function oneLine(s: string): string {
  return s.replace(/[\t\r\n]+/g, ' ').trim();
}
