import { expect } from 'vitest';
import type {
  ListThreadsParams,
  SortDirection,
  StoredThread,
  ThreadId,
  ThreadPage,
  ThreadSortKey,
  ThreadStore,
} from '@skein/thread-store-api';
import { at, seedThread } from './fixtures.js';

export const SORT_KEYS: readonly ThreadSortKey[] = ['createdAt', 'updatedAt', 'recencyAt'];
export const DIRECTIONS: readonly SortDirection[] = ['asc', 'desc'];

/** A seeded thread with the sort values the test set for it (minutes after T0). */
export interface SortableThread {
  threadId: ThreadId;
  createdAt: number;
  updatedAt: number;
  recencyAt: number;
}

// Ties on purpose (3, 105, 210): they are broken by thread id.
const CREATED = [5, 1, 9, 3, 3, 7, 2];
const UPDATED = [100, 130, 110, 120, 105, 105, 140];
const RECENCY = [210, 250, 230, 210, 260, 220, 240];

/** Seeds seven threads with known createdAt, updatedAt and recencyAt, including ties. */
export async function seedSortable(store: ThreadStore, provider: string): Promise<SortableThread[]> {
  const out: SortableThread[] = [];
  for (let i = 0; i < CREATED.length; i += 1) {
    const createdAt = CREATED[i] ?? 0;
    const updatedAt = UPDATED[i] ?? 0;
    const recencyAt = RECENCY[i] ?? 0;
    const threadId = await seedThread(store, provider, { createdAt: at(createdAt), user: `sortable thread ${i}` });
    await store.updateThreadMetadata({
      threadId,
      patch: { updatedAt: at(updatedAt), advanceRecencyAt: at(recencyAt) },
    });
    out.push({ threadId, createdAt, updatedAt, recencyAt });
  }
  return out;
}

/** The order a listing must return: sort value, then thread id, in the given direction. */
export function expectedOrder(rows: readonly SortableThread[], key: ThreadSortKey, dir: SortDirection): string[] {
  const sorted = [...rows].sort((a, b) => {
    const c = a[key] !== b[key] ? a[key] - b[key] : a.threadId < b.threadId ? -1 : a.threadId > b.threadId ? 1 : 0;
    return dir === 'asc' ? c : -c;
  });
  return sorted.map((r) => r.threadId);
}

/** Follows nextCursor from the first page to the end; returns every page. */
export async function walkForward(
  store: ThreadStore,
  params: ListThreadsParams,
  between?: (pageIndex: number) => Promise<void>,
): Promise<ThreadPage[]> {
  const pages: ThreadPage[] = [];
  let page = await store.listThreads({ ...params, cursor: null });
  expect(page.backwardsCursor, 'the first page has no backwards cursor').toBeNull();
  pages.push(page);
  while (page.nextCursor !== null) {
    if (pages.length > 2000) throw new Error('listing does not end');
    expect(page.items.length, 'a page with a next cursor is full').toBe(params.pageSize ?? 25);
    if (between) await between(pages.length);
    const next = await store.listThreads({ ...params, cursor: page.nextCursor });
    expect(next.backwardsCursor, 'a page after the first has a backwards cursor').not.toBeNull();
    page = next;
    pages.push(page);
  }
  return pages;
}

/** From a page, follows backwardsCursor to the start; returns the items in listing order. */
export async function walkBackward(
  store: ThreadStore,
  params: ListThreadsParams,
  from: ThreadPage,
  between?: (pageIndex: number) => Promise<void>,
): Promise<StoredThread[]> {
  const items: StoredThread[] = [...from.items];
  let page = from;
  let n = 0;
  while (page.backwardsCursor !== null) {
    if (n > 2000) throw new Error('backwards listing does not end');
    n += 1;
    if (between) await between(n);
    page = await store.listThreads({ ...params, cursor: page.backwardsCursor });
    expect(page.nextCursor, 'a page reached backwards has a next cursor').not.toBeNull();
    expect(page.items.length).toBeGreaterThan(0);
    items.unshift(...page.items);
  }
  return items;
}
