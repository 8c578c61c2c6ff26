import { Option } from 'commander';
import type { Command } from 'commander';
import { MAX_PAGE_SIZE, isThreadStoreError } from '@skein/thread-store-api';
import type { ListThreadsParams, StoredThread, ThreadStore } from '@skein/thread-store-api';
import { UsageError } from './cli-error.js';
import { listParams } from './list-options.js';
import type { ListFlags } from './list-options.js';
import type { Output } from './output.js';
import { threadTitle } from './thread-text.js';

/** Filters that pick many threads for archive, unarchive, delete and prune. */
export interface BulkFlags {
  olderThan?: string;
  cwd?: string[];
  provider?: string[];
  allProviders?: boolean;
  source?: string[];
  allSources?: boolean;
  search?: string;
}

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

export function addBulkFilters(cmd: Command, olderThanRequired = false): Command {
  const older = new Option('--older-than <age>', 'threads not updated for this long: 30d, 12h, 2w, 90m (minutes), 45s');
  if (olderThanRequired) older.makeOptionMandatory();
  return cmd
    .addOption(older)
    .option('--cwd <dir>', 'only threads started in this folder (repeatable)', collect)
    .option('--provider <name>', 'only this model provider (repeatable)', collect)
    .option('--all-providers', "every model provider (default: the home's default provider, as in threads list)")
    .option('--source <kind>', 'only this source (repeatable)', collect)
    .option('--all-sources', 'every source (default: the interactive ones, as in threads list)')
    .option('--search <text>', 'name or preview contains this text');
}

export function hasBulkFilter(f: BulkFlags): boolean {
  return (
    f.olderThan !== undefined ||
    f.cwd !== undefined ||
    f.provider !== undefined ||
    f.allProviders === true ||
    f.source !== undefined ||
    f.allSources === true ||
    f.search !== undefined
  );
}

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 };

/** `30d` → milliseconds. */
export function parseAge(value: string): number {
  const m = /^(\d+)\s*([smhdw])$/i.exec(value.trim());
  if (!m) throw new UsageError(`--older-than takes an age like 30d, 12h, 2w, 90m or 45s, got "${value}"`);
  return Number(m[1]) * UNITS[m[2]!.toLowerCase()]!;
}

/**
 * The threads of one collection that pass the filters, oldest update first. The same filters
 * and defaults as `threads list`, so what a listing shows is what a bulk command acts on.
 */
export async function selectThreads(
  store: ThreadStore,
  flags: BulkFlags,
  archived: boolean,
  now = Date.now(),
): Promise<StoredThread[]> {
  const cutoff = flags.olderThan === undefined ? null : now - parseAge(flags.olderThan);
  const listFlags: ListFlags = { ...flags, limit: String(MAX_PAGE_SIZE), sort: 'updated', asc: true, archived };
  const base: ListThreadsParams = listParams(listFlags);
  const out: StoredThread[] = [];
  let cursor: string | null = null;
  do {
    const page = await store.listThreads({ ...base, cursor });
    for (const t of page.items) {
      if (cutoff !== null && t.updatedAt.getTime() >= cutoff) return out;
      out.push(t);
    }
    cursor = page.nextCursor;
  } while (cursor !== null);
  return out;
}

export interface BulkResult {
  done: StoredThread[];
  failed: { thread: StoredThread; error: unknown }[];
}

/**
 * Runs `act` on each thread in turn, with a progress line on a terminal, and keeps going past a
 * failure so one bad thread does not leave the rest half done; the summary says what failed.
 */
export async function actOnEach(
  o: Output,
  verb: string,
  threads: readonly StoredThread[],
  act: (t: StoredThread) => Promise<void>,
): Promise<BulkResult> {
  const result: BulkResult = { done: [], failed: [] };
  const progress = o.errIsTTY && threads.length > 1;
  let i = 0;
  for (const t of threads) {
    i += 1;
    if (progress) o.err(`\r\u001b[2K${verb} ${i}/${threads.length}…`);
    try {
      await act(t);
      result.done.push(t);
    } catch (error) {
      result.failed.push({ thread: t, error });
    }
  }
  if (progress) o.err('\r\u001b[2K');
  return result;
}

export function describeFailure(f: { thread: StoredThread; error: unknown }): string {
  const e = f.error;
  const msg = isThreadStoreError(e) ? `${e.message} [${e.code}]` : e instanceof Error ? e.message : String(e);
  return `  ${f.thread.threadId}  ${threadTitle(f.thread)}: ${msg}`;
}
