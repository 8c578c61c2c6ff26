/**
 * Content search over the index's `messages` rows. Semantics are those of the in-memory store:
 * a thread matches when one of its user or agent messages, lowercased by JavaScript, contains
 * the lowercased term (any length from 1 character). SQLite only narrows the rows down (the
 * FTS5 trigram index for terms of 3+ characters, a LIKE scan for shorter ones); every candidate
 * row is then checked message by message here, so the SQL side may over-match but never
 * under-match:
 * - each row stores, next to a message whose JavaScript lowercase differs outside ASCII (İ,
 *   Georgian, Cherokee… where FTS5's Unicode folding or LIKE's ASCII folding disagree with
 *   `toLowerCase`), a lowercased copy, so both the trigram folding and LIKE see the text the way
 *   the check does;
 * - NUL (where SQLite's LIKE stops reading) is stored as U+FFFD, and so is a NUL in the term.
 */

/** One message as indexed: its text and the byte offset just after its line in the file. */
export interface IndexedMessage {
  text: string;
  end: number;
}

/** Between parts of a row: keeps the trigrams of neighbouring messages apart. */
const SEP = '\n\n';

/** A row's text and the layout of its parts: `<length>:<end>` or `<length>:<end>:l` (a lowercased copy). */
export interface ContentRow {
  text: string;
  parts: string;
}

function clean(s: string): string {
  return s.includes('\u0000') ? s.replaceAll('\u0000', '\uFFFD') : s;
}

/** Whether `toLowerCase` changes a character outside ASCII (or changes the length). */
function lowersOutsideAscii(text: string, lower: string): boolean {
  if (lower.length !== text.length) return true;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 0x7f && c !== lower.charCodeAt(i)) return true;
  }
  return false;
}

/** The text and part layout of one `messages` row holding these messages in file order. */
export function contentRow(messages: readonly IndexedMessage[]): ContentRow {
  const texts: string[] = [];
  const parts: string[] = [];
  for (const m of messages) {
    const text = clean(m.text);
    texts.push(text);
    parts.push(`${text.length}:${m.end}`);
    const lower = text.toLowerCase();
    if (lower !== text && lowersOutsideAscii(text, lower)) {
      texts.push(lower);
      parts.push(`${lower.length}:${m.end}:l`);
    }
  }
  return { text: texts.join(SEP), parts: parts.join(',') };
}

/** The term as the rows are checked against it. */
export function normalizedTerm(term: string): string {
  return clean(term).toLowerCase();
}

/** The SQL condition (over `messages m`) that every row holding a match satisfies. */
export function candidateSql(lowerTerm: string): { where: string; arg: string } {
  if ([...lowerTerm].length >= 3) return { where: 'messages MATCH ?', arg: `"${lowerTerm.replace(/"/g, '""')}"` };
  return { where: "m.text LIKE ? ESCAPE '\\'", arg: `%${lowerTerm.replace(/[\\%_]/g, (c) => `\\${c}`)}%` };
}

/** The first message of a row (in file order) that contains the term, with its end offset. */
export function firstMatch(
  row: ContentRow,
  lowerTerm: string,
  before = Infinity,
): { text: string; end: number } | null {
  let at = 0;
  for (const p of row.parts.split(',')) {
    if (p === '') continue;
    const [len, end, lowered] = p.split(':');
    const n = Number(len);
    const e = Number(end);
    const text = row.text.slice(at, at + n);
    at += n + SEP.length;
    if (lowered !== undefined) continue; // the copy of the message just checked
    if (e > before) break;
    if (text.toLowerCase().includes(lowerTerm)) return { text, end: e };
  }
  return null;
}
