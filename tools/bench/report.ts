/**
 * Results kept between runs (tools/bench/results.json) and the BENCHMARKS.md rendered from them.
 * A run replaces the entries it measured (per N, and the single-thread/write section) and keeps
 * the others, so a 100,000-thread run can be added later without re-running the rest; every
 * section says which command and commit produced it.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { AppendResult } from './append.js';
import type { CodexListResult } from './codex-list.js';
import type { HeapCapResult, HistoryResult } from './history.js';
import type { MachineInfo } from './machine.js';
import type { RemoteResult } from './remote.js';
import type { SkeinListResult } from './skein-list.js';
import { fmtCount, fmtMs, fmtRate, median, percentile } from './stats.js';

export interface Summary {
  median: number;
  p99: number;
  min: number;
  max: number;
  runs: number;
}

export function summarize(values: readonly number[]): Summary {
  return {
    median: median(values),
    p99: percentile(values, 99),
    min: Math.min(...values),
    max: Math.max(...values),
    runs: values.length,
  };
}

export interface SizeEntry {
  /** 1-minute load average before → after (the machine is shared; high load inflates times). */
  load?: string;
  threads: number;
  megabytes: number;
  date: string;
  commit: string;
  command: string;
  skein: {
    coldIndex: Summary;
    coldStartToFirstPageMs: number;
    warmFirstPage: Summary;
    paging50: Summary;
    paging100: Summary;
    pagedCount: number;
    pagingTruncated?: boolean;
    searchHit: Summary;
    searchHitCount: number;
    searchMiss: Summary;
    titleFilter: Summary;
    reindexUnchangedMs: number;
    changedFiles: number;
    incrementalMs: number;
    incrementalVerified: boolean;
  };
  codex: {
    version: string;
    coldStartMs: number;
    coldFirstPageMs: number;
    coldStartToFirstPageMs: number;
    warmFirstPage: Summary;
    pagingDefault: CodexListResult['pagingDefault'];
    pagingStateDb: CodexListResult['pagingStateDb'];
    warmStartMs: number;
    /** Skein and Codex put the same 50 threads, in the same order, on the first page. */
    sameFirstPage: boolean;
  } | null;
}

export interface GlobalEntry {
  load?: string;
  date: string;
  commit: string;
  command: string;
  history: {
    megabytes: number;
    bytes: number;
    items: number;
    mbPerSec: number;
    ms: Summary;
    baseHeapUsed: number;
    peakHeapUsed: number;
    baseRss: number;
    peakRss: number;
  }[];
  heapCap: HeapCapResult | null;
  append: {
    items: number;
    singleItemsPerSec: number;
    batchItemsPerSec: number;
    flushFsync: Summary;
    flushNoFsync: Summary;
  } | null;
}

export interface ResultsFile {
  machine: MachineInfo;
  sizes: Record<string, SizeEntry>;
  global: GlobalEntry | null;
  remote: (RemoteResult & { date: string; commit: string }) | null;
  /** Written by tools/bench/turn-pages.ts (not part of `pnpm bench`). */
  turnPages?: TurnPagesEntry | null;
  /** Sections measured by their own drivers (write load, PostgreSQL), rendered after the others. */
  extra?: Record<string, ExtraSection>;
  /** Written by tools/bench/open-by-id.ts (not part of `pnpm bench`). */
  openById?: TurnPagesEntry | null;
}

export interface TurnPagesEntry {
  date: string;
  commit: string;
  command: string;
  load: string;
  /** The Markdown table the script printed. */
  table: string;
}

export const TURN_PAGES_HEADING = '## Turn and item pages of one large thread';

/** A section of BENCHMARKS.md from its own driver: a title, how it was measured, a table. */
export interface ExtraSection {
  title: string;
  date: string;
  commit: string;
  command: string;
  load: string;
  /** The machine, when it is not the one in the header (a section measured alone, later). */
  machine?: string;
  body: string;
}

export function extraSection(e: ExtraSection): string {
  const on = e.machine ? ` on ${e.machine}` : '';
  return `## ${e.title}\n\nMeasured ${e.date} at commit \`${e.commit}\`${on} with \`${e.command}\`; load average (1 min) ${e.load}.\n\n${e.body}\n`;
}

/**
 * Puts `section` in the Markdown file in place of the section that starts with `heading`, or
 * before the section that starts with `before` when there is none yet (at the end without it).
 */
export function putSection(mdFile: string, heading: string, section: string, before: string): void {
  const md = readFileSync(mdFile, 'utf8');
  const start = md.indexOf(heading);
  let next: string;
  if (start >= 0) {
    const end = md.indexOf('\n## ', start + heading.length);
    next = md.slice(0, start) + section + (end >= 0 ? '\n' + md.slice(end + 1) : '');
  } else {
    const at = md.indexOf(before);
    next = at >= 0 ? md.slice(0, at) + section + '\n' + md.slice(at) : `${md}\n${section}`;
  }
  writeFileSync(mdFile, next);
}

/**
 * Keeps a section measured by its own script (`key` in results.json's `extra`, so `pnpm bench`
 * renders it again) and puts it in BENCHMARKS.md in place of the section with the same title,
 * or before the remote store's section when there is none yet.
 */
export async function saveExtraSection(repo: string, key: string, entry: ExtraSection): Promise<void> {
  const resultsFile = `${repo}/tools/bench/results.json`;
  const results = JSON.parse(readFileSync(resultsFile, 'utf8')) as ResultsFile;
  results.extra = { ...results.extra, [key]: entry };
  await saveResults(resultsFile, results);
  putSection(`${repo}/BENCHMARKS.md`, `## ${entry.title}\n`, extraSection(entry), '## Remote store');
}

export function turnPagesSection(e: TurnPagesEntry): string {
  return [
    TURN_PAGES_HEADING,
    '',
    `Measured ${e.date} at commit \`${e.commit}\` with \`${e.command}\` (load average ${e.load}); target for the warm last page of 20 turns: ≤ 5 ms. Wall-clock figures include the time other work held the 2 cores (see the load average); the CPU time is this process's own.`,
    '',
    e.table,
    '',
  ].join('\n');
}

export const OPEN_BY_ID_HEADING = '## Opening a home, reads by id, and the background sweep';

export function openByIdSection(e: TurnPagesEntry): string {
  return [
    OPEN_BY_ID_HEADING,
    '',
    `Measured ${e.date} at commit \`${e.commit}\` with \`${e.command}\` (load average ${e.load}). Targets: \`readThread\` by id ≤ 1 ms warm at 100k threads, an unknown id ≤ 1 ms, a warm home opened in ≤ 50 ms, \`skein threads list\` ≤ 150 ms end to end at 100k, cold full index 10k ≤ 1 s and 100k ≤ 10 s. "Longest stall" is the longest the event loop went without running a 5 ms interval timer.`,
    '',
    e.table,
    '',
  ].join('\n');
}

export function loadResults(file: string, machine: MachineInfo, keepAnyMachine = false): ResultsFile {
  try {
    const r = JSON.parse(readFileSync(file, 'utf8')) as ResultsFile;
    // Figures from another machine must not be mixed with these (a section measured alone
    // keeps the others and names its own machine).
    if (keepAnyMachine || JSON.stringify(r.machine) === JSON.stringify(machine)) return r;
  } catch {
    // No earlier results.
  }
  return { machine, sizes: {}, global: null, remote: null };
}

/** Written through Prettier with the repo's config, so `prettier --check .` stays clean. */
export async function saveResults(file: string, r: ResultsFile): Promise<void> {
  const prettier = await import('prettier');
  const config = (await prettier.resolveConfig(file)) ?? {};
  writeFileSync(file, await prettier.format(JSON.stringify(r, null, 2), { ...config, filepath: file }));
}

export function sizeEntry(
  threads: number,
  bytes: number,
  meta: { date: string; commit: string; command: string },
  s: SkeinListResult,
  c: CodexListResult | null,
  codexVersion: string,
): SizeEntry {
  return {
    threads,
    megabytes: bytes / 1e6,
    ...meta,
    skein: {
      coldIndex: summarize(s.coldIndexMs),
      coldStartToFirstPageMs: s.coldStartToFirstPageMs,
      warmFirstPage: summarize(s.warmFirstPageMs),
      paging50: summarize(s.paging50Ms),
      paging100: summarize(s.paging100Ms),
      pagedCount: s.pagedCount,
      pagingTruncated: s.pagingTruncated,
      searchHit: summarize(s.searchHitMs),
      searchHitCount: s.searchHitCount,
      searchMiss: summarize(s.searchMissMs),
      titleFilter: summarize(s.titleFilterMs),
      reindexUnchangedMs: s.reindexUnchangedMs,
      changedFiles: s.changedFiles,
      incrementalMs: s.incrementalMs,
      incrementalVerified: s.incrementalVerified,
    },
    codex: c
      ? {
          version: codexVersion,
          coldStartMs: c.coldStartMs,
          coldFirstPageMs: c.coldFirstPageMs,
          coldStartToFirstPageMs: c.coldStartToFirstPageMs,
          warmFirstPage: summarize(c.warmFirstPageMs),
          pagingDefault: c.pagingDefault,
          pagingStateDb: c.pagingStateDb,
          warmStartMs: c.warmStartMs,
          sameFirstPage:
            c.firstPageIds.length === s.firstPageIds.length &&
            c.firstPageIds.every((id, i) => id === s.firstPageIds[i]),
        }
      : null,
  };
}

export function globalEntry(
  meta: { date: string; commit: string; command: string },
  history: HistoryResult[],
  heapCap: HeapCapResult | null,
  append: AppendResult | null,
): GlobalEntry {
  return {
    ...meta,
    history: history.map((h) => ({
      megabytes: h.megabytes,
      bytes: h.report.bytes,
      items: h.report.items,
      mbPerSec: h.mbPerSec,
      ms: summarize(h.report.ms),
      baseHeapUsed: h.report.baseHeapUsed,
      peakHeapUsed: h.report.peakHeapUsed,
      baseRss: h.report.baseRss,
      peakRss: h.report.peakRss,
    })),
    heapCap,
    append: append
      ? {
          items: append.items,
          singleItemsPerSec: append.singleItemsPerSec,
          batchItemsPerSec: append.batchItemsPerSec,
          flushFsync: summarize(append.flushFsyncMs),
          flushNoFsync: summarize(append.flushNoFsyncMs),
        }
      : null,
  };
}

// ---------------------------------------------------------------------------------------------
// Rendering

const MET = 'met';
const MISSED = '**missed**';

function ratio(codexMs: number, skeinMs: number): string {
  if (!Number.isFinite(codexMs) || !Number.isFinite(skeinMs) || skeinMs <= 0) return '—';
  const r = codexMs / skeinMs;
  if (r > 0.95 && r < 1.05) return 'about the same';
  return r >= 1 ? `${r.toFixed(r >= 10 ? 0 : 1)}× faster` : `${(1 / r).toFixed(1)}× slower`;
}

function mib(b: number): string {
  return `${(b / 2 ** 20).toFixed(0)} MiB`;
}

type Row = [string, string, string, string, string, string];

function table(rows: Row[]): string {
  const head: Row = ['Workload', 'Skein', 'Codex', 'Codex ÷ Skein', 'Target', 'Status'];
  const lines = [head, ['---', '---:', '---:', '---:', '---', '---'] as Row, ...rows].map(
    (r) => `| ${r.join(' | ')} |`,
  );
  return lines.join('\n');
}

export function sizeTable(e: SizeEntry): string {
  const s = e.skein;
  const c = e.codex;
  const n = e.threads;
  const tenK = n === 10_000;
  const rows: Row[] = [];
  const coldOk = s.coldIndex.median < 1000;
  rows.push([
    `Cold index of the whole home, no index file (median of ${s.coldIndex.runs})`,
    fmtMs(s.coldIndex.median),
    '—',
    '—',
    tenK ? '< 1 s' : '(< 1 s at 10k)',
    tenK ? (coldOk ? MET : MISSED) : '',
  ]);
  rows.push([
    'Cold start → first page of 50 (Skein: open + index + list; Codex: spawn + `initialize` with no state DB + `thread/list`)',
    fmtMs(s.coldStartToFirstPageMs),
    c ? fmtMs(c.coldStartToFirstPageMs) : '—',
    c ? ratio(c.coldStartToFirstPageMs, s.coldStartToFirstPageMs) : '—',
    '',
    '',
  ]);
  if (c)
    rows.push([
      '… of which Codex `initialize` (indexes every rollout into `state_5.sqlite`)',
      '—',
      fmtMs(c.coldStartMs),
      '',
      '',
      '',
    ]);
  rows.push([
    'Re-index, nothing changed (open + `indexNow`)',
    fmtMs(s.reindexUnchangedMs),
    c ? fmtMs(c.warmStartMs) + ' (start with state DB)' : '—',
    c ? ratio(c.warmStartMs, s.reindexUnchangedMs) : '—',
    '',
    '',
  ]);
  rows.push([
    `Incremental re-index after 1% of files grew (${fmtCount(s.changedFiles)} files)${s.incrementalVerified ? '' : ' — grown threads NOT all on top by updatedAt'}`,
    fmtMs(s.incrementalMs),
    '—',
    '—',
    '',
    '',
  ]);
  const fpOk = s.warmFirstPage.median < 5;
  rows.push([
    `First page of 50, warm (median / p99 of ${s.warmFirstPage.runs}; Codex ${c?.warmFirstPage.runs ?? 0})`,
    `${fmtMs(s.warmFirstPage.median)} / ${fmtMs(s.warmFirstPage.p99)}`,
    c ? `${fmtMs(c.warmFirstPage.median)} / ${fmtMs(c.warmFirstPage.p99)}` : '—',
    c ? ratio(c.warmFirstPage.median, s.warmFirstPage.median) : '—',
    '< 5 ms',
    fpOk ? MET : MISSED,
  ]);
  const pd = c?.pagingDefault;
  // When paging stopped at its time budget, compare per-thread rates (extrapolated to all N).
  const skeinFull = s.pagingTruncated ? (s.paging50.median * n) / Math.max(1, s.pagedCount) : s.paging50.median;
  const codexFull = pd ? (pd.truncated ? (pd.ms * n) / Math.max(1, pd.count) : pd.ms) : Number.NaN;
  const extrapolated = s.pagingTruncated || (pd?.truncated ?? false);
  const pagingRatio = codexFull / skeinFull;
  const skeinPaging = s.pagingTruncated
    ? `${fmtMs(s.paging50.median)} for ${fmtCount(s.pagedCount)} threads (stopped at the time budget)`
    : fmtMs(s.paging50.median);
  const codexPaging = pd
    ? `${fmtMs(pd.ms)}${pd.truncated ? ` for ${fmtCount(pd.count)} threads (stopped at the time budget)` : ''}${pd.count !== n && !pd.truncated ? ` (${fmtCount(pd.count)} threads)` : ''}`
    : '—';
  rows.push([
    `Paging through all ${fmtCount(n)} threads, 50/page (Codex default)${s.pagedCount !== n && !s.pagingTruncated ? ` — Skein returned ${fmtCount(s.pagedCount)}` : ''}`,
    skeinPaging,
    codexPaging,
    pd ? `${ratio(codexFull, skeinFull)}${extrapolated ? ' (extrapolated)' : ''}` : '—',
    tenK ? '≥ 10× faster than Codex' : '',
    tenK && c ? (pagingRatio >= 10 ? MET : MISSED) : '',
  ]);
  if (c) {
    const ps = c.pagingStateDb;
    rows.push([
      'Paging through all, 50/page (Codex `useStateDbOnly:true`)',
      skeinPaging,
      `${fmtMs(ps.ms)}${ps.truncated ? ` for ${fmtCount(ps.count)} (stopped)` : ''}`,
      ratio(ps.truncated ? (ps.ms * n) / Math.max(1, ps.count) : ps.ms, skeinFull),
      '',
      '',
    ]);
  }
  if (!s.pagingTruncated) rows.push(['Paging through all, 100/page', fmtMs(s.paging100.median), '—', '—', '', '']);
  rows.push([
    `Content search, term in ~1% of threads, first page (${s.searchHitCount} hits)`,
    fmtMs(s.searchHit.median),
    'n/a',
    '—',
    '',
    '',
  ]);
  rows.push(['Content search, term in no thread (whole corpus)', fmtMs(s.searchMiss.median), 'n/a', '—', '', '']);
  rows.push(['`listThreads` with `searchTerm` (name/preview filter)', fmtMs(s.titleFilter.median), '—', '—', '', '']);
  return table(rows);
}

export function globalTable(g: GlobalEntry): string {
  const rows: Row[] = [];
  const big = g.history.reduce<GlobalEntry['history'][number] | undefined>(
    (a, h) => (!a || h.megabytes > a.megabytes ? h : a),
    undefined,
  );
  const small = g.history.find((h) => h !== big);
  for (const h of g.history) {
    const isBig = h === big;
    const flat =
      isBig && small
        ? h.peakHeapUsed - h.baseHeapUsed < Math.max(64 * 2 ** 20, 2 * (small.peakHeapUsed - small.baseHeapUsed)) &&
          (g.heapCap?.ok ?? false)
        : true;
    rows.push([
      `\`readThread\` + stream history of a ${h.megabytes} MB thread (${fmtCount(h.items)} items; median of ${h.ms.runs})`,
      `${h.mbPerSec.toFixed(0)} MB/s (${fmtMs(h.ms.median)})`,
      '—',
      '—',
      isBig ? '≥ 200 MB/s' : '',
      isBig ? (h.mbPerSec >= 200 ? MET : MISSED) : '',
    ]);
    rows.push([
      `… memory while streaming ${h.megabytes} MB: heap used before → peak; RSS before → peak`,
      `${mib(h.baseHeapUsed)} → ${mib(h.peakHeapUsed)}; ${mib(h.baseRss)} → ${mib(h.peakRss)}`,
      '—',
      '—',
      isBig ? 'does not grow with size' : '',
      isBig ? (flat ? MET : MISSED) : '',
    ]);
  }
  if (g.heapCap)
    rows.push([
      `… streaming ${big?.megabytes ?? '?'} MB with \`--max-old-space-size=${g.heapCap.capMb}\``,
      g.heapCap.ok ? 'completed' : 'failed',
      '—',
      '—',
      'completes',
      g.heapCap.ok ? MET : MISSED,
    ]);
  const a = g.append;
  if (a) {
    rows.push([
      `Append, one \`appendItems\` call per item, buffered (${fmtCount(a.items)} items, then one flush)`,
      fmtRate(a.singleItemsPerSec, 'items'),
      '—',
      '—',
      '≥ 100k items/s',
      a.singleItemsPerSec >= 100_000 ? MET : MISSED,
    ]);
    rows.push([`Append, 100 items per call, buffered`, fmtRate(a.batchItemsPerSec, 'items'), '—', '—', '', '']);
    rows.push([
      `\`flushThread\` after one append, fsync on (p50 / p99 of ${a.flushFsync.runs})`,
      `${fmtMs(a.flushFsync.median)} / ${fmtMs(a.flushFsync.p99)}`,
      '—',
      '—',
      'report',
      '',
    ]);
    rows.push([
      `\`flushThread\` after one append, fsync off (p50 / p99)`,
      `${fmtMs(a.flushNoFsync.median)} / ${fmtMs(a.flushNoFsync.p99)}`,
      '—',
      '—',
      '',
      '',
    ]);
  }
  return table(rows);
}

export function renderMarkdown(r: ResultsFile, notes: string): string {
  const m = r.machine;
  const out: string[] = [];
  out.push('# Benchmarks');
  out.push('');
  out.push(
    "Skein's local store (`@skein/thread-store-local`) measured on synthetic Codex homes, side by side with the real",
  );
  out.push(
    '`codex app-server` (0.169.0) on the same files in the same run. Produced by `pnpm bench` (`tools/bench/`); do not',
  );
  out.push('edit by hand — the figures come from `tools/bench/results.json`.');
  out.push('');
  out.push('## Machine');
  out.push('');
  out.push(`- CPU: ${m.cpu}, ${m.cores} cores available`);
  out.push(`- Memory: ${m.memory}`);
  out.push(`- Disk (benchmark homes): ${m.disk}`);
  out.push(`- OS: ${m.os}`);
  out.push(`- Node: ${m.node}`);
  out.push('');
  const sizes = Object.values(r.sizes).sort((a, b) => a.threads - b.threads);
  for (const e of sizes) {
    out.push(`## ${fmtCount(e.threads)} threads (${e.megabytes.toFixed(0)} MB of rollouts)`);
    out.push('');
    out.push(
      `Measured ${e.date} at commit \`${e.commit}\` with \`${e.command}\`${e.load ? ` (load average ${e.load})` : ''}${e.codex ? `; Codex ${e.codex.version}${e.codex.sameFirstPage ? " (its first page held the same 50 threads in the same order as Skein's)" : " (NOTE: its first page differed from Skein's)"}` : '; Codex skipped'}.`,
    );
    out.push('');
    out.push(sizeTable(e));
    out.push('');
  }
  if (r.global) {
    out.push('## One large thread, and writes');
    out.push('');
    out.push(
      `Measured ${r.global.date} at commit \`${r.global.commit}\` with \`${r.global.command}\`${r.global.load ? ` (load average ${r.global.load})` : ''}.`,
    );
    out.push('');
    out.push(globalTable(r.global));
    out.push('');
  }
  if (r.openById) out.push(openByIdSection(r.openById));
  if (r.turnPages) out.push(turnPagesSection(r.turnPages));
  for (const e of Object.values(r.extra ?? {})) out.push(extraSection(e));
  if (r.remote) {
    out.push('## Remote store (`@skein/thread-store-remote`)');
    out.push('');
    out.push(
      `Measured ${r.remote.date} at commit \`${r.remote.commit}\` with \`${r.remote.command}\`${r.remote.ok ? '' : ' (FAILED)'}; its own output:`,
    );
    out.push('');
    // Its headings sit under this section's: demote them two levels.
    const body = r.remote.output.replace(/^(#{1,4}) /gm, '$1## ');
    out.push(body.includes('|') ? body : '```\n' + body + '\n```');
    out.push('');
  }
  out.push(notes);
  return out.join('\n') + '\n';
}
