import { useEffect, useState } from 'react';
import { parseRoute, type Route } from './route-parse.js';

export { parseRoute, type Route };

const CHANGE = 'skein:navigate';

export function navigate(url: string, replace = false): void {
  if (replace) window.history.replaceState(null, '', url);
  else window.history.pushState(null, '', url);
  window.dispatchEvent(new Event(CHANGE));
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(window.location));
  useEffect(() => {
    const update = (): void => setRoute(parseRoute(window.location));
    window.addEventListener('popstate', update);
    window.addEventListener(CHANGE, update);
    return () => {
      window.removeEventListener('popstate', update);
      window.removeEventListener(CHANGE, update);
    };
  }, []);
  return route;
}

export const threadUrl = (threadId: string, extra: Record<string, string> = {}): string => {
  const q = new URLSearchParams(extra).toString();
  return `/t/${encodeURIComponent(threadId)}${q ? `?${q}` : ''}`;
};

/** A same-origin link click without modifier keys is handled in the page, not by a reload. */
export function onLinkClick(e: React.MouseEvent<HTMLAnchorElement>): void {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  e.preventDefault();
  navigate(e.currentTarget.getAttribute('href') ?? '/');
}
