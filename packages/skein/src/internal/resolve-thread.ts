import { MAX_PAGE_SIZE, SESSION_SOURCE_KINDS, ThreadStoreError, parseThreadId } from '@skein/thread-store-api';
import type { ListThreadsParams, StoredThread, ThreadStore } from '@skein/thread-store-api';
import { threadTitle } from './thread-text.js';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const PREFIX_RE = /^[0-9a-f][0-9a-f-]*$/i;
/** Shorter prefixes match too much to be a useful way of naming a thread. */
const MIN_PREFIX = 4;

/** Every thread in one collection: all sources, all providers. */
async function* everyThread(store: ThreadStore, archived: boolean, searchTerm?: string): AsyncGenerator<StoredThread> {
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

function describe(t: StoredThread): string {
  return `${t.threadId} (${threadTitle(t)}${t.archivedAt ? ', archived' : ''})`;
}

function ambiguous(ref: string, how: string, candidates: StoredThread[]): ThreadStoreError {
  const shown = candidates.slice(0, 10).map(describe).join('; ');
  const more = candidates.length > 10 ? `; and ${candidates.length - 10} more` : '';
  return ThreadStoreError.invalidRequest(
    `"${ref}" ${how} ${candidates.length} threads: ${shown}${more}. Use more of the id or the full id.`,
  );
}

/**
 * Finds the thread a person means: a full id, a unique id prefix (at least 4 characters), or an
 * exact name. Archived threads count. Two threads that fit is an error listing both, never a
 * guess. Threads that have no user message yet are not listed by stores, so only their full id
 * names them.
 */
export async function resolveThread(store: ThreadStore, ref: string): Promise<StoredThread> {
  const wanted = ref.trim();
  if (wanted === '')
    throw ThreadStoreError.invalidRequest('a thread reference cannot be empty: give an id, an id prefix or a name');
  if (UUID_RE.test(wanted)) {
    return store.readThread({ threadId: parseThreadId(wanted), includeArchived: true });
  }

  // Names: the stores' search term narrows the listing (substring of name or preview); the
  // exact comparison happens here.
  const byName: StoredThread[] = [];
  for (const archived of [false, true]) {
    for await (const t of everyThread(store, archived, wanted)) if (t.name === wanted) byName.push(t);
  }

  const byPrefix: StoredThread[] = [];
  const lower = wanted.toLowerCase();
  if (PREFIX_RE.test(wanted) && wanted.length >= MIN_PREFIX) {
    for (const archived of [false, true]) {
      for await (const t of everyThread(store, archived)) if (t.threadId.startsWith(lower)) byPrefix.push(t);
    }
  }

  const all = new Map<string, StoredThread>();
  for (const t of [...byName, ...byPrefix]) all.set(t.threadId, t);
  if (all.size === 1) return [...all.values()][0]!;
  if (all.size > 1) {
    const how =
      byName.length > 0 && byPrefix.length > 0
        ? 'is a name or id prefix of'
        : byName.length > 0
          ? 'names'
          : 'is an id prefix of';
    throw ambiguous(wanted, how, [...all.values()]);
  }
  const hint =
    PREFIX_RE.test(wanted) && wanted.length < MIN_PREFIX
      ? ` (an id prefix needs at least ${MIN_PREFIX} characters)`
      : '';
  throw new ThreadStoreError(
    'not_found',
    `no thread matches "${wanted}" by id, id prefix or name${hint}; run \`skein threads list --all-sources --all-providers\` to see them`,
  );
}
