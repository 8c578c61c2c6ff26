import { ThreadStoreError, parseThreadId } from '@skein/thread-store-api';
import type { StoredThread, ThreadStore } from '@skein/thread-store-api';
import { everyThread } from './every-thread.js';
import { threadTitle } from './thread-text.js';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const PREFIX_RE = /^[0-9a-f][0-9a-f-]*$/i;
/** Shorter prefixes match too much to be a useful way of naming a thread. */
const MIN_PREFIX = 4;
/** Candidates listed in an ambiguity error; the rest are counted. */
const MAX_LISTED = 10;

/** An error with lines to print under its message (one candidate per line). */
export class ListedError extends ThreadStoreError {
  constructor(
    code: 'invalid_request' | 'not_found',
    message: string,
    readonly listing: readonly string[],
  ) {
    super(code, message);
  }
}

export function listingOf(err: unknown): readonly string[] {
  return err instanceof ListedError ? err.listing : [];
}

async function* bothCollections(store: ThreadStore, searchTerm?: string): AsyncGenerator<StoredThread> {
  yield* everyThread(store, false, searchTerm);
  yield* everyThread(store, true, searchTerm);
}

function describe(t: StoredThread): string {
  return `${t.threadId}  ${threadTitle(t)}${t.archivedAt ? ' (archived)' : ''}`;
}

/** Edit distance, for "did you mean": names are short, so the quadratic table is fine. */
function distance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length]!;
}

/** Names close to what was typed: a small edit away, or containing it. */
async function suggestions(store: ThreadStore, wanted: string): Promise<string[]> {
  const lower = wanted.toLowerCase();
  const scored: { name: string; score: number }[] = [];
  const seen = new Set<string>();
  for await (const t of bothCollections(store)) {
    const name = t.name?.trim();
    if (!name || seen.has(name)) continue;
    seen.add(name);
    const d = distance(lower, name.toLowerCase());
    const close = d <= Math.max(2, Math.floor(lower.length / 4));
    if (close || name.toLowerCase().includes(lower)) scored.push({ name, score: close ? d : 100 + name.length });
  }
  return scored
    .sort((a, b) => a.score - b.score || a.name.localeCompare(b.name))
    .slice(0, 3)
    .map((s) => s.name);
}

/** `skein threads list …` with the flags that reached this store, so the hint can be pasted. */
function listHint(storeArgs: readonly string[]): string {
  const quoted = storeArgs.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`));
  return ['skein threads list --all-sources --all-providers', ...quoted].join(' ');
}

/**
 * Finds the thread a person means: a full id, a unique id prefix (at least 4 characters), or a
 * name (exact case first, else ignoring case). Archived threads count. Two threads that fit is
 * an error listing them one per line, never a guess. Threads that have no user message yet are
 * not listed by stores, so only their full id names them.
 */
export async function resolveThread(
  store: ThreadStore,
  ref: string,
  storeArgs: readonly string[] = [],
): Promise<StoredThread> {
  const wanted = ref.trim();
  if (wanted === '')
    throw ThreadStoreError.invalidRequest('a thread reference cannot be empty: give an id, an id prefix or a name');
  if (UUID_RE.test(wanted)) {
    return store.readThread({ threadId: parseThreadId(wanted), includeArchived: true });
  }

  // Names: the stores' search term narrows the listing (case-insensitive substring of name or
  // preview); the comparison happens here.
  const exact: StoredThread[] = [];
  const folded: StoredThread[] = [];
  const lower = wanted.toLowerCase();
  for await (const t of bothCollections(store, wanted)) {
    if (t.name === wanted) exact.push(t);
    else if (t.name?.toLowerCase() === lower) folded.push(t);
  }
  const byName = exact.length > 0 ? exact : folded;

  const byPrefix: StoredThread[] = [];
  if (PREFIX_RE.test(wanted) && wanted.length >= MIN_PREFIX) {
    for await (const t of bothCollections(store)) if (t.threadId.startsWith(lower)) byPrefix.push(t);
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
    const candidates = [...all.values()];
    const listing = candidates.slice(0, MAX_LISTED).map((t) => `  ${describe(t)}`);
    if (candidates.length > MAX_LISTED) listing.push(`  … and ${candidates.length - MAX_LISTED} more`);
    throw new ListedError(
      'invalid_request',
      `"${wanted}" ${how} ${candidates.length} threads; use more of the id, or the full id:`,
      listing,
    );
  }
  const short =
    PREFIX_RE.test(wanted) && wanted.length < MIN_PREFIX
      ? ` (an id prefix needs at least ${MIN_PREFIX} characters)`
      : '';
  const close = await suggestions(store, wanted);
  const mean = close.length > 0 ? ` Did you mean ${close.map((n) => `"${n}"`).join(' or ')}?` : '';
  throw new ThreadStoreError(
    'not_found',
    `no thread matches "${wanted}" by id, id prefix or name${short}.${mean} See them all with: ${listHint(storeArgs)}`,
  );
}
