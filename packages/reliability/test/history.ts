import { collectHistory, isEventMsg } from '@skein/thread-store-api';
import type { ThreadId, ThreadStore } from '@skein/thread-store-api';

/** The `seq-N` numbers of the agent messages in a thread's history, in order. */
export async function seqsOf(store: ThreadStore, threadId: ThreadId): Promise<number[]> {
  const t = await store.readThread({ threadId, includeHistory: true });
  const out: number[] = [];
  for (const item of await collectHistory(t.history))
    if (isEventMsg(item, 'agent_message')) out.push(Number(/^seq-(\d+)/.exec(String(item.payload.message))?.[1]));
  return out;
}
