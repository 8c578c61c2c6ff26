import { agentMessageText, isEventMsg, userMessageText } from '@skein/thread-store-api';
import type { RolloutItem } from '@skein/thread-store-api';

/** One entry of a readable conversation, as `threads show` prints it. */
export interface TranscriptEntry {
  role: 'user' | 'assistant' | 'notice';
  text: string;
  /** The item's timestamp (UTC ISO-8601), or null when the line has none. */
  timestamp: string | null;
}

/**
 * The conversation in a history. Legacy threads record each message twice (a `response_item`
 * for the model and an `event_msg` for people); the events are the readable copy, so only they
 * are used. Paginated threads carry `item_completed` events, which the api helpers also read.
 */
export function transcriptOf(items: Iterable<RolloutItem>): TranscriptEntry[] {
  const out: TranscriptEntry[] = [];
  for (const item of items) {
    const timestamp = typeof item.timestamp === 'string' ? item.timestamp : null;
    const user = userMessageText(item);
    if (user !== undefined) {
      out.push({ role: 'user', text: user, timestamp });
      continue;
    }
    const agent = agentMessageText(item);
    if (agent !== undefined) {
      out.push({ role: 'assistant', text: agent, timestamp });
      continue;
    }
    if (isEventMsg(item, 'turn_aborted')) {
      const reason = typeof item.payload.reason === 'string' ? item.payload.reason : 'aborted';
      out.push({ role: 'notice', text: `turn ${reason}`, timestamp });
    }
  }
  return out;
}

export async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}
