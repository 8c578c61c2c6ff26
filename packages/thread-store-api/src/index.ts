/**
 * The storage boundary of Skein: the `ThreadStore` interface every backend implements, the types
 * it speaks, its one error type, and `InMemoryThreadStore`.
 *
 * @packageDocumentation
 */

// ── Public API ────────────────────────────────────────────────────────────────────────────────
// Every name in this block is covered by semver and documented in docs/api/. Keep each module's
// names sorted, one export statement per module, so concurrent additions merge line by line.

export { THREAD_STORE_ERROR_CODES, ThreadStoreError, isThreadStoreError, isThreadStoreErrorCode } from './errors.js';
export type { ThreadStoreErrorCode } from './errors.js';

export { DEFAULT_ITEM_PAGE_SIZE, DEFAULT_TURN_PAGE_SIZE, MAX_HISTORY_PAGE_SIZE } from './history-types.js';
export type {
  ItemPage,
  ListItemsParams,
  ListTurnsParams,
  StoredThreadItem,
  StoredTurn,
  StoredTurnError,
  StoredTurnItemsView,
  StoredTurnStatus,
  TurnPage,
} from './history-types.js';

export { historyBaseOf } from './history-base.js';
export type { HistoryBase } from './history-base.js';

export { InMemoryThreadStorage, InMemoryThreadStore } from './in-memory.js';
export type { InMemoryThreadStoreOptions } from './in-memory.js';

export type { Clearable, GitInfoPatch, ThreadMetadataPatch, UpdateThreadMetadataParams } from './patch.js';

export { MAX_FILTER_VALUES, MAX_THREAD_DATE, MIN_THREAD_DATE, isSupportedDate } from './limits.js';

export { isPersistedRolloutItem, persistedRolloutItems } from './persistence-policy.js';

export {
  agentMessageText,
  isCompacted,
  isEventMsg,
  isResponseItem,
  isSessionMeta,
  isTurnContext,
  userMessageText,
} from './rollout-item.js';
export type {
  CompactedItem,
  CompactedPayload,
  EventMsgItem,
  EventMsgPayload,
  HistoryMode,
  JsonObject,
  JsonValue,
  KnownRolloutItem,
  MemoryMode,
  ResponseItem,
  ResponseItemPayload,
  RolloutItem,
  RolloutItemEnvelope,
  SessionMetaItem,
  SessionMetaPayload,
  TurnContextItem,
  TurnContextPayload,
  UnknownRolloutItem,
} from './rollout-item.js';

export { DEFAULT_LIST_SOURCES, SESSION_SOURCE_KINDS, SessionSources, isSessionSourceKind } from './session-source.js';
export type { SessionSource, SessionSourceFilter, SessionSourceKind, SubAgentSource } from './session-source.js';

export { collectHistory, loadHistoryItems } from './store.js';
export type { ThreadStore } from './store.js';

export { isThreadId, newThreadId, parseThreadId } from './thread-id.js';
export type { ThreadId } from './thread-id.js';

export { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from './types.js';
export type {
  AppendItemsParams,
  ArchiveThreadParams,
  CountThreadsParams,
  CreateThreadParams,
  DeleteThreadParams,
  GitInfo,
  ListStart,
  ListSegmentsParams,
  ListThreadsParams,
  LoadHistoryParams,
  NewSegment,
  ReadThreadByRolloutPathParams,
  ReadThreadParams,
  ResumeThreadParams,
  SearchThreadsParams,
  SortDirection,
  StoredThread,
  StoredThreadWithHistory,
  ThreadPage,
  ThreadPersistenceMetadata,
  ThreadSearchPage,
  ThreadSearchResult,
  ThreadSegment,
  ThreadSortKey,
  ThreadStoreCapabilities,
  TokenUsage,
} from './types.js';

// ── Internal: shared by Skein's own packages ─────────────────────────────────────────────────
// The package exports "." only, so code the backends and core-session share (metadata
// derivation, patch application, keyset cursors, the reference listing semantics that the local
// store's SQL is tested against, Codex JSON conversions) has to be reachable from here. Each
// declaration is tagged @internal: it is left out of the API report and docs/api/, and may change
// in any release. Other programs must not use it.

export { toThreadStoreError } from './errors.js';

export { checkFilterList, checkThreadDate } from './limits.js';

export { MAX_HISTORY_BASE_DEPTH, inheritedPrefix, inheritedStep, requireHistoryBase } from './history-base.js';

export {
  checkSessionMeta,
  copyPlainData,
  requireObject,
  validateCreateThreadParams,
  validateNewSegment,
} from './params.js';

export { decodeHistoryCursor, decodeListCursor, encodeHistoryCursor, encodeListCursor } from './cursor.js';
export type { HistoryCursor, ListCursor } from './cursor.js';

export {
  ThreadMetadataAccumulator,
  deriveThreadMetadata,
  dropPatchesReplacedByHistory,
  emptyDerivedMetadata,
  gitInfoToJson,
  parseRolloutTime,
  segmentCreatedAt,
  storedThreadFromDerived,
  tokenUsageFromJson,
  tokenUsageToJson,
} from './derive.js';
export type { DerivedThreadMetadata, StoredThreadFacts } from './derive.js';

export {
  fetchFromSorted,
  itemFetchFromTurns,
  itemPageFromHistory,
  itemPageFromIndex,
  itemsForView,
  normalizeListItemsParams,
  normalizeListTurnsParams,
  pageByPosition,
  positionInside,
  storedItem,
  storedTurn,
  turnNotFound,
  turnPageFromHistory,
  turnPageFromIndex,
} from './history-paging.js';
export type {
  NormalizedHistoryPageParams,
  NormalizedItemPageParams,
  NormalizedTurnPageParams,
  PositionFetch,
  PositionPage,
  PositionQuery,
  TurnIndexReader,
} from './history-paging.js';

export {
  compareThreads,
  normalizeCountParams,
  normalizeListParams,
  paginateSorted,
  threadMatchesFilters,
} from './listing.js';
export type { NormalizedListParams, Page } from './listing.js';
export { normalizeListStart, passesStart, startCondition } from './list-start.js';
export type { NormalizedListStart } from './list-start.js';

export { applyGitPatch, applyPatch, mergePatches, validatePatch } from './patch.js';

export type { DurableRollout, DurableThread } from './in-memory.js';

export { isObject, rolloutItemProblem } from './rollout-item.js';

export { sessionMetaPayloadFor } from './session-meta.js';

export { sessionSourceFromJson, sessionSourceKey, sessionSourceKinds, sessionSourceToJson } from './session-source.js';

export { legacyAgentMessageItem, legacyUserMessageItem, reasoningItem, turnItemToThreadItem } from './thread-items.js';

export { TurnList, TurnProjector, applyTerminal, buildTurns, emptyTurnProjectionState } from './turn-projector.js';
export type {
  ByteRange,
  OpenTurn,
  ProjectedItem,
  ProjectedTurn,
  TurnProjectionState,
  TurnSink,
  TurnTerminal,
} from './turn-projector.js';
