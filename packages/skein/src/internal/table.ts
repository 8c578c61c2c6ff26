import type { Style } from './color.js';

export interface Column {
  header: string;
  /** Shrinks to fit the terminal; others keep their width. */
  flex?: boolean;
}

/** Visible width, ignoring ANSI escapes. */
function width(s: string): number {
  // eslint-disable-next-line no-control-regex
  return [...s.replace(/\u001b\[[0-9;]*m/g, '')].length;
}

function truncate(s: string, max: number): string {
  const chars = [...s];
  if (chars.length <= max) return s;
  return max <= 1 ? chars.slice(0, max).join('') : `${chars.slice(0, max - 1).join('')}…`;
}

/** Aligned columns for a terminal; the flexible column is cut to keep each row on one line. */
export function renderTable(columns: Column[], rows: string[][], style: Style, totalWidth: number): string {
  const widths = columns.map((c, i) => Math.max(width(c.header), ...rows.map((r) => width(r[i] ?? ''))));
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
        const padded = last ? text : text + ' '.repeat(Math.max(0, w - width(text)));
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
