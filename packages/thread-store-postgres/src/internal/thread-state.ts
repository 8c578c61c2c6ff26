import {
  agentMessageText,
  applyPatch,
  dropPatchesReplacedByHistory,
  parseRolloutTime,
  storedThreadFromDerived,
  ThreadMetadataAccumulator,
  userMessageText,
} from '@skein/thread-store-api';
import type {
  DerivedThreadMetadata,
  RolloutItem,
  StoredThread,
  ThreadId,
  ThreadMetadataPatch,
} from '@skein/thread-store-api';
import { sourceColumns } from './list-sql.js';
import { withoutNul } from './text.js';

/**
 * What a thread row keeps besides its items: the metadata derived from the history so far (so an
 * append folds only the new items in), the merged patches on top of it, and the facts the
 * StoredThread needs. Stored as JSON text in `skein_threads.state`; dates as epoch ms.
 */
export interface ThreadState {
  derived: DerivedThreadMetadata;
  patch: ThreadMetadataPatch;
  /** Time of the last durable write of history. */
  writtenAt: Date;
  archivedAt: Date | null;
  /** The first item's timestamp: creation time when the history carries none. */
  firstItemAt: Date | null;
}

const DERIVED_DATES = ['createdAt', 'lastTurnStartedAt', 'lastItemAt'] as const;
const PATCH_DATES = ['createdAt', 'updatedAt', 'advanceRecencyAt'] as const;
const THREAD_DATES = ['createdAt', 'updatedAt', 'recencyAt', 'archivedAt'] as const;

const ms = (d: Date | null | undefined): number | null | undefined => (d instanceof Date ? d.getTime() : d);
const date = (v: unknown): Date | null | undefined => (typeof v === 'number' ? new Date(v) : (v as null | undefined));

function withDates<T extends object>(o: T, keys: readonly string[], f: (v: never) => unknown): T {
  const out = { ...o } as Record<string, unknown>;
  for (const k of keys) if (k in out) out[k] = f(out[k] as never);
  return out as T;
}

export function stateToJson(s: ThreadState): string {
  return JSON.stringify({
    derived: withDates(s.derived, DERIVED_DATES, ms),
    patch: withDates(s.patch, PATCH_DATES, ms),
    writtenAt: s.writtenAt.getTime(),
    archivedAt: ms(s.archivedAt),
    firstItemAt: ms(s.firstItemAt),
  });
}

export function stateFromJson(text: string): ThreadState {
  const raw = JSON.parse(text) as Record<string, unknown>;
  return {
    derived: withDates(raw.derived as DerivedThreadMetadata, DERIVED_DATES, date),
    patch: withDates(raw.patch as ThreadMetadataPatch, PATCH_DATES, date),
    writtenAt: new Date(raw.writtenAt as number),
    archivedAt: date(raw.archivedAt) ?? null,
    firstItemAt: date(raw.firstItemAt) ?? null,
  };
}

export function threadToJson(t: StoredThread): string {
  return JSON.stringify(withDates(t, THREAD_DATES, ms));
}

export function threadFromJson(text: string): StoredThread {
  return withDates(JSON.parse(text) as StoredThread, THREAD_DATES, date);
}

export function emptyState(writtenAt: Date): ThreadState {
  return {
    derived: new ThreadMetadataAccumulator().value,
    patch: {},
    writtenAt,
    archivedAt: null,
    firstItemAt: null,
  };
}

/**
 * Folds appended items into a state (the same rules as the in-memory store): derived facts that
 * change drop the patched value of their field, a `thread_name_updated` drops a patched name,
 * and the write is newer than any patched updatedAt.
 */
export function appendToState(s: ThreadState, items: readonly RolloutItem[], writtenAt: Date): ThreadState {
  const acc = new ThreadMetadataAccumulator(s.derived);
  const before = { ...acc.value };
  let firstItemAt = s.firstItemAt;
  for (const [i, item] of items.entries()) {
    if (i === 0 && firstItemAt === null) firstItemAt = parseRolloutTime(item.timestamp);
    acc.observe(item);
  }
  const patch: ThreadMetadataPatch = { ...s.patch };
  dropPatchesReplacedByHistory(patch, before, acc.value, items);
  delete patch.updatedAt;
  return { ...s, derived: acc.value, patch, writtenAt, firstItemAt };
}

export function storedThreadOf(threadId: ThreadId, s: ThreadState, defaultModelProvider: string): StoredThread {
  const d = s.derived;
  const base = storedThreadFromDerived(threadId, d, {
    preview: d.preview ?? d.goalPreview ?? '',
    defaultModelProvider,
    updatedAt: s.writtenAt,
    createdAtFallback: s.firstItemAt ?? s.writtenAt,
    archivedAt: s.archivedAt,
    rolloutPath: null,
  });
  return applyPatch(base, s.patch);
}

/** The row of `skein_threads` for a thread (everything but the keys and item_count). */
export function threadColumns(t: StoredThread, s: ThreadState): Record<string, unknown> {
  const [sourceKind, subagentKind, sourceKey] = sourceColumns(t.source);
  const cols: Record<string, unknown> = {
    archived: t.archivedAt !== null,
    has_preview: t.preview !== '',
    created_ms: t.createdAt.getTime(),
    updated_ms: t.updatedAt.getTime(),
    recency_ms: t.recencyAt.getTime(),
    model_provider: t.modelProvider,
    cwd: t.cwd,
    source_kind: sourceKind,
    subagent_kind: subagentKind,
    source_key: sourceKey,
    name_lc: (t.name ?? '').toLowerCase(),
    preview_lc: t.preview.toLowerCase(),
    thread: threadToJson(t),
    state: stateToJson(s),
  };
  for (const [k, v] of Object.entries(cols)) if (typeof v === 'string') cols[k] = withoutNul(v);
  return cols;
}

/** The lowercased message text of an item for content search, or null for other items. */
export function messageSearchText(item: RolloutItem): string | null {
  const text = userMessageText(item) ?? agentMessageText(item);
  return text === undefined ? null : withoutNul(text.toLowerCase());
}

/** The message text of an item (for snippets). */
export function messageText(item: RolloutItem): string {
  return withoutNul(userMessageText(item) ?? agentMessageText(item) ?? '');
}
