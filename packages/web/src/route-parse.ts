// No React here: the page's first module parses the route before React's code is evaluated.

/** Every view has its own URL, so any of them can be bookmarked or shared. */
export type Route =
  | { view: 'list'; query: URLSearchParams }
  | { view: 'search'; q: string }
  | { view: 'thread'; threadId: string; turn: string | null; q: string | null };

export function parseRoute(loc: { pathname: string; search: string }): Route {
  const query = new URLSearchParams(loc.search);
  const m = /^\/t\/([^/]+)\/?$/.exec(loc.pathname);
  if (m) return { view: 'thread', threadId: decodeURIComponent(m[1]!), turn: query.get('turn'), q: query.get('q') };
  if (loc.pathname === '/search') return { view: 'search', q: query.get('q') ?? '' };
  return { view: 'list', query };
}
