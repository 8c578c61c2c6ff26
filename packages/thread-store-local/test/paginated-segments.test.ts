import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
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

  it('a new segment is written as Codex writes one: its name, its first line as given, the state row pointed at it', async () => {
    const home = tmpHome();
    const T = newThreadId();
    const dir = 'sessions/2025/10/01';
    const lines = [
      { ...meta(T, { history_mode: 'paginated' }), ordinal: 0 },
      completed(T, 'UserMessage', 'kept', 1),
      completed(T, 'UserMessage', 'reverted', 2),
    ];
    const first = writeRollout(home, `${dir}/rollout-2025-10-01T12-00-00-${T}.jsonl`, lines);
    const keptEnd = readFileSync(first, 'utf8').split('\n').slice(0, 2).join('\n').length + 1;
    // Codex's state row names the thread's current rollout; a new segment takes its place.
    const state = new Database(path.join(home, 'state_5.sqlite'));
    state.exec('CREATE TABLE threads (id TEXT PRIMARY KEY, rollout_path TEXT NOT NULL)');
    state.prepare('INSERT INTO threads VALUES (?, ?)').run(T, first);
    state.close();
    const store = openStore(home);
    const R = newThreadId();
    const at = '2025-10-02T08:09:10.123Z';
    const segMeta = {
      timestamp: at,
      ordinal: 2,
      type: 'session_meta',
      payload: {
        id: T,
        timestamp: at,
        cwd: '/w',
        history_mode: 'paginated',
        history_base: { thread_id: T, end_ordinal_exclusive: 2, end_byte_offset: keptEnd },
      },
    };
    await store.resumeThread({ threadId: T, segment: { rolloutId: R, sessionMeta: segMeta as never } });
    // Not written yet: the thread reads as before, from its first rollout.
    expect((await store.readThread({ threadId: T })).rolloutPath).toBe(first);
    await store.appendItems({ threadId: T, items: [completed(T, 'UserMessage', 'after revert', 3) as RolloutItem] });
    await store.flushThread(T);
    const stamp = new Date(at);
    const p2 = (n: number) => String(n).padStart(2, '0');
    const local = `${stamp.getFullYear()}-${p2(stamp.getMonth() + 1)}-${p2(stamp.getDate())}T${p2(stamp.getHours())}-${p2(stamp.getMinutes())}-${p2(stamp.getSeconds())}`;
    const segment = path.join(
      home,
      'sessions',
      local.slice(0, 4),
      local.slice(5, 7),
      local.slice(8, 10),
      `rollout-${local}-${T}_${R}.jsonl`,
    );
    expect(existsSync(segment)).toBe(true);
    const written = readFileSync(segment, 'utf8').split('\n');
    expect(written[0]).toBe(JSON.stringify(segMeta));
    expect(JSON.parse(written[1] ?? '{}')).toMatchObject({ ordinal: 3 });
    const row = new Database(path.join(home, 'state_5.sqlite'), { readonly: true });
    expect(row.prepare('SELECT rollout_path FROM threads WHERE id = ?').pluck().get(T)).toBe(segment);
    row.close();
    await store.shutdownThread(T);
    expect((await store.readThread({ threadId: T })).rolloutPath).toBe(segment);
    expect(texts(await collectHistory(store.loadHistory({ threadId: T })))).toEqual(['kept', 'after revert']);
    expect(texts(await collectHistory(store.loadHistory({ threadId: T, rolloutId: T })))).toEqual(['kept', 'reverted']);
    // Another store on the home sees the same rollouts.
    const other = openStore(home);
    expect((await other.listSegments({ threadId: T })).map((s) => s.rolloutId)).toEqual([T, R]);
    await other.close();
    await store.close();
  });
});
