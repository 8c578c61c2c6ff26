import type { ThreadId, ThreadStore } from '@skein/thread-store-api';

/**
 * The flush an AppendItems call asked for (its `flush` field), after its items were appended:
 * true once they are durable and readable. A failed flush does not fail the append, whose items
 * the store holds like any appended item: the answer says `flushed: false`, and the client's own
 * FlushThread then retries the flush and gets the error, as a client of a server without the
 * field would.
 */
export async function flushAfterAppend(store: ThreadStore, threadId: ThreadId): Promise<boolean> {
  try {
    await store.flushThread(threadId);
    return true;
  } catch {
    return false;
  }
}
