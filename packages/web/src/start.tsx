import { QueryCache, QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { isNotFound, isUnauthenticated } from './api.js';
import { App } from './App.js';
import { authState } from './auth-state.js';
import { prefetchThread } from './thread-queries.js';
import { loadThreadView } from './thread-view-loader.js';
import type { Route } from './route.js';
import { listQuery } from './ThreadList.js';
import './styles.css';

const queryClient = new QueryClient({
  queryCache: new QueryCache({
    // Any call refused for its token opens the token prompt.
    onError: (e) => {
      if (isUnauthenticated(e)) authState.refused(e);
    },
  }),
  defaultOptions: {
    queries: {
      retry: (count, e) => !isUnauthenticated(e) && !isNotFound(e) && count < 2,
      refetchOnWindowFocus: false,
      staleTime: 5_000,
    },
  },
});

/** Renders the page, after asking for the first view's data. */
export async function start(first: Route): Promise<void> {
  // When the page's own code began (after React and the rest were evaluated), for timing tools.
  performance.mark('skein:start');
  // The first view's data is asked for now, while React renders the page around it. On a thread,
  // main.ts has already started its calls and the thread view's code; these queries take them over.
  if (first.view === 'list') void queryClient.prefetchInfiniteQuery(listQuery(first.query));
  if (first.view === 'thread') {
    prefetchThread(queryClient, first.threadId);
    // The first render waits for the thread view's code (its data is already on its way), so
    // the page goes straight to the thread without a loading step.
    await loadThreadView().catch(() => undefined);
  }

  createRoot(document.getElementById('root')!).render(
    <StrictMode>
      <QueryClientProvider client={queryClient}>
        <App />
      </QueryClientProvider>
    </StrictMode>,
  );
}
