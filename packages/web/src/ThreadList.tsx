import { create } from '@bufbuild/protobuf';
import { useInfiniteQuery } from '@tanstack/react-query';
import { useVirtualizer } from '@tanstack/react-virtual';
import { useEffect, useRef, useState } from 'react';
import { api, errorText } from './api.js';
import { isTyping } from './App.js';
import { absoluteTime, ms, relativeTime, sourceName, title } from './format.js';
import type { ListFilters, ListThreadsResponse } from './gen/skein/threadstore/v1/thread_store_pb.js';
import { ListFiltersSchema, SortDirection, ThreadSortKey } from './gen/skein/threadstore/v1/thread_store_pb.js';
import type { StoredThread } from './gen/skein/threadstore/v1/types_pb.js';
import { navigate, onLinkClick, threadUrl } from './route.js';

const PAGE_SIZE = 100;
const SOURCE_KINDS = [
  'cli',
  'vscode',
  'exec',
  'mcp',
  'custom',
  'internal',
  'subagent',
  'subagent_review',
  'subagent_compact',
  'subagent_thread_spawn',
  'subagent_other',
  'unknown',
];
const SORT_KEYS = {
  created: ThreadSortKey.CREATED_AT,
  updated: ThreadSortKey.UPDATED_AT,
  recency: ThreadSortKey.RECENCY_AT,
};
type SortName = keyof typeof SORT_KEYS;
const list = (v: string | null): string[] =>
  (v ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');

/** The list's filters and sort, read from the URL (so every listing is a deep link). */
export function filtersOf(query: URLSearchParams): {
  filters: Omit<ListFilters, '$typeName' | 'cursor'>;
  searchTerm: string;
  sort: SortName;
  dir: 'asc' | 'desc';
} {
  const sortRaw = query.get('sort');
  const sort: SortName = sortRaw === 'created' || sortRaw === 'recency' ? sortRaw : 'updated';
  const dir = query.get('dir') === 'asc' ? 'asc' : 'desc';
  const cwd = list(query.get('cwd'));
  const f = create(ListFiltersSchema, {
    pageSize: PAGE_SIZE,
    sortKey: SORT_KEYS[sort],
    sortDirection: dir === 'asc' ? SortDirection.ASC : SortDirection.DESC,
    allowedSources: list(query.get('source')).map((kind) => ({ filter: { case: 'kind' as const, value: kind } })),
    // No provider named: every provider (a browser shows the whole store).
    modelProviders: { values: list(query.get('provider')) },
    ...(cwd.length > 0 ? { cwdFilters: { values: cwd } } : {}),
    archived: query.get('archived') === '1',
  });
  return { filters: f, searchTerm: query.get('q') ?? '', sort, dir };
}

/** The list's pages for the filters, sort and text in the URL's query. */
export function listQuery(query: URLSearchParams) {
  const { filters, searchTerm } = filtersOf(query);
  return {
    queryKey: ['threads', query.toString()],
    queryFn: ({ pageParam, signal }: { pageParam: string; signal: AbortSignal }) =>
      api.listThreads(
        {
          filters: { ...filters, ...(pageParam ? { cursor: pageParam } : {}) },
          ...(searchTerm.trim() ? { searchTerm: searchTerm.trim() } : {}),
        },
        { signal },
      ),
    initialPageParam: '',
    getNextPageParam: (last: ListThreadsResponse) => last.nextCursor,
  };
}

export function ThreadList({ query }: { query: URLSearchParams }) {
  const { sort, dir } = filtersOf(query);
  const key = query.toString();
  const threads = useInfiniteQuery(listQuery(query));
  const rows: StoredThread[] = threads.data?.pages.flatMap((p) => p.threads) ?? [];
  const hasMore = threads.hasNextPage;

  const scrollRef = useRef<HTMLDivElement>(null);
  const virtual = useVirtualizer({
    count: rows.length + (hasMore ? 1 : 0),
    getScrollElement: () => scrollRef.current,
    estimateSize: () => 72,
    overscan: 10,
  });
  const items = virtual.getVirtualItems();
  const lastIndex = items.at(-1)?.index ?? -1;
  useEffect(() => {
    // Infinite scroll: the next page as soon as its placeholder row comes into view.
    if (lastIndex >= rows.length - 1 && hasMore && !threads.isFetchingNextPage) void threads.fetchNextPage();
  }, [lastIndex, rows.length, hasMore, threads]);

  // Keyboard: j / k move, Enter opens, Esc leaves the selection.
  const [selected, setSelected] = useState(-1);
  useEffect(() => setSelected(-1), [key]);
  useEffect(() => {
    const onKey = (e: KeyboardEvent): void => {
      if (isTyping(e.target) || e.metaKey || e.ctrlKey || e.altKey) return;
      if (e.key === 'j' || e.key === 'k') {
        const next = Math.max(0, Math.min(rows.length - 1, selected + (e.key === 'j' ? 1 : -1)));
        setSelected(next);
        virtual.scrollToIndex(next, { align: 'auto' });
      } else if (e.key === 'Enter' && selected >= 0 && rows[selected]) {
        navigate(threadUrl(rows[selected].threadId));
      } else if (e.key === 'Escape') setSelected(-1);
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [rows, selected, virtual]);

  const set = (name: string, value: string): void => {
    const q = new URLSearchParams(query);
    if (value === '') q.delete(name);
    else q.set(name, value);
    const s = q.toString();
    navigate(s ? `/?${s}` : '/', true);
  };

  return (
    <section className="list" aria-label="Threads">
      <form className="filters" aria-label="Filters" onSubmit={(e) => e.preventDefault()}>
        <FilterText label="Name or preview" name="q" value={query.get('q') ?? ''} onCommit={set} />
        <label>
          Source
          <select value={query.get('source') ?? ''} onChange={(e) => set('source', e.target.value)}>
            <option value="">interactive (cli, vscode)</option>
            {SOURCE_KINDS.map((k) => (
              <option key={k} value={k}>
                {k}
              </option>
            ))}
          </select>
        </label>
        <FilterText label="Provider" name="provider" value={query.get('provider') ?? ''} onCommit={set} />
        <FilterText label="Working directory" name="cwd" value={query.get('cwd') ?? ''} onCommit={set} />
        <label>
          Sort
          <select value={sort} onChange={(e) => set('sort', e.target.value === 'updated' ? '' : e.target.value)}>
            <option value="updated">updated</option>
            <option value="created">created</option>
            <option value="recency">recency</option>
          </select>
        </label>
        <label>
          Order
          <select value={dir} onChange={(e) => set('dir', e.target.value === 'desc' ? '' : e.target.value)}>
            <option value="desc">newest first</option>
            <option value="asc">oldest first</option>
          </select>
        </label>
        <label className="check">
          <input
            type="checkbox"
            checked={query.get('archived') === '1'}
            onChange={(e) => set('archived', e.target.checked ? '1' : '')}
          />
          Archived
        </label>
      </form>
      {threads.isError && (
        <p className="error" role="alert">
          {errorText(threads.error)}
        </p>
      )}
      <p className="count" aria-live="polite">
        {threads.isPending
          ? 'Loading…'
          : `${rows.length}${hasMore ? '+' : ''} thread${rows.length === 1 ? '' : 's'}${hasMore ? '' : ' (end of list)'}`}
      </p>
      <div className="scroller" ref={scrollRef} data-testid="thread-scroller">
        <ol className="rows" style={{ height: virtual.getTotalSize() }}>
          {items.map((v) => {
            const t = rows[v.index];
            return (
              <li
                key={t?.threadId ?? 'more'}
                data-index={v.index}
                ref={virtual.measureElement}
                className={v.index === selected ? 'row selected' : 'row'}
                style={{ transform: `translateY(${v.start}px)` }}
                aria-current={v.index === selected ? 'true' : undefined}
              >
                {t ? <ThreadRow t={t} sort={sort} /> : <span className="more">Loading more…</span>}
              </li>
            );
          })}
        </ol>
      </div>
    </section>
  );
}

function FilterText(props: {
  label: string;
  name: string;
  value: string;
  onCommit: (name: string, v: string) => void;
}) {
  const [v, setV] = useState(props.value);
  useEffect(() => setV(props.value), [props.value]);
  // Filters apply when typing pauses, not on every key.
  useEffect(() => {
    if (v === props.value) return;
    const timer = setTimeout(() => props.onCommit(props.name, v.trim()), 300);
    return () => clearTimeout(timer);
  }, [v, props]);
  return (
    <label>
      {props.label}
      <input type="text" name={props.name} value={v} onChange={(e) => setV(e.target.value)} />
    </label>
  );
}

function ThreadRow({ t, sort }: { t: StoredThread; sort: SortName }) {
  const time = ms(sort === 'created' ? t.createdAtMs : sort === 'recency' ? t.recencyAtMs : t.updatedAtMs);
  return (
    <a href={threadUrl(t.threadId)} onClick={onLinkClick} className="thread-link">
      <span className="title">{title(t)}</span>
      <span className="meta">
        <time dateTime={new Date(time).toISOString()} title={absoluteTime(time)}>
          {relativeTime(time)}
        </time>
        <span className="cwd" title={t.cwd}>
          {t.cwd}
        </span>
        <span>{t.modelProvider}</span>
        {t.model && <span>{t.model}</span>}
        <span>{sourceName(t)}</span>
        {t.gitInfo?.branch && <span className="branch">⎇ {t.gitInfo.branch}</span>}
        {t.archivedAtMs !== undefined && <span className="badge">archived</span>}
      </span>
    </a>
  );
}
