import type { Command } from 'commander';
import { DEFAULT_PAGE_SIZE, isThreadStoreError } from '@skein/thread-store-api';
import type {
  CountThreadsParams,
  ListThreadsParams,
  SearchThreadsParams,
  ThreadSearchResult,
  ThreadStore,
} from '@skein/thread-store-api';
import { UsageError } from '../cli-error.js';
import { flagsOf, outputFor, withStore } from '../command-context.js';
import { addListOptions, listParams } from '../list-options.js';
import type { ListFlags } from '../list-options.js';
import type { Output } from '../output.js';
import type { StoreFlags } from '../store-options.js';
import { searchResultJson, threadJson } from '../thread-json.js';
import type { SearchPageJson, ThreadPageJson } from '../thread-json.js';
import { printSearchResults, printThreadList } from '../thread-text.js';
import { storeCommand, withJson } from './thread-command-kit.js';
import type { JsonFlag } from './thread-command-kit.js';
import { formatCount } from '../count.js';

interface Page<T> {
  items: T[];
  nextCursor: string | null;
  backwardsCursor: string | null;
}

function parsePage(value: string | undefined): number {
  if (value === undefined) return 1;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--page must be a whole number from 1, got "${value}"`);
  return n;
}

/**
 * Pages through a listing: `--all` follows cursors to the end; `--page N` walks to the Nth page
 * (cursors are keyset-based, so there is no cheaper way to skip, and N is small in practice).
 */
async function listPages<T>(
  fetch: (cursor: string | null | undefined) => Promise<Page<T>>,
  first: string | null | undefined,
  flags: ListFlags,
  pageSize: number,
): Promise<Page<T> & { page: number; offset: number | null }> {
  const wanted = parsePage(flags.page);
  // Where the page starts in the whole listing: known when it was reached from the start.
  const offset = first == null || first === '' ? (wanted - 1) * pageSize : null;
  if (wanted > 1 && (flags.all || flags.cursor)) throw new UsageError('use --page alone, not with --all or --cursor');
  let page = await fetch(first);
  for (let n = 1; n < wanted; n++) {
    if (page.nextCursor === null)
      return { items: [], nextCursor: null, backwardsCursor: page.backwardsCursor, page: wanted, offset };
    page = await fetch(page.nextCursor);
  }
  if (!flags.all) return { ...page, page: wanted, offset };
  const items = [...page.items];
  let cursor = page.nextCursor;
  while (cursor !== null) {
    const next = await fetch(cursor);
    items.push(...next.items);
    cursor = next.nextCursor;
  }
  return { items, nextCursor: null, backwardsCursor: null, page: 1, offset };
}

/**
 * How many threads match the listing's filters, or null when the store cannot say (a server
 * older than the count call answers `unsupported`): the listing still works without its total.
 */
async function totalOf(store: ThreadStore, params: CountThreadsParams): Promise<number | null> {
  try {
    return await store.countThreads(params);
  } catch (e) {
    if (isThreadStoreError(e) && e.code === 'unsupported') return null;
    throw e;
  }
}

/**
 * "25 of 3,000 threads", or "26–50 of 3,000 threads" on a later `--page`; without a total,
 * "25 threads shown".
 */
function countLine(
  what: 'thread' | 'match',
  page: Page<unknown> & { page: number; offset: number | null },
  total: number | null,
): string {
  const n = page.items.length;
  const fmt = formatCount;
  const plural = (x: number): string => (x === 1 ? what : what === 'match' ? 'matches' : 'threads');
  if (total === null) return `${fmt(n)} ${plural(n)} shown`;
  const shown =
    page.offset !== null && page.offset > 0 && n > 0 ? `${fmt(page.offset + 1)}–${fmt(page.offset + n)}` : fmt(n);
  return `${shown} of ${fmt(total)} ${plural(total)}`;
}

/**
 * The line under a page: how many are shown out of how many match (when the store can count),
 * and how to get more: a short `--page N`, never the long opaque cursor.
 */
function pageFooter(
  o: Output,
  what: 'thread' | 'match',
  page: Page<unknown> & { page: number; offset: number | null },
  total: number | null,
  json: boolean | undefined,
): void {
  if (json) return;
  const n = page.items.length;
  const line = countLine(what, page, total);
  if (o.isTTY) {
    if (page.nextCursor !== null) o.err(o.errStyle.dim(`${line}; more with --page ${page.page + 1}, or --all\n`));
    else if (n > 0 && (total !== null || page.page > 1 || n >= 10)) o.err(o.errStyle.dim(`${line}; that is all\n`));
    return;
  }
  // Piped output is often read by a person too (stderr is the terminal): a short hint, and the
  // cursor for scripts in --json's nextCursor rather than 300-odd characters here.
  if (page.nextCursor !== null)
    o.err(`${line}; more: add --page ${page.page + 1}, or --all (--json gives nextCursor for --cursor)\n`);
}

export function listCommand(): Command {
  const list = withJson(
    addListOptions(
      storeCommand('list', 'list threads, newest first', [
        'skein threads list                          interactive threads of the default provider',
        'skein threads list --all-sources --all-providers',
        'skein threads list --cwd .                  threads started in this folder',
        'skein threads list --page 2                 the next 25',
        'skein threads list --archived --json        for scripts (shapes: "JSON output" in the README)',
      ]),
      true,
    ),
  );
  list.action(async (_opts: unknown, cmd: Command) => {
    const flags = flagsOf<StoreFlags & ListFlags & JsonFlag>(cmd);
    const o = outputFor(cmd);
    const params = listParams(flags);
    await withStore(flags, async (store) => {
      // Asked together, so the store brings its index up to date once for both: the count of a
      // later call would have to look for changes again (a local store scans the home's folders
      // and starts watching them when a second call follows the first).
      const [page, total] = await Promise.all([
        listPages(
          (cursor) => store.listThreads({ ...params, cursor: cursor ?? null }),
          params.cursor,
          flags,
          params.pageSize ?? DEFAULT_PAGE_SIZE,
        ),
        totalOf(store, params),
      ]);
      if (flags.json) {
        const doc: ThreadPageJson = {
          threads: page.items.map(threadJson),
          nextCursor: page.nextCursor,
          backwardsCursor: page.backwardsCursor,
          total,
        };
        o.json(doc);
      } else printThreadList(o, page.items);
      pageFooter(o, 'thread', page, total, flags.json);
      if (page.items.length === 0 && !flags.json && o.errIsTTY && !flags.allProviders && !flags.allSources)
        o.err(
          o.errStyle.dim(
            "Listings show the home's default provider and interactive sources (cli, vscode) unless told otherwise: try --all-providers --all-sources.",
          ) + '\n',
        );
    });
  });
  return list;
}

export function searchCommand(): Command {
  const search = withJson(
    addListOptions(
      storeCommand('search', 'find threads whose messages contain text', [
        'skein threads search "flaky test"',
        'skein threads search parser --all-providers --json',
      ]).argument('<text>', 'text to find in user and agent messages'),
      false,
    ),
  );
  search.action(async (text: string, _opts: unknown, cmd: Command) => {
    const flags = flagsOf<StoreFlags & ListFlags & JsonFlag>(cmd);
    const o = outputFor(cmd);
    if (text.trim() === '') throw new UsageError('search text cannot be empty');
    const { searchTerm: _unused, ...rest }: ListThreadsParams = listParams(flags);
    const params: SearchThreadsParams = { ...rest, searchTerm: text };
    await withStore(flags, async (store) => {
      const page = await listPages<ThreadSearchResult>(
        (cursor) => store.searchThreads({ ...params, cursor: cursor ?? null }),
        params.cursor,
        flags,
        params.pageSize ?? DEFAULT_PAGE_SIZE,
      );
      if (flags.json) {
        const doc: SearchPageJson = {
          results: page.items.map(searchResultJson),
          nextCursor: page.nextCursor,
          backwardsCursor: page.backwardsCursor,
        };
        o.json(doc);
      } else printSearchResults(o, page.items, text);
      pageFooter(o, 'match', page, null, flags.json);
    });
  });
  return search;
}
