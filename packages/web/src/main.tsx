import { QueryCache, QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { isNotFound, isUnauthenticated } from './api.js';
import { App } from './App.js';
import { authState } from './auth-state.js';
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

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <App />
    </QueryClientProvider>
  </StrictMode>,
);
