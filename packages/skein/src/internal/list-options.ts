import { realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { Option } from 'commander';
import type { Command } from 'commander';
import { MAX_PAGE_SIZE, SESSION_SOURCE_KINDS, isSessionSourceKind } from '@skein/thread-store-api';
import type { ListThreadsParams, SessionSourceFilter, ThreadSortKey } from '@skein/thread-store-api';
import { UsageError } from './cli-error.js';

export interface ListFlags {
  sort?: string;
  asc?: boolean;
  source?: string[];
  allSources?: boolean;
  provider?: string[];
  allProviders?: boolean;
  cwd?: string[];
  archived?: boolean;
  search?: string;
  limit?: string;
  cursor?: string;
  all?: boolean;
  page?: string;
}

const SORTS: Record<string, ThreadSortKey> = { created: 'createdAt', updated: 'updatedAt', recency: 'recencyAt' };

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

/** The store's filters, sort and paging, shared by `threads list` and `threads search`. */
export function addListOptions(cmd: Command, withSearch: boolean): Command {
  cmd
    .addOption(
      new Option('--sort <key>', 'sort by created, updated or recency time')
        .choices(Object.keys(SORTS))
        .default('created'),
    )
    .option('--asc', 'oldest first (default: newest first)')
    .option(
      '--source <kind>',
      `only threads from this source (repeatable): ${SESSION_SOURCE_KINDS.join(', ')}, custom:NAME or internal:NAME (default: the interactive ones)`,
      collect,
    )
    .option('--all-sources', 'threads from every source')
    .option(
      '--provider <name>',
      "only this model provider (repeatable; default: the store's default provider)",
      collect,
    )
    .option('--all-providers', 'threads of every model provider')
    .option('--cwd <dir>', 'only threads started in this folder (repeatable; . and symlinks are resolved)', collect)
    .option('--archived', 'the archived threads instead of the active ones');
  if (withSearch) cmd.option('--search <text>', 'name or preview contains this text (case-insensitive)');
  cmd
    .option('--limit <n>', `threads per page, 1..${MAX_PAGE_SIZE}`, '25')
    .option('--page <n>', 'the Nth page of --limit threads (default 1)')
    .option('--cursor <cursor>', 'continue from a cursor printed by a previous page (or --json nextCursor)')
    .option('--all', 'every page, not just the first');
  return cmd;
}

function parseSource(value: string): SessionSourceFilter {
  if (isSessionSourceKind(value)) return value;
  const m = /^(custom|internal):(.+)$/.exec(value);
  if (m?.[1] === 'custom') return { kind: 'custom', name: m[2]! };
  if (m?.[1] === 'internal') return { kind: 'internal', name: m[2]! };
  throw new UsageError(
    `unknown source "${value}": use one of ${SESSION_SOURCE_KINDS.join(', ')}, custom:NAME or internal:NAME`,
  );
}

export function parseLimit(value: string | undefined): number {
  const n = Number(value ?? '25');
  if (!Number.isInteger(n) || n < 1 || n > MAX_PAGE_SIZE)
    throw new UsageError(`--limit must be a whole number from 1 to ${MAX_PAGE_SIZE}, got "${value}"`);
  return n;
}

/**
 * The form Codex records a working directory in: absolute, no trailing slash, symlinks resolved
 * (a process's cwd is the real path). `.` and `../x` are relative to where skein runs; a folder
 * that no longer exists is only made absolute.
 */
export function normalizeCwd(dir: string): string {
  const abs = resolve(dir);
  try {
    return realpathSync(abs);
  } catch {
    return abs;
  }
}

export function listParams(flags: ListFlags): ListThreadsParams {
  if (flags.source && flags.allSources) throw new UsageError('use either --source or --all-sources, not both');
  if (flags.provider && flags.allProviders) throw new UsageError('use either --provider or --all-providers, not both');
  if (flags.all && flags.cursor) throw new UsageError('use either --all or --cursor, not both');
  const sortKey = SORTS[flags.sort ?? 'created'];
  if (!sortKey) throw new UsageError(`--sort must be one of ${Object.keys(SORTS).join(', ')}`);
  const params: ListThreadsParams = {
    pageSize: parseLimit(flags.limit),
    sortKey,
    sortDirection: flags.asc ? 'asc' : 'desc',
    archived: flags.archived === true,
  };
  if (flags.allSources) params.allowedSources = SESSION_SOURCE_KINDS;
  else if (flags.source) params.allowedSources = flags.source.map(parseSource);
  if (flags.allProviders) params.modelProviders = [];
  else if (flags.provider) params.modelProviders = flags.provider;
  if (flags.cwd) params.cwdFilters = flags.cwd.map(normalizeCwd);
  if (flags.search !== undefined) params.searchTerm = flags.search;
  if (flags.cursor !== undefined) params.cursor = flags.cursor;
  return params;
}
