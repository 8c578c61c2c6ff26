import type { SessionMetaItem } from '../rollout-item.js';
import { sessionMetaPayloadFor } from '../session-meta.js';
import type { ThreadId } from '../thread-id.js';
import type { CreateThreadParams } from '../types.js';

/** UTC ISO-8601 with milliseconds, the form every rollout timestamp takes. */
export function isoMillis(d: Date): string {
  return d.toISOString();
}

/** The in-memory store's first history item for a thread (see `sessionMetaPayloadFor`). */
export function sessionMetaItemFor(
  threadId: ThreadId,
  params: CreateThreadParams,
  createdAt: Date,
  writtenAt: Date,
): SessionMetaItem {
  const payload = sessionMetaPayloadFor({ ...params, threadId }, createdAt);
  return { timestamp: isoMillis(writtenAt), type: 'session_meta', payload };
}
