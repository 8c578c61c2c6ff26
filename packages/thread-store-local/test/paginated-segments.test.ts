import { readFileSync, statSync } from 'node:fs';
import { collectHistory, newThreadId } from '@skein/thread-store-api';
import type { RolloutItem } from '@skein/thread-store-api';
import { describe, expect, it } from 'vitest';
import { agentMsg, meta, openStore, tmpHome, writeRollout } from './helpers/home.js';

const completed = (thread: string, type: string, text: string, ordinal: number): object => ({
  timestamp: '2025-10-01T12:00:01.000Z',
  ordinal,
  type: 'event_msg',
  payload: {
    type: 'item_completed',
    thread_id: thread,
    turn_id: 't',
    item: { type, id: `${type}-${ordinal}`, content: [{ type: type === 'UserMessage' ? 'text' : 'Text', text }] },
  },
});

const texts = (h: RolloutItem[]): string[] =>
  h.flatMap((i) => {
    const it = (i.payload as { item?: { content?: { text: string }[] } }).item;
    return it?.content?.[0]?.text !== undefined ? [it.content[0].text] : [];
  });

describe('paginated segments', () => {
  it('reads a later segment after its base and appends to the newest segment, continuing its ordinals', async () => {
    const home = tmpHome();
    const T = newThreadId();
    const R = newThreadId();
    const dir = 'sessions/2025/10/01';
    const first = writeRollout(home, `${dir}/rollout-2025-10-01T12-00-00-${T}.jsonl`, [
      { ...meta(T, { history_mode: 'paginated' }), ordinal: 0 },
      completed(T, 'UserMessage', 'kept', 1),
      completed(T, 'AgentMessage', 'kept answer', 2),
      completed(T, 'UserMessage', 'reverted', 3),
    ]);
    const keptEnd = readFileSync(first, 'utf8').split('\n').slice(0, 3).join('\n').length + 1;
    const segment = writeRollout(home, `${dir}/rollout-2025-10-01T12-05-00-${T}_${R}.jsonl`, [
      {
        ...meta(T, {
          history_mode: 'paginated',
          history_base: { thread_id: T, end_ordinal_exclusive: 3, end_byte_offset: keptEnd },
        }),
        ordinal: 3,
      },
      completed(T, 'UserMessage', 'after revert', 4),
    ]);
    const firstSize = statSync(first).size;
    const store = openStore(home);
    const t = await store.readThread({ threadId: T, includeHistory: true });
    expect(t.rolloutPath).toBe(segment);
    expect(texts(await collectHistory(t.history))).toEqual(['kept', 'kept answer', 'after revert']);

    await store.resumeThread({ threadId: T });
    await store.appendItems({ threadId: T, items: [agentMsg('appended') as RolloutItem] });
    await store.shutdownThread(T);
    // The old segment is immutable history; the new line went to the newest one, ordinal 5.
    expect(statSync(first).size).toBe(firstSize);
    const last = JSON.parse(readFileSync(segment, 'utf8').trim().split('\n').at(-1) as string) as {
      ordinal: number;
    };
    expect(last.ordinal).toBe(5);
    const after = await store.readThread({ threadId: T, includeHistory: true });
    expect(texts(await collectHistory(after.history))).toEqual(['kept', 'kept answer', 'after revert', 'appended']);
  });
});
