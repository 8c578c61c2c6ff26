import { useInfiniteQuery } from '@tanstack/react-query';
import { api, errorText } from './api.js';
import { absoluteTime, ms, relativeTime, title } from './format.js';
import { SortDirection, ThreadSortKey } from './gen/skein/threadstore/v1/thread_store_pb.js';
import { highlight } from './highlight.js';
import { onLinkClick, threadUrl } from './route.js';

/** Content search: each match with its snippet, linking to the thread at the matching turn. */
export function SearchView({ q }: { q: string }) {
  const term = q.trim();
  const results = useInfiniteQuery({
    queryKey: ['search', term],
    enabled: term !== '',
    queryFn: ({ pageParam, signal }) =>
      api.searchThreads(
        {
          searchTerm: term,
          filters: {
            pageSize: 50,
            sortKey: ThreadSortKey.UPDATED_AT,
            sortDirection: SortDirection.DESC,
            modelProviders: { values: [] },
            ...(pageParam ? { cursor: pageParam } : {}),
          },
        },
        { signal },
      ),
    initialPageParam: '',
    getNextPageParam: (last) => last.nextCursor,
  });
  const matches = results.data?.pages.flatMap((p) => p.results) ?? [];
  return (
    <section className="search-results" aria-label="Search results">
      <h1>Search: {term}</h1>
      {results.isError && (
        <p className="error" role="alert">
          {errorText(results.error)}
        </p>
      )}
      {results.isSuccess && matches.length === 0 && <p>No thread contains “{term}”.</p>}
      <ol className="results">
        {matches.map(({ thread, snippet }) =>
          thread ? (
            <li key={thread.threadId}>
              <a href={threadUrl(thread.threadId, { q: term })} onClick={onLinkClick} className="thread-link">
                <span className="title">{title(thread)}</span>
                <span className="snippet">{highlight(snippet, term)}</span>
                <span className="meta">
                  <time title={absoluteTime(ms(thread.updatedAtMs))}>{relativeTime(ms(thread.updatedAtMs))}</time>
                  <span className="cwd">{thread.cwd}</span>
                </span>
              </a>
            </li>
          ) : null,
        )}
      </ol>
      {results.hasNextPage && (
        <button type="button" onClick={() => void results.fetchNextPage()} disabled={results.isFetchingNextPage}>
          More results
        </button>
      )}
    </section>
  );
}
