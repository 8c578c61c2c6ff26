/**
 * The page's entry. It holds only the Connect client and the first view's calls: on a thread's
 * URL the thread's metadata, its first turn page and the thread view's code are on their way
 * before React and the rest of the page (start.tsx) are loaded and evaluated, so the data waits
 * for nobody.
 */
import { parseRoute } from './route-parse.js';
import { startThreadReads } from './thread-queries.js';
import { loadThreadView } from './thread-view-loader.js';

const first = parseRoute(window.location);
if (first.view === 'thread') {
  startThreadReads(first.threadId);
  loadThreadView().catch(() => undefined);
}

const { start } = await import('./start.js');
await start(first);
