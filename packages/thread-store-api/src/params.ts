import { ThreadStoreError } from './errors.js';
import { historyBaseOf } from './history-base.js';
import { checkThreadDate } from './limits.js';
import { isObject } from './rollout-item.js';
import { parseThreadId } from './thread-id.js';
import type { ThreadId } from './thread-id.js';
import type { HistoryBase } from './history-base.js';
import type { SessionMetaItem } from './rollout-item.js';
import type { CreateThreadParams } from './types.js';

/**
 * Checks that a call's parameters are an object (`invalid_request` naming them otherwise).
 *
 * @internal
 */
export function requireObject(v: unknown, what: string): asserts v is Record<string, unknown> {
  if (!isObject(v)) throw ThreadStoreError.invalidRequest(`${what} must be an object`);
}

/**
 * Copies caller data so later mutation on either side cannot reach a store.
 *
 * @internal
 */
export function copyPlainData<T>(v: T, what: string): T {
  try {
    return structuredClone(v);
  } catch (e) {
    throw ThreadStoreError.invalidRequest(`${what} must be plain data (${e instanceof Error ? e.message : String(e)})`);
  }
}

/**
 * Checks `createThread` parameters the way every store does, before anything is reserved, and
 * returns the normalised thread id. `storeName` names the store in the message refusing a
 * paginated history (stores that write paginated rollouts check `historyMode` themselves).
 *
 * @internal
 */
export function validateCreateThreadParams(params: CreateThreadParams, storeName = 'this store'): ThreadId {
  requireObject(params, 'createThread params');
  const threadId = parseThreadId(params.threadId);
  requireObject(params.metadata, 'createThread metadata');
  const { modelProvider, cwd } = params.metadata;
  if (typeof modelProvider !== 'string' || modelProvider.trim() === '')
    throw ThreadStoreError.invalidRequest('metadata.modelProvider must be a non-empty string');
  if (typeof cwd !== 'string') throw ThreadStoreError.invalidRequest('metadata.cwd must be a string');
  if (!isObject(params.source) || typeof params.source.kind !== 'string')
    throw ThreadStoreError.invalidRequest('source must be a SessionSource such as { kind: "cli" }');
  if (params.historyMode === 'paginated')
    throw ThreadStoreError.unsupported(
      'historyMode "paginated"',
      `${storeName} keeps legacy histories only; omit historyMode`,
    );
  if (params.historyMode !== undefined && params.historyMode !== 'legacy')
    throw ThreadStoreError.invalidRequest(`historyMode must be "legacy", got ${String(params.historyMode)}`);
  if (params.createdAt !== undefined) checkThreadDate(params.createdAt, 'createdAt');
  for (const key of ['forkedFromId', 'parentThreadId'] as const) {
    const v = params[key];
    if (v != null) parseThreadId(v, key);
  }
  checkSessionMeta(params, threadId);
  return threadId;
}

/**
 * Checks `createThread`'s `sessionMeta` when given: a `session_meta` item of this thread whose
 * timestamp, if any, is a string.
 *
 * @internal
 */
export function checkSessionMeta(params: CreateThreadParams, threadId: ThreadId): void {
  const meta: unknown = params.sessionMeta;
  if (meta === undefined) return;
  if (!isObject(meta) || meta.type !== 'session_meta' || !isObject(meta.payload))
    throw ThreadStoreError.invalidRequest('sessionMeta must be a session_meta item: { type: "session_meta", payload }');
  if (meta.payload.id !== threadId)
    throw ThreadStoreError.invalidRequest(
      `sessionMeta.payload.id must be the thread id ${threadId}, got ${JSON.stringify(meta.payload.id)}`,
    );
  if (meta.timestamp !== undefined && typeof meta.timestamp !== 'string')
    throw ThreadStoreError.invalidRequest('sessionMeta.timestamp must be an ISO-8601 string');
  const base = historyBaseOf(params.sessionMeta);
  if (base === null) return;
  if (meta.payload.history_mode !== 'paginated')
    throw ThreadStoreError.invalidRequest('a sessionMeta with history_base must have history_mode "paginated"');
  if (base.threadId === threadId)
    throw ThreadStoreError.invalidRequest('sessionMeta.payload.history_base must reference another thread');
  if (params.forkBase !== undefined)
    throw ThreadStoreError.invalidRequest('give forkBase or a sessionMeta with history_base, not both');
}

/**
 * Checks `ResumeThreadParams.segment` apart from what needs the store (that `history_base` names
 * one of the thread's rollouts and that its cut exists; that `rolloutId` is new): a paginated
 * `session_meta` of this thread with a `history_base`, and a valid rollout id other than the
 * thread's. Returns the segment's base.
 *
 * @internal
 */
export function validateNewSegment(threadId: ThreadId, segment: unknown): { rolloutId: ThreadId; base: HistoryBase } {
  requireObject(segment, 'resumeThread segment');
  const rolloutId = parseThreadId(segment.rolloutId, 'segment.rolloutId');
  if (rolloutId === threadId)
    throw ThreadStoreError.invalidRequest('segment.rolloutId must be a new rollout id, not the thread id');
  const meta: unknown = segment.sessionMeta;
  if (!isObject(meta) || meta.type !== 'session_meta' || !isObject(meta.payload))
    throw ThreadStoreError.invalidRequest(
      'segment.sessionMeta must be a session_meta item: { type: "session_meta", payload }',
    );
  if (meta.payload.id !== threadId)
    throw ThreadStoreError.invalidRequest(
      `segment.sessionMeta.payload.id must be the thread id ${threadId}, got ${JSON.stringify(meta.payload.id)}`,
    );
  if (meta.payload.history_mode !== 'paginated')
    throw ThreadStoreError.invalidRequest('segment.sessionMeta must have history_mode "paginated"');
  const base = historyBaseOf(meta as unknown as SessionMetaItem);
  if (base === null)
    throw ThreadStoreError.invalidRequest(
      'segment.sessionMeta must have a history_base naming a rollout of the thread',
    );
  return { rolloutId, base };
}
