import { sessionSourceKey } from '@skein/thread-store-api';
import type { StoredThread, ThreadSearchResult } from '@skein/thread-store-api';
import type { Style } from './color.js';
import type { ConversationEntry, ConversationTurn } from './conversation.js';
import type { Output } from './output.js';
import { relativeTime } from './relative-time.js';
import { displayWidth, oneLine, renderTable, truncate } from './table.js';

/** Ids are shown this long in tables (longer where two shown ids share it); prefixes resolve. */
export const SHORT_ID = 8;

/**
 * The shortest prefix length, at least SHORT_ID, that tells the shown ids apart, as git
 * abbreviates hashes. Codex's ids are UUIDv7s, whose first 8 characters are the same for
 * threads started within about a minute of each other.
 */
export function shortIdLength(ids: readonly string[]): number {
  let len = SHORT_ID;
  const sorted = [...ids].sort();
  for (let i = 1; i < sorted.length; i++) {
    const a = sorted[i - 1]!;
    const b = sorted[i]!;
    let common = 0;
    while (common < a.length && a[common] === b[common]) common++;
    if (a !== b) len = Math.max(len, common + 1);
  }
  return len;
}

/** What people call a thread: its name, else its preview, else a placeholder. */
export function threadTitle(t: StoredThread): string {
  if (t.name !== null && t.name.trim() !== '') return oneLine(t.name);
  const preview = oneLine(t.preview);
  return preview === '' ? '(no messages)' : preview;
}

function titleCell(o: Output, t: StoredThread): string {
  return (t.archivedAt ? o.style.dim('[archived] ') : '') + (t.name ? o.style.bold(threadTitle(t)) : threadTitle(t));
}

/**
 * A page of threads. On a terminal: a table with short ids and relative times. Otherwise one
 * tab-separated line per thread: full id, updatedAt (ISO), model provider, name-or-preview.
 */
export function printThreadList(o: Output, threads: readonly StoredThread[]): void {
  if (!o.isTTY) {
    for (const t of threads)
      o.line([t.threadId, t.updatedAt.toISOString(), t.modelProvider, threadTitle(t)].join('\t'));
    return;
  }
  if (threads.length === 0) {
    o.line(o.style.dim('No threads.'));
    return;
  }
  const now = Date.now();
  const idLen = shortIdLength(threads.map((t) => t.threadId));
  const rows = threads.map((t) => [
    o.style.cyan(t.threadId.slice(0, idLen)),
    relativeTime(t.updatedAt, now),
    t.modelProvider,
    titleCell(o, t),
  ]);
  o.out(
    renderTable(
      [{ header: 'ID' }, { header: 'UPDATED' }, { header: 'PROVIDER' }, { header: 'NAME / PREVIEW', flex: true }],
      rows,
      o.style,
      o.columns,
    ),
  );
}

/**
 * The part of a snippet around the first match, with every match highlighted, in at most
 * `width` columns: a match deep in a long message is still on screen.
 */
export function highlightSnippet(snippet: string, term: string, style: Style, width: number): string {
  let text = oneLine(snippet);
  const lowerTerm = term.toLowerCase();
  const first = lowerTerm === '' ? -1 : text.toLowerCase().indexOf(lowerTerm);
  const lead = Math.floor(width / 3);
  if (first > lead && displayWidth(text) > width) text = `…${text.slice(first - lead + 1)}`;
  let out = '';
  if (lowerTerm !== '') {
    let at = 0;
    const lower = text.toLowerCase();
    for (let i = lower.indexOf(lowerTerm); i >= 0; i = lower.indexOf(lowerTerm, at)) {
      out += style.dim(text.slice(at, i)) + style.yellow(style.bold(text.slice(i, i + term.length)));
      at = i + term.length;
    }
    out += style.dim(text.slice(at));
  } else out = style.dim(text);
  return truncate(out, width);
}

/** Search hits: rows like a listing's, each with its snippet on the next line (matches highlighted). */
export function printSearchResults(o: Output, results: readonly ThreadSearchResult[], term: string): void {
  if (!o.isTTY) {
    for (const r of results)
      o.line(
        [r.thread.threadId, r.thread.updatedAt.toISOString(), threadTitle(r.thread), oneLine(r.snippet)].join('\t'),
      );
    return;
  }
  if (results.length === 0) {
    o.line(o.style.dim('No matches.'));
    return;
  }
  const now = Date.now();
  const idLen = shortIdLength(results.map((r) => r.thread.threadId));
  for (const r of results) {
    const head = `${o.style.cyan(r.thread.threadId.slice(0, idLen))}  ${relativeTime(r.thread.updatedAt, now).padEnd(12)}  `;
    o.line(head + truncate(titleCell(o, r.thread), Math.max(10, o.columns - displayWidth(head))));
    o.line(`    ${highlightSnippet(r.snippet, term, o.style, Math.max(10, o.columns - 4))}`);
  }
}

function field(o: Output, label: string, value: string): void {
  o.line(`${o.style.bold(label.padEnd(12))}${value}`);
}

function gitLine(t: StoredThread): string | null {
  const g = t.gitInfo;
  if (!g) return null;
  const parts: string[] = [];
  if (g.branch) parts.push(g.branch);
  if (g.sha) parts.push(`@ ${g.sha.slice(0, 12)}`);
  if (g.originUrl) parts.push(`(${g.originUrl})`);
  return parts.length > 0 ? parts.join(' ') : null;
}

function turnHeading(turn: ConversationTurn): string {
  const why = turn.error && turn.error !== turn.status ? `: ${oneLine(turn.error)}` : '';
  return `Turn ${turn.number} · ${turn.status}${turn.status === 'completed' ? '' : why}`;
}

/** What `threads show` prints of an entry; reasoning and tools only with `--full`. */
function shownEntries(turn: ConversationTurn, full: boolean): ConversationEntry[] {
  return full ? turn.entries : turn.entries.filter((e) => e.kind === 'user' || e.kind === 'assistant');
}

function printEntry(o: Output, e: ConversationEntry): void {
  const s = o.style;
  const indent = (text: string, style: (x: string) => string = (x) => x): void => {
    for (const l of text.split('\n')) o.line(`  ${style(l)}`);
  };
  switch (e.kind) {
    case 'user':
    case 'assistant': {
      const label = e.kind === 'user' ? s.green('user') : s.cyan('assistant');
      const [first = '', ...rest] = e.text.split('\n');
      o.line(`${label}: ${first}`);
      for (const l of rest) o.line(`  ${l}`);
      return;
    }
    case 'reasoning':
      o.line(s.dim('reasoning:'));
      indent(e.text, s.dim);
      return;
    case 'tool_call':
      o.line(`${s.yellow('tool')} ${s.bold(e.name ?? 'tool')}:`);
      indent(e.text);
      return;
    case 'tool_output':
      o.line(s.yellow('output:'));
      indent(e.text, s.dim);
      return;
  }
}

/**
 * A thread's summary and its turns, numbered (the numbers `threads fork --turn` takes). The
 * rollout path is left out on purpose: a remote store has none, and the same thread must print
 * the same through `--home` and `--endpoint` (`--json` carries it).
 */
export function printThreadDetail(o: Output, t: StoredThread, turns: readonly ConversationTurn[], full: boolean): void {
  field(o, 'Thread', o.style.cyan(t.threadId));
  field(o, 'Name', t.name ?? '-');
  field(o, 'Preview', oneLine(t.preview) || '-');
  field(o, 'Provider', t.modelProvider);
  field(o, 'Model', t.model ?? '-');
  field(o, 'Source', sessionSourceKey(t.source));
  field(o, 'Cwd', t.cwd || '-');
  const git = gitLine(t);
  if (git) field(o, 'Git', git);
  field(o, 'Created', t.createdAt.toISOString());
  field(o, 'Updated', t.updatedAt.toISOString());
  field(o, 'Archived', t.archivedAt ? t.archivedAt.toISOString() : 'no');
  if (t.forkedFromId) field(o, 'Forked from', t.forkedFromId);
  if (t.parentThreadId) field(o, 'Parent', t.parentThreadId);
  if (t.tokenUsage)
    field(
      o,
      'Tokens',
      `${t.tokenUsage.totalTokens} total (${t.tokenUsage.inputTokens} in, ${t.tokenUsage.outputTokens} out)`,
    );
  field(o, 'Turns', String(turns.length));
  if (turns.length === 0) {
    o.line();
    o.line(o.style.dim('(no messages)'));
    return;
  }
  for (const turn of turns) {
    o.line();
    const heading = `── ${turnHeading(turn)} ──`;
    o.line(
      turn.status === 'failed'
        ? o.style.red(heading)
        : turn.status === 'completed'
          ? o.style.dim(heading)
          : o.style.yellow(heading),
    );
    for (const e of shownEntries(turn, full)) printEntry(o, e);
  }
}

/** The conversation as a Markdown document (`threads export --format markdown`). */
export function threadMarkdown(t: StoredThread, turns: readonly ConversationTurn[], full: boolean): string {
  const lines: string[] = [`# ${threadTitle(t)}`, ''];
  lines.push(`- Thread: \`${t.threadId}\``);
  if (t.name) lines.push(`- Name: ${oneLine(t.name)}`);
  lines.push(`- Created: ${t.createdAt.toISOString()}`);
  lines.push(`- Updated: ${t.updatedAt.toISOString()}`);
  lines.push(`- Model: ${t.model ?? 'unknown'} (${t.modelProvider})`);
  if (t.cwd) lines.push(`- Cwd: \`${t.cwd}\``);
  const git = gitLine(t);
  if (git) lines.push(`- Git: ${git}`);
  if (t.forkedFromId) lines.push(`- Forked from: \`${t.forkedFromId}\``);
  if (t.archivedAt) lines.push(`- Archived: ${t.archivedAt.toISOString()}`);
  const fence = (text: string): string[] => {
    const ticks = '`'.repeat(Math.max(3, ...[...text.matchAll(/`+/g)].map((m) => m[0].length + 1)));
    return [ticks, text, ticks];
  };
  for (const turn of turns) {
    lines.push('', `## Turn ${turn.number}`);
    if (turn.status !== 'completed')
      lines.push('', `> _${turn.status}${turn.error && turn.error !== turn.status ? `: ${oneLine(turn.error)}` : ''}_`);
    for (const e of shownEntries(turn, full)) {
      lines.push('');
      switch (e.kind) {
        case 'user':
          lines.push('### User', '', e.text);
          break;
        case 'assistant':
          lines.push('### Assistant', '', e.text);
          break;
        case 'reasoning':
          lines.push('<details><summary>Reasoning</summary>', '', e.text, '', '</details>');
          break;
        case 'tool_call':
          lines.push(`**Tool call: \`${e.name ?? 'tool'}\`**`, '', ...fence(e.text));
          break;
        case 'tool_output':
          lines.push('**Output:**', '', ...fence(e.text));
          break;
      }
    }
  }
  return lines.join('\n') + '\n';
}
