import { newThreadId } from '@skein/thread-store-api';
import type { RolloutItem, ThreadId, ThreadStore } from '@skein/thread-store-api';

export const userMessage = (message: string): RolloutItem => ({
  type: 'event_msg',
  payload: { type: 'user_message', message },
});
export const agentMessage = (message: string): RolloutItem => ({
  type: 'event_msg',
  payload: { type: 'agent_message', message },
});

/** Creates a thread with the given items, flushed and shut down (or kept live). */
export async function seed(
  store: ThreadStore,
  items: readonly RolloutItem[],
  options: { keepLive?: boolean; threadId?: ThreadId } = {},
): Promise<ThreadId> {
  const threadId = options.threadId ?? newThreadId();
  await store.createThread({ threadId, source: { kind: 'cli' }, metadata: { cwd: '/work', modelProvider: 'openai' } });
  await store.appendItems({ threadId, items });
  if (options.keepLive === true) await store.flushThread(threadId);
  else await store.shutdownThread(threadId);
  return threadId;
}
