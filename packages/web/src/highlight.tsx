import type { ReactNode } from 'react';

/** `text` with every case-insensitive occurrence of `term` in a <mark>; text stays text. */
export function highlight(text: string, term: string): ReactNode[] {
  const t = term.trim();
  if (!t) return [text];
  const out: ReactNode[] = [];
  const lower = text.toLowerCase();
  const needle = t.toLowerCase();
  let at = 0;
  for (let i = lower.indexOf(needle); i !== -1; i = lower.indexOf(needle, at)) {
    if (i > at) out.push(text.slice(at, i));
    out.push(<mark key={i}>{text.slice(i, i + t.length)}</mark>);
    at = i + t.length;
  }
  if (at < text.length) out.push(text.slice(at));
  return out;
}
