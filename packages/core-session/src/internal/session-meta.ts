import { deriveThreadMetadata, sessionMetaPayloadFor, storedThreadFromDerived } from '@skein/thread-store-api';
import type { CreateThreadParams, RolloutItem, SessionMetaItem, StoredThread, ThreadId } from '@skein/thread-store-api';

/**
 * The `session_meta` line a store writes when a thread materializes. Ephemeral threads never
 * reach a store, so they build the same line themselves to stay readable while loaded.
 */
export function sessionMetaItem(params: CreateThreadParams & { createdAt: Date }): SessionMetaItem {
  const payload = sessionMetaPayloadFor(params, params.createdAt);
  return { timestamp: params.createdAt.toISOString(), type: 'session_meta', payload };
}

/** A StoredThread summary computed from an in-memory history (ephemeral threads). */
export function storedThreadFromHistory(
  threadId: ThreadId,
  items: readonly RolloutItem[],
  fallbackProvider: string,
  updatedAt: Date,
): StoredThread {
  const d = deriveThreadMetadata(items);
  return storedThreadFromDerived(threadId, d, {
    preview: d.preview ?? '',
    defaultModelProvider: fallbackProvider,
    updatedAt,
    createdAtFallback: updatedAt,
    archivedAt: null,
    rolloutPath: null,
  });
}
