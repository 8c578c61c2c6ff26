import { agentMessageText, collectHistory } from '@skein/thread-store-api';
import type { ThreadId, ThreadStore } from '@skein/thread-store-api';

/** The `seq-N` numbers of the agent messages in a thread's history, in order. */
export async function seqsOf(store: ThreadStore, threadId: ThreadId): Promise<number[]> {
  const t = await store.readThread({ threadId, includeHistory: true });
  const out: number[] = [];
  // Either format: legacy `agent_message` events or paginated `AgentMessage` items.
  for (const item of await collectHistory(t.history)) {
    const m = /^seq-(\d+)/.exec(agentMessageText(item) ?? '');
    if (m) out.push(Number(m[1]));
  }
  return out;
}
