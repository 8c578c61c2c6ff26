import { sessionSourceKey } from '@skein/thread-store-api';
import type { StoredThread, ThreadSearchResult } from '@skein/thread-store-api';
import type { Output } from './output.js';
import { oneLine, renderTable } from './table.js';
import type { TranscriptEntry } from './transcript.js';

/** What people call a thread: its name, else its preview, else a placeholder. */
export function threadTitle(t: StoredThread): string {
  if (t.name !== null && t.name.trim() !== '') return oneLine(t.name);
  const preview = oneLine(t.preview);
  return preview === '' ? '(no messages)' : preview;
}

/** `2026-11-25 17:50` in UTC: short, sortable, the same on every machine. */
function shortTime(d: Date): string {
  return `${d.toISOString().slice(0, 16).replace('T', ' ')}Z`;
}

/**
 * A page of threads. On a terminal: a table. Otherwise one tab-separated line per thread:
 * id, updatedAt (ISO), model provider, name-or-preview.
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
  const rows = threads.map((t) => [
    o.style.cyan(t.threadId),
    shortTime(t.updatedAt),
    t.modelProvider,
    (t.archivedAt ? o.style.dim('[archived] ') : '') + (t.name ? o.style.bold(threadTitle(t)) : threadTitle(t)),
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

/** Search hits: like a listing, with the snippet on the next line (indented). */
export function printSearchResults(o: Output, results: readonly ThreadSearchResult[]): void {
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
  for (const r of results) {
    o.line(
      `${o.style.cyan(r.thread.threadId)}  ${shortTime(r.thread.updatedAt)}  ${o.style.bold(threadTitle(r.thread))}`,
    );
    o.line(`    ${o.style.dim(oneLine(r.snippet))}`);
  }
}

function field(o: Output, label: string, value: string): void {
  o.line(`${o.style.bold(label.padEnd(12))}${value}`);
}

/**
 * A thread's summary and conversation. The rollout path is left out on purpose: a remote store
 * has none, and the same thread must print the same through `--home` and `--endpoint`
 * (`--json` carries it).
 */
export function printThreadDetail(o: Output, t: StoredThread, transcript: readonly TranscriptEntry[]): void {
  field(o, 'Thread', o.style.cyan(t.threadId));
  field(o, 'Name', t.name ?? '-');
  field(o, 'Preview', oneLine(t.preview) || '-');
  field(o, 'Provider', t.modelProvider);
  field(o, 'Model', t.model ?? '-');
  field(o, 'Source', sessionSourceKey(t.source));
  field(o, 'Cwd', t.cwd || '-');
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
  o.line();
  if (transcript.length === 0) {
    o.line(o.style.dim('(no messages)'));
    return;
  }
  for (const m of transcript) {
    if (m.role === 'notice') {
      o.line(o.style.yellow(`-- ${m.text} --`));
      continue;
    }
    const label = m.role === 'user' ? o.style.green('user') : o.style.cyan('assistant');
    const [first = '', ...rest] = m.text.split('\n');
    o.line(`${label}: ${first}`);
    for (const l of rest) o.line(`  ${l}`);
  }
}

/** The conversation as a Markdown document (`threads export --format markdown`). */
export function threadMarkdown(t: StoredThread, transcript: readonly TranscriptEntry[]): string {
  const lines: string[] = [`# ${threadTitle(t)}`, ''];
  lines.push(`- Thread: \`${t.threadId}\``);
  if (t.name) lines.push(`- Name: ${oneLine(t.name)}`);
  lines.push(`- Created: ${t.createdAt.toISOString()}`);
  lines.push(`- Updated: ${t.updatedAt.toISOString()}`);
  lines.push(`- Model: ${t.model ?? 'unknown'} (${t.modelProvider})`);
  if (t.cwd) lines.push(`- Cwd: \`${t.cwd}\``);
  if (t.forkedFromId) lines.push(`- Forked from: \`${t.forkedFromId}\``);
  if (t.archivedAt) lines.push(`- Archived: ${t.archivedAt.toISOString()}`);
  for (const m of transcript) {
    lines.push('');
    if (m.role === 'notice') {
      lines.push(`> _${m.text}_`);
      continue;
    }
    lines.push(m.role === 'user' ? '## User' : '## Assistant', '', m.text);
  }
  return lines.join('\n') + '\n';
}
