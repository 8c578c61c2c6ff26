import { MAX_PAGE_SIZE, SESSION_SOURCE_KINDS } from '@skein/thread-store-api';
import type { ListThreadsParams, StoredThread, ThreadStore } from '@skein/thread-store-api';

/** Every thread in one collection, all sources and providers, page by page. */
export async function* everyThread(
  store: ThreadStore,
  archived: boolean,
  searchTerm?: string,
): AsyncGenerator<StoredThread> {
  let cursor: string | null = null;
  do {
    const params: ListThreadsParams = {
      pageSize: MAX_PAGE_SIZE,
      cursor,
      allowedSources: SESSION_SOURCE_KINDS,
      modelProviders: [],
      archived,
      ...(searchTerm === undefined ? {} : { searchTerm }),
    };
    const page = await store.listThreads(params);
    yield* page.items;
    cursor = page.nextCursor;
  } while (cursor !== null);
}
