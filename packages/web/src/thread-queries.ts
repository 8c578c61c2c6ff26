import type { QueryClient } from '@tanstack/react-query';
import { api } from './api.js';
import { SortDirection, TurnItemsView } from './gen/skein/threadstore/v1/thread_store_pb.js';
import type { ListTurnsResponse } from './gen/skein/threadstore/v1/thread_store_pb.js';
import type { StoredThread } from './gen/skein/threadstore/v1/types_pb.js';

/** Turns per page: a huge thread shows its first turns at once and loads more on scroll. */
export const TURN_PAGE = 20;

async function readThread(threadId: string, signal: AbortSignal): Promise<StoredThread> {
  for await (const r of api.readThread({ threadId, includeArchived: true, includeHistory: false }, { signal }))
    if (r.part.case === 'thread') return r.part.value;
  throw new Error(`the server sent no thread ${threadId}`);
}

/** A thread's metadata (no history). */
export const threadQuery = (threadId: string) => ({
  queryKey: ['thread', threadId],
  queryFn: ({ signal }: { signal: AbortSignal }) => readThread(threadId, signal),
});

/** A thread's turn pages, oldest first, with their items. */
export const turnsQuery = (threadId: string) => ({
  queryKey: ['turns', threadId],
  queryFn: ({ pageParam, signal }: { pageParam: string; signal: AbortSignal }): Promise<ListTurnsResponse> =>
    api.listTurns(
      {
        threadId,
        includeArchived: true,
        pageSize: TURN_PAGE,
        sortDirection: SortDirection.ASC,
        itemsView: TurnItemsView.FULL,
        ...(pageParam ? { cursor: pageParam } : {}),
      },
      { signal },
    ),
  initialPageParam: '',
  getNextPageParam: (last: ListTurnsResponse) => last.nextCursor,
});

/**
 * Starts loading a thread's metadata and first turns while the thread view's own code is still
 * loading, so the two waits overlap instead of adding up.
 */
export function prefetchThread(client: QueryClient, threadId: string): void {
  void client.prefetchQuery(threadQuery(threadId));
  void client.prefetchInfiniteQuery(turnsQuery(threadId));
}
