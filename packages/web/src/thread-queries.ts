import type { QueryClient } from '@tanstack/react-query';
import { api } from './api.js';
import { SortDirection, TurnItemsView } from './gen/skein/threadstore/v1/thread_store_pb.js';
import type { ListTurnsResponse } from './gen/skein/threadstore/v1/thread_store_pb.js';
import type { StoredThread } from './gen/skein/threadstore/v1/types_pb.js';

/** Turns per page: a huge thread shows its first turns at once and loads more on scroll. */
export const TURN_PAGE = 20;

/**
 * Calls started before React's code was evaluated (`main.ts`), each taken once by the first
 * query that asks for the same data.
 */
const early = new Map<string, Promise<unknown>>();

function takeEarly<T>(key: string, start: () => Promise<T>): Promise<T> {
  const started = early.get(key) as Promise<T> | undefined;
  if (!started) return start();
  early.delete(key);
  return started;
}

async function readThread(threadId: string, signal: AbortSignal): Promise<StoredThread> {
  for await (const r of api.readThread({ threadId, includeArchived: true, includeHistory: false }, { signal }))
    if (r.part.case === 'thread') return r.part.value;
  throw new Error(`the server sent no thread ${threadId}`);
}

/** A thread's metadata (no history). */
export const threadQuery = (threadId: string) => ({
  queryKey: ['thread', threadId],
  queryFn: ({ signal }: { signal: AbortSignal }) => takeEarly(`thread:${threadId}`, () => readThread(threadId, signal)),
});

function listTurns(threadId: string, cursor: string, signal?: AbortSignal): Promise<ListTurnsResponse> {
  return api.listTurns(
    {
      threadId,
      includeArchived: true,
      pageSize: TURN_PAGE,
      sortDirection: SortDirection.ASC,
      itemsView: TurnItemsView.FULL,
      ...(cursor ? { cursor } : {}),
    },
    signal ? { signal } : {},
  );
}

/** A thread's turn pages, oldest first, with their items. */
export const turnsQuery = (threadId: string) => ({
  queryKey: ['turns', threadId],
  queryFn: ({ pageParam, signal }: { pageParam: string; signal: AbortSignal }): Promise<ListTurnsResponse> =>
    pageParam
      ? listTurns(threadId, pageParam, signal)
      : takeEarly(`turns:${threadId}`, () => listTurns(threadId, '', signal)),
  initialPageParam: '',
  getNextPageParam: (last: ListTurnsResponse) => last.nextCursor,
});

/**
 * Starts reading a thread's metadata and first turn page now, for the queries that will ask for
 * them once React has rendered (a failure is reported to that query, not here).
 */
export function startThreadReads(threadId: string): void {
  const calls: [string, Promise<unknown>][] = [
    [`thread:${threadId}`, readThread(threadId, new AbortController().signal)],
    [`turns:${threadId}`, listTurns(threadId, '')],
  ];
  for (const [key, call] of calls) {
    call.catch(() => undefined);
    early.set(key, call);
  }
}

/**
 * Starts loading a thread's metadata and first turns while the thread view's own code is still
 * loading, so the two waits overlap instead of adding up.
 */
export function prefetchThread(client: QueryClient, threadId: string): void {
  void client.prefetchQuery(threadQuery(threadId));
  void client.prefetchInfiniteQuery(turnsQuery(threadId));
}
