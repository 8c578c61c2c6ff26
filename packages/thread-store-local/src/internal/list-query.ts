import {
  DEFAULT_LIST_SOURCES,
  decodeListCursor,
  encodeListCursor,
  sessionSourceKey,
  sessionSourceKinds,
  startCondition,
} from '@skein/thread-store-api';
import type { ListCursor, NormalizedListParams, SessionSource, ThreadSortKey } from '@skein/thread-store-api';

/**
 * Listing pages as SQL: the filters of `threadMatchesFilters` (a listing's start included) as a
 * WHERE clause over the `threads` columns, the order of `compareThreads` as ORDER BY (sort ms, thread id), and the
 * keyset cursors of `paginateSorted` as row-value comparisons with LIMIT pageSize + 1. The pages
 * are exactly those `paginateSorted` produces over the same threads (the conformance suite and
 * test/list-query.test.ts compare them), but cost O(page) instead of O(threads).
 */

/** `source_kind`, `subagent_kind`, `source_key` of a thread's source (see sourceMatches). */
export function sourceColumns(source: SessionSource): [string, string | null, string] {
  const kinds = sessionSourceKinds(source);
  return [kinds[0] ?? source.kind, kinds[1] ?? null, sessionSourceKey(source)];
}

const SORT_COLUMN: Record<ThreadSortKey, string> = {
  createdAt: 'created_ms',
  updatedAt: 'updated_ms',
  recencyAt: 'recency_ms',
};

export interface SqlFilter {
  /** `t.`-qualified conditions joined with AND. */
  where: string;
  args: unknown[];
}

/**
 * The conditions `threadMatchesFilters` applies, over `threads t`. `extra` adds a caller's
 * condition (content search restricts to threads whose file has a matching message).
 */
export function filterSql(p: NormalizedListParams, extra?: SqlFilter): SqlFilter | null {
  if (p.cwdFilters && p.cwdFilters.length === 0) return null; // no cwd matches
  const where = ['t.archived = ?', 't.listable = 1', 't.has_preview = 1'];
  const args: unknown[] = [p.archived ? 1 : 0];
  const list = p.allowedSources ?? DEFAULT_LIST_SOURCES;
  const kinds = list.filter((f) => typeof f === 'string') as string[];
  const keys = list.filter((f) => typeof f !== 'string').map((f) => sessionSourceKey(f as SessionSource));
  const alts: string[] = [];
  if (kinds.length > 0) {
    const q = kinds.map(() => '?').join(',');
    alts.push(`t.source_kind IN (${q})`, `t.subagent_kind IN (${q})`);
    args.push(...kinds, ...kinds);
  }
  if (keys.length > 0) {
    alts.push(`t.source_key IN (${keys.map(() => '?').join(',')})`);
    args.push(...keys);
  }
  where.push(alts.length > 0 ? `(${alts.join(' OR ')})` : '0');
  if (p.modelProviders) {
    if (p.modelProviders.length === 0) return null;
    where.push(`t.model_provider IN (${p.modelProviders.map(() => '?').join(',')})`);
    args.push(...p.modelProviders);
  }
  if (p.cwdFilters) {
    where.push(`t.cwd IN (${p.cwdFilters.map(() => '?').join(',')})`);
    args.push(...p.cwdFilters);
  }
  if (p.searchTerm !== null) {
    // instr on JS-lowercased columns: exactly `includes` of `toLowerCase`, no pattern escaping.
    const term = p.searchTerm.toLowerCase();
    where.push('(instr(t.name_lc, ?) > 0 OR instr(t.preview_lc, ?) > 0)');
    args.push(term, term);
  }
  if (p.start) {
    const bind = (v: unknown): string => {
      args.push(v);
      return '?';
    };
    where.push(startCondition(p.start, p.sortDirection, `t.${SORT_COLUMN[p.sortKey]}`, 't.thread_id', bind));
  }
  if (extra) {
    where.push(extra.where);
    args.push(...extra.args);
  }
  return { where: where.join(' AND '), args };
}

/**
 * How many threads match a listing's filters: one query over the same WHERE clause the pages use.
 * Filters on the grouped columns alone (source, provider, archived: what `skein threads list`
 * counts for its footer) sum the `thread_counts` groups (thread-counts.ts); a cwd, search or
 * start filter counts from the `threads_by_source` index, reading rows only for the cwd or search
 * columns. `get(sql, args)` runs a statement and returns its one row.
 */
export function countSql(
  p: NormalizedListParams,
  filter: SqlFilter | null,
  get: (sql: string, args: unknown[]) => { n: number | null },
): number {
  if (!filter) return 0;
  if (p.cwdFilters === null && p.searchTerm === null && p.start === null)
    return get(`SELECT sum(t.n) AS n FROM thread_counts t WHERE ${filter.where}`, filter.args).n ?? 0;
  // Every filter includes the partial index's own condition, so the hint always applies; without
  // it SQLite walks a paging index and reads each row to test its source.
  return (
    get(`SELECT count(*) AS n FROM threads t INDEXED BY threads_by_source WHERE ${filter.where}`, filter.args).n ?? 0
  );
}

/**
 * The bytes on disk of the rollout files of the threads a listing's filters match (each thread's
 * own file, as last indexed), one SUM over the same WHERE clause.
 */
export function bytesSql(
  filter: SqlFilter | null,
  get: (sql: string, args: unknown[]) => { n: number | null },
): number {
  if (!filter) return 0;
  return (
    get(`SELECT sum(f.size) AS n FROM threads t JOIN files f ON f.rel = t.rel WHERE ${filter.where}`, filter.args).n ??
    0
  );
}

export interface PageRow {
  thread_id: string;
  sort_ms: number;
}

export interface SqlPage<R extends PageRow> {
  rows: R[];
  nextCursor: string | null;
  backwardsCursor: string | null;
}

/**
 * Runs one page. `select` is the column list (it must include `t.thread_id`), `from` the tables
 * (aliasing `threads` as `t`); `query(sql, args)` runs a statement and returns its rows.
 */
export function pageSql<R extends PageRow>(
  p: NormalizedListParams,
  storeKind: string,
  cursor: string | null | undefined,
  filter: SqlFilter | null,
  select: string,
  query: (sql: string, args: unknown[]) => R[],
  exists: (sql: string, args: unknown[]) => boolean,
): SqlPage<R> {
  const expect = { store: storeKind, sortKey: p.sortKey, sortDirection: p.sortDirection, filters: p.filters };
  // Decode first: a bad cursor is invalid_request even when nothing can match.
  const c: ListCursor | null = cursor == null || cursor === '' ? null : decodeListCursor(cursor, expect);
  if (!filter) {
    if (!c) return { rows: [], nextCursor: null, backwardsCursor: null };
    // Nothing matches: the page is empty; paginateSorted still hands back the anchor one way.
    return {
      rows: [],
      nextCursor: null,
      backwardsCursor: null,
    };
  }
  const col = `t.${SORT_COLUMN[p.sortKey]}`;
  const desc = p.sortDirection === 'desc';
  // "After" = later in listing order.
  const after = desc ? '<' : '>';
  const before = desc ? '>' : '<';
  const fwd = desc ? 'DESC' : 'ASC';
  const rev = desc ? 'ASC' : 'DESC';
  const base = `SELECT ${select}, ${col} AS sort_ms FROM threads t WHERE ${filter.where}`;
  const mk = (r: R, towards: 'next' | 'prev'): string =>
    encodeListCursor({ ...expect, towards, value: r.sort_ms, threadId: r.thread_id });
  const limit = p.pageSize + 1;

  if (!c) {
    const rows = query(`${base} ORDER BY ${col} ${fwd}, t.thread_id ${fwd} LIMIT ?`, [...filter.args, limit]);
    const more = rows.length > p.pageSize;
    if (more) rows.length = p.pageSize;
    const last = rows[rows.length - 1];
    return { rows, nextCursor: more && last ? mk(last, 'next') : null, backwardsCursor: null };
  }
  const anchor = [c.value, c.threadId];
  const anyAt = (op: string): boolean =>
    exists(`SELECT 1 FROM threads t WHERE ${filter.where} AND (${col}, t.thread_id) ${op} (?, ?) LIMIT 1`, [
      ...filter.args,
      ...anchor,
    ]);
  if (c.towards === 'next') {
    const rows = query(
      `${base} AND (${col}, t.thread_id) ${after} (?, ?) ORDER BY ${col} ${fwd}, t.thread_id ${fwd} LIMIT ?`,
      [...filter.args, ...anchor, limit],
    );
    const more = rows.length > p.pageSize;
    if (more) rows.length = p.pageSize;
    const first = rows[0];
    const last = rows[rows.length - 1];
    // paginateSorted: a backwards cursor exists when any thread sorts at or before the anchor.
    const hasBefore = anyAt(`${before}=`);
    return {
      rows,
      nextCursor: more && last ? mk(last, 'next') : null,
      backwardsCursor: hasBefore ? (first ? mk(first, 'prev') : encodeListCursor({ ...c, towards: 'prev' })) : null,
    };
  }
  const rows = query(
    `${base} AND (${col}, t.thread_id) ${before} (?, ?) ORDER BY ${col} ${rev}, t.thread_id ${rev} LIMIT ?`,
    [...filter.args, ...anchor, limit],
  );
  const more = rows.length > p.pageSize;
  if (more) rows.length = p.pageSize;
  rows.reverse();
  const first = rows[0];
  const last = rows[rows.length - 1];
  const hasAtOrAfter = anyAt(`${after}=`);
  return {
    rows,
    nextCursor: hasAtOrAfter ? (last ? mk(last, 'next') : encodeListCursor({ ...c, towards: 'next' })) : null,
    backwardsCursor: more && first ? mk(first, 'prev') : null,
  };
}
