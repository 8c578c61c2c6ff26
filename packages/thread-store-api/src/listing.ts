import { decodeListCursor, encodeListCursor } from './cursor.js';
import { ThreadStoreError } from './errors.js';
import { checkFilterList } from './limits.js';
import { normalizeListStart, passesStart } from './list-start.js';
import type { NormalizedListStart } from './list-start.js';
import { isObject } from './rollout-item.js';
import { sessionSourceKey, sourceMatches } from './session-source.js';
import type { SessionSourceFilter } from './session-source.js';
import type { CountThreadsParams, ListThreadsParams, SortDirection, StoredThread, ThreadSortKey } from './types.js';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from './types.js';

/**
 * A listing's parameters with defaults applied and checked.
 *
 * @internal
 */
export interface NormalizedListParams {
  pageSize: number;
  sortKey: ThreadSortKey;
  sortDirection: SortDirection;
  allowedSources: readonly SessionSourceFilter[] | undefined;
  /** null = every provider; otherwise the providers a thread must have. */
  modelProviders: readonly string[] | null;
  cwdFilters: readonly string[] | null;
  archived: boolean;
  searchTerm: string | null;
  /** Where the listing starts (ListThreadsParams.start), or null. */
  start: NormalizedListStart | null;
  /** Fingerprint of the filters, stored in cursors. */
  filters: string;
}

const SORT_KEYS: readonly ThreadSortKey[] = ['createdAt', 'updatedAt', 'recencyAt'];

/**
 * Applies defaults and validates a listing's parameters. `modelProviders` absent means the
 * store's default provider; `[]` means every provider.
 *
 * @internal
 */
export function normalizeListParams(params: ListThreadsParams, defaultModelProvider: string): NormalizedListParams {
  const p = params ?? {};
  const pageSize = p.pageSize ?? DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_PAGE_SIZE)
    throw ThreadStoreError.invalidRequest(
      `pageSize must be an integer from 1 to ${MAX_PAGE_SIZE}, got ${String(pageSize)}`,
    );
  const sortKey = p.sortKey ?? 'createdAt';
  if (!SORT_KEYS.includes(sortKey))
    throw ThreadStoreError.invalidRequest(`sortKey must be one of ${SORT_KEYS.join(', ')}, got ${String(sortKey)}`);
  const sortDirection = p.sortDirection ?? 'desc';
  if (sortDirection !== 'asc' && sortDirection !== 'desc')
    throw ThreadStoreError.invalidRequest(`sortDirection must be asc or desc, got ${String(sortDirection)}`);
  checkFilterList(
    p.allowedSources,
    'allowedSources',
    (v) => typeof v === 'string' || (isObject(v) && typeof v.kind === 'string'),
    'a source kind or a SessionSource',
  );
  checkFilterList(p.modelProviders, 'modelProviders', (v) => typeof v === 'string', 'a string');
  checkFilterList(p.cwdFilters, 'cwdFilters', (v) => typeof v === 'string', 'a string');
  const modelProviders =
    p.modelProviders == null ? [defaultModelProvider] : p.modelProviders.length === 0 ? null : [...p.modelProviders];
  const cwdFilters = p.cwdFilters == null ? null : [...p.cwdFilters];
  const archived = p.archived === true;
  const searchTerm = p.searchTerm == null || p.searchTerm === '' ? null : p.searchTerm;
  const allowedSources = p.allowedSources == null || p.allowedSources.length === 0 ? undefined : p.allowedSources;
  const start = normalizeListStart(p.start);
  const fingerprint: unknown[] = [
    allowedSources?.map((f) => (typeof f === 'string' ? f : sessionSourceKey(f))).sort() ?? null,
    modelProviders ? [...modelProviders].sort() : null,
    cwdFilters ? [...cwdFilters].sort() : null,
    archived,
    searchTerm,
  ];
  // Only a started listing adds its start, so cursors of unstarted listings keep their form.
  if (start) fingerprint.push([start.at, start.inclusive, start.threadId]);
  const filters = JSON.stringify(fingerprint);
  return {
    pageSize,
    sortKey,
    sortDirection,
    allowedSources,
    modelProviders,
    cwdFilters,
    archived,
    searchTerm,
    start,
    filters,
  };
}

/**
 * The filters of a count with defaults applied and checked: `normalizeListParams` without the
 * paging and order fields, which a count ignores.
 *
 * @internal
 */
export function normalizeCountParams(params: CountThreadsParams, defaultModelProvider: string): NormalizedListParams {
  const { allowedSources, modelProviders, cwdFilters, archived, searchTerm } = params ?? {};
  const list: ListThreadsParams = {};
  if (allowedSources !== undefined) list.allowedSources = allowedSources;
  if (modelProviders !== undefined) list.modelProviders = modelProviders;
  if (cwdFilters !== undefined) list.cwdFilters = cwdFilters;
  if (archived !== undefined) list.archived = archived;
  if (searchTerm !== undefined) list.searchTerm = searchTerm;
  return normalizeListParams(list, defaultModelProvider);
}

/** @internal */
export function sortValue(thread: StoredThread, key: ThreadSortKey): number {
  return thread[key].getTime();
}

/**
 * Compares two threads in listing order (sort value, then thread id, in the given direction).
 *
 * @internal
 */
export function compareThreads(a: StoredThread, b: StoredThread, key: ThreadSortKey, dir: SortDirection): number {
  const av = sortValue(a, key);
  const bv = sortValue(b, key);
  const c = av !== bv ? av - bv : a.threadId < b.threadId ? -1 : a.threadId > b.threadId ? 1 : 0;
  return dir === 'asc' ? c : -c;
}

/**
 * Whether a thread passes a listing's filters (everything but paging).
 *
 * @internal
 */
export function threadMatchesFilters(t: StoredThread, p: NormalizedListParams): boolean {
  if (p.archived !== (t.archivedAt !== null)) return false;
  if (t.preview === '') return false;
  if (!sourceMatches(t.source, p.allowedSources)) return false;
  if (p.modelProviders && !p.modelProviders.includes(t.modelProvider)) return false;
  if (p.cwdFilters && !p.cwdFilters.includes(t.cwd)) return false;
  if (p.searchTerm !== null) {
    const term = p.searchTerm.toLowerCase();
    const hay = [t.name ?? '', t.preview].map((s) => s.toLowerCase());
    if (!hay.some((s) => s.includes(term))) return false;
  }
  if (p.start && !passesStart(sortValue(t, p.sortKey), t.threadId, p.start, p.sortDirection)) return false;
  return true;
}

/** @internal */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
  backwardsCursor: string | null;
}

/**
 * Keyset paging over threads already filtered and sorted in listing order. Stores that filter in
 * memory use it directly; it also defines what a cursor means for stores that page in SQL.
 *
 * @internal
 */
export function paginateSorted<T>(
  sorted: readonly T[],
  threadOf: (item: T) => StoredThread,
  p: NormalizedListParams,
  storeKind: string,
  cursor: string | null | undefined,
): Page<T> {
  const expect = { store: storeKind, sortKey: p.sortKey, sortDirection: p.sortDirection, filters: p.filters };
  const mk = (t: StoredThread, towards: 'next' | 'prev'): string =>
    encodeListCursor({ ...expect, towards, value: sortValue(t, p.sortKey), threadId: t.threadId });
  const cmpAnchor = (t: StoredThread, value: number, id: string): number => {
    const v = sortValue(t, p.sortKey);
    const c = v !== value ? v - value : t.threadId < id ? -1 : t.threadId > id ? 1 : 0;
    return p.sortDirection === 'asc' ? c : -c;
  };
  if (cursor == null || cursor === '') {
    const items = sorted.slice(0, p.pageSize);
    const last = items[items.length - 1];
    return {
      items,
      nextCursor: sorted.length > p.pageSize && last ? mk(threadOf(last), 'next') : null,
      backwardsCursor: null,
    };
  }
  const c = decodeListCursor(cursor, expect);
  if (c.towards === 'next') {
    const start = sorted.findIndex((x) => cmpAnchor(threadOf(x), c.value, c.threadId) > 0);
    const from = start < 0 ? sorted.length : start;
    const items = sorted.slice(from, from + p.pageSize);
    const first = items[0];
    const last = items[items.length - 1];
    return {
      items,
      nextCursor: from + p.pageSize < sorted.length && last ? mk(threadOf(last), 'next') : null,
      backwardsCursor:
        from > 0 ? (first ? mk(threadOf(first), 'prev') : encodeListCursor({ ...c, towards: 'prev' })) : null,
    };
  }
  let end = sorted.findIndex((x) => cmpAnchor(threadOf(x), c.value, c.threadId) >= 0);
  if (end < 0) end = sorted.length;
  const from = Math.max(0, end - p.pageSize);
  const items = sorted.slice(from, end);
  const first = items[0];
  const last = items[items.length - 1];
  return {
    items,
    nextCursor:
      end < sorted.length ? (last ? mk(threadOf(last), 'next') : encodeListCursor({ ...c, towards: 'next' })) : null,
    backwardsCursor: from > 0 && first ? mk(threadOf(first), 'prev') : null,
  };
}
