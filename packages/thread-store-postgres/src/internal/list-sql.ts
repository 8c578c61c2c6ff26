import {
  DEFAULT_LIST_SOURCES,
  decodeListCursor,
  encodeListCursor,
  sessionSourceKey,
  sessionSourceKinds,
  startCondition,
} from '@skein/thread-store-api';
import { withoutNul } from './text.js';
import type { ListCursor, NormalizedListParams, SessionSource, ThreadSortKey } from '@skein/thread-store-api';

/**
 * Listing pages as SQL: the filters of the api's `threadMatchesFilters` as a WHERE clause over
 * `skein_threads`, the order of `compareThreads` as ORDER BY (sort ms, thread id — thread ids
 * are `COLLATE "C"`, so they compare as JavaScript strings do), and the keyset cursors of
 * `paginateSorted` as row-value comparisons. One statement per page: it walks one of the
 * (tenant, archived, sort, id) indexes from the anchor and stops after pageSize + 1 rows; the
 * "is there anything on the other side of the anchor" probe that decides the other cursor is
 * a LIMIT 1 subquery in the same statement.
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

/**
 * Collects positional parameters ($1, $2, …) while a statement is built. Strings lose NULs as
 * the stored columns do (PostgreSQL text cannot hold them), so filters compare like with like.
 */
export class Params {
  readonly values: unknown[] = [];
  add(v: unknown): string {
    const clean = (x: unknown): unknown => (typeof x === 'string' ? withoutNul(x) : x);
    this.values.push(Array.isArray(v) ? v.map(clean) : clean(v));
    return `$${this.values.length}`;
  }
}

/** Escapes `%`, `_` and `\` for a LIKE pattern (backslash is PostgreSQL's default escape). */
export function likeContains(lowercased: string): string {
  return `%${lowercased.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/**
 * The conditions `threadMatchesFilters` applies, over `skein_threads t`, or null when nothing
 * can match. `extra` adds a caller's condition (content search).
 */
export function filterSql(tenant: string, p: NormalizedListParams, params: Params, extra?: string): string | null {
  if (p.cwdFilters && p.cwdFilters.length === 0) return null;
  if (p.modelProviders && p.modelProviders.length === 0) return null;
  // has_preview is spelled out so the planner can use the partial listing indexes.
  const where = [`t.tenant = ${params.add(tenant)}`, `t.archived = ${params.add(p.archived)}`, 't.has_preview'];
  const list = p.allowedSources ?? DEFAULT_LIST_SOURCES;
  const kinds = list.filter((f) => typeof f === 'string');
  const keys = list.filter((f) => typeof f !== 'string').map((f) => sessionSourceKey(f));
  const alts: string[] = [];
  if (kinds.length > 0) {
    const k = params.add(kinds);
    alts.push(`t.source_kind = ANY(${k}::text[])`, `t.subagent_kind = ANY(${k}::text[])`);
  }
  if (keys.length > 0) alts.push(`t.source_key = ANY(${params.add(keys)}::text[])`);
  where.push(alts.length > 0 ? `(${alts.join(' OR ')})` : 'false');
  if (p.modelProviders) where.push(`t.model_provider = ANY(${params.add(p.modelProviders)}::text[])`);
  if (p.cwdFilters) where.push(`t.cwd = ANY(${params.add(p.cwdFilters)}::text[])`);
  if (p.searchTerm !== null) {
    // strpos on JS-lowercased columns: exactly `includes` of `toLowerCase`, no pattern escaping.
    const term = params.add(p.searchTerm.toLowerCase());
    where.push(`(strpos(t.name_lc, ${term}) > 0 OR strpos(t.preview_lc, ${term}) > 0)`);
  }
  // A listing's start: a row-value bound on the same (sort, id) index the page walks.
  if (p.start)
    where.push(
      startCondition(p.start, p.sortDirection, `t.${SORT_COLUMN[p.sortKey]}`, 't.thread_id', (v) => params.add(v)),
    );
  if (extra !== undefined) where.push(extra);
  return where.join(' AND ');
}

export interface PageRow {
  thread_id: string;
  sort_ms: string | number;
  thread: string;
}

export interface PageQuery {
  text: string;
  values: unknown[];
  /** Turns the statement's rows into the page. */
  finish<R extends PageRow>(
    rows: readonly (R & { other?: boolean | null })[],
  ): {
    rows: R[];
    nextCursor: string | null;
    backwardsCursor: string | null;
  };
}

/**
 * The one statement of a listing page. `buildFilter` adds the WHERE clause (null: nothing
 * matches, and no statement is needed).
 */
export function pageQuery(
  p: NormalizedListParams,
  storeKind: string,
  cursor: string | null | undefined,
  buildFilter: (params: Params) => string | null,
  select = 't.thread_id, t.thread',
): PageQuery | { empty: true } {
  const expect = { store: storeKind, sortKey: p.sortKey, sortDirection: p.sortDirection, filters: p.filters };
  // Decode first: a bad cursor is invalid_request even when nothing can match.
  const c: ListCursor | null = cursor == null || cursor === '' ? null : decodeListCursor(cursor, expect);
  const params = new Params();
  const where = buildFilter(params);
  if (where === null) return { empty: true };
  const col = `t.${SORT_COLUMN[p.sortKey]}`;
  const desc = p.sortDirection === 'desc';
  const after = desc ? '<' : '>';
  const before = desc ? '>' : '<';
  const fwd = desc ? 'DESC' : 'ASC';
  const rev = desc ? 'ASC' : 'DESC';
  const limit = params.add(p.pageSize + 1);
  const mk = (r: PageRow, towards: 'next' | 'prev'): string =>
    encodeListCursor({ ...expect, towards, value: Number(r.sort_ms), threadId: r.thread_id });
  const trim = <R>(rows: readonly R[]): { rows: R[]; more: boolean } => {
    const out = rows.slice(0, p.pageSize);
    return { rows: out, more: rows.length > p.pageSize };
  };
  const page = (cmp: string | null, dir: string): string =>
    `SELECT ${select}, ${col} AS sort_ms FROM skein_threads t WHERE ${where}` +
    (cmp === null ? '' : ` AND (${col}, t.thread_id) ${cmp} (${anchor.value}, ${anchor.id})`) +
    ` ORDER BY ${col} ${dir}, t.thread_id ${dir} LIMIT ${limit}`;
  const anchor = c ? { value: params.add(c.value), id: params.add(c.threadId) } : { value: '', id: '' };

  if (!c) {
    return {
      text: page(null, fwd),
      values: params.values,
      finish: (all) => {
        const { rows, more } = trim(all);
        const last = rows[rows.length - 1];
        return { rows, nextCursor: more && last ? mk(last, 'next') : null, backwardsCursor: null };
      },
    };
  }
  // paginateSorted: going forward, a backwards cursor exists when any thread sorts at or before
  // the anchor; going back, a next cursor when any sorts at or after it.
  // The probe is an ordered LIMIT 1 from the anchor (not EXISTS, which the planner may answer
  // with a sequential scan it expects to stop early), so it walks the same index a few entries.
  const probe = (op: string, dir: string): string =>
    `SELECT (SELECT true FROM skein_threads t WHERE ${where} AND (${col}, t.thread_id) ${op} (${anchor.value}, ${anchor.id})` +
    ` ORDER BY ${col} ${dir}, t.thread_id ${dir} LIMIT 1) AS other`;
  const withProbe = (probeSql: string, inner: string): string =>
    `SELECT p.*, o.other FROM (${probeSql}) o LEFT JOIN LATERAL (${inner}) p ON true`;
  if (c.towards === 'next') {
    return {
      text: withProbe(probe(`${before}=`, rev), page(after, fwd)),
      values: params.values,
      finish: (all) => {
        const other = all[0]?.other === true;
        const { rows, more } = trim(all.filter((r) => r.thread_id !== null));
        const first = rows[0];
        const last = rows[rows.length - 1];
        return {
          rows,
          nextCursor: more && last ? mk(last, 'next') : null,
          backwardsCursor: other ? (first ? mk(first, 'prev') : encodeListCursor({ ...c, towards: 'prev' })) : null,
        };
      },
    };
  }
  return {
    text: withProbe(probe(`${after}=`, fwd), page(before, rev)),
    values: params.values,
    finish: (all) => {
      const other = all[0]?.other === true;
      const { rows, more } = trim(all.filter((r) => r.thread_id !== null));
      rows.reverse();
      const first = rows[0];
      const last = rows[rows.length - 1];
      return {
        rows,
        nextCursor: other ? (last ? mk(last, 'next') : encodeListCursor({ ...c, towards: 'next' })) : null,
        backwardsCursor: more && first ? mk(first, 'prev') : null,
      };
    },
  };
}
