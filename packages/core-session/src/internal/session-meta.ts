import { deriveThreadMetadata, sessionMetaPayloadFor } from '@skein/thread-store-api';
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
  const createdAt = d.createdAt ?? updatedAt;
  const recencyAt = d.lastTurnStartedAt && d.lastTurnStartedAt > createdAt ? d.lastTurnStartedAt : createdAt;
  return {
    threadId,
    sessionId: d.sessionId ?? threadId,
    forkedFromId: (d.forkedFromId as ThreadId | null) ?? null,
    parentThreadId: (d.parentThreadId as ThreadId | null) ?? null,
    preview: d.preview ?? '',
    name: typeof d.name === 'string' ? d.name : null,
    modelProvider: d.modelProvider ?? fallbackProvider,
    model: d.model,
    reasoningEffort: d.reasoningEffort,
    createdAt,
    updatedAt,
    recencyAt,
    archivedAt: null,
    cwd: d.cwd ?? '',
    cliVersion: d.cliVersion ?? '',
    source: d.source ?? { kind: 'unknown' },
    threadSource: d.threadSource,
    agentNickname: d.agentNickname,
    agentRole: d.agentRole,
    agentPath: d.agentPath,
    gitInfo: d.gitInfo,
    approvalMode: d.approvalMode,
    sandboxPolicy: d.sandboxPolicy,
    tokenUsage: d.tokenUsage,
    firstUserMessage: d.firstUserMessage,
    historyMode: 'legacy',
    memoryMode: d.memoryMode ?? 'enabled',
    rolloutPath: null,
  };
}
