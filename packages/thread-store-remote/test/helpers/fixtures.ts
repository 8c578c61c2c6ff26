import type { CreateThreadParams, RolloutItem, ThreadId } from '@skein/thread-store-api';
import { newThreadId } from '@skein/thread-store-api';

export function createParams(threadId: ThreadId = newThreadId(), cwd = '/work/project'): CreateThreadParams {
  return { threadId, source: { kind: 'cli' }, metadata: { cwd, modelProvider: 'openai' } };
}

export function userMessage(text: string): RolloutItem {
  return { type: 'event_msg', payload: { type: 'user_message', message: text } };
}

export function agentMessage(text: string): RolloutItem {
  return { type: 'event_msg', payload: { type: 'agent_message', message: text } };
}

/** A response item carrying `size` bytes of text: a big history without many items. */
export function bulkyItem(i: number, size: number): RolloutItem {
  return {
    type: 'response_item',
    payload: {
      type: 'message',
      role: 'assistant',
      content: [{ type: 'output_text', text: `${i}:`.padEnd(size, 'x') }],
    },
  };
}
