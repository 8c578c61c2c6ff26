/**
 * A search hit's snippet, as the local store shows it: the first match in the message with up to
 * 60 characters of context on each side, whitespace runs folded to one space, `…` where cut.
 */
const CONTEXT = 60;

export function snippetOf(text: string, term: string): string {
  const fold = (s: string): string => s.replace(/\s+/g, ' ');
  const at = text.toLowerCase().indexOf(term.toLowerCase());
  if (at < 0) return fold(text.length > 2 * CONTEXT ? `${text.slice(0, 2 * CONTEXT)}…` : text);
  const start = Math.max(0, at - CONTEXT);
  const end = Math.min(text.length, at + term.length + CONTEXT);
  return (start > 0 ? '…' : '') + fold(text.slice(start, end)) + (end < text.length ? '…' : '');
}
