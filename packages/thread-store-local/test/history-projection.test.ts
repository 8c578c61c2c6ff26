import { statSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { newThreadId } from '@skein/thread-store-api';
import type { RolloutItem } from '@skein/thread-store-api';
import { describe, expect, it } from 'vitest';
import { openStore, tmpHome } from './helpers/home.js';

/** The tables of Codex 0.169's thread_history_1.sqlite that the projection writes (as Codex made them). */
const SCHEMA = `
CREATE TABLE thread_turns (thread_id TEXT NOT NULL, turn_id TEXT NOT NULL, rollout_ordinal INTEGER NOT NULL,
  status TEXT NOT NULL, error_json TEXT, started_at INTEGER, completed_at INTEGER, duration_ms INTEGER,
  first_user_item_id TEXT, final_agent_item_id TEXT, rollout_byte_offset INTEGER, rollout_end_ordinal INTEGER,
  rollout_end_byte_offset INTEGER, root_turn_id TEXT, PRIMARY KEY (thread_id, turn_id));
CREATE UNIQUE INDEX idx_thread_turns_page ON thread_turns(thread_id, rollout_ordinal);
CREATE TABLE thread_items (thread_id TEXT NOT NULL, turn_id TEXT NOT NULL, item_id TEXT NOT NULL,
  rollout_ordinal INTEGER NOT NULL, created_at_ms INTEGER NOT NULL, item_json TEXT NOT NULL,
  item_type TEXT NOT NULL DEFAULT '', updated_at_ordinal INTEGER NOT NULL DEFAULT 0, started_at_ms INTEGER,
  completed_at_ms INTEGER, PRIMARY KEY (thread_id, turn_id, item_id));
CREATE UNIQUE INDEX idx_thread_items_page ON thread_items(thread_id, rollout_ordinal);
CREATE TABLE thread_history_projection_state (thread_id TEXT PRIMARY KEY, next_rollout_byte_offset INTEGER NOT NULL,
  next_rollout_ordinal INTEGER NOT NULL);
`;

function turn(prompt: string): RolloutItem[] {
  const id = newThreadId();
  return [
    { type: 'event_msg', payload: { type: 'task_started', turn_id: id, started_at: 1 } },
    {
      type: 'response_item',
      payload: { type: 'message', role: 'user', content: [{ type: 'input_text', text: prompt }] },
    },
    { type: 'event_msg', payload: { type: 'user_message', message: prompt, images: [], local_images: [] } },
    { type: 'event_msg', payload: { type: 'agent_message', message: `echo: ${prompt}` } },
    {
      type: 'response_item',
      payload: {
        type: 'message',
        id: `msg_${id}`,
        role: 'assistant',
        content: [{ type: 'output_text', text: `echo: ${prompt}` }],
      },
    },
    { type: 'event_msg', payload: { type: 'task_complete', turn_id: id, last_agent_message: `echo: ${prompt}` } },
  ];
}

describe("Codex's history projection", () => {
  it('is kept current while the checkpoint matches the file, left to Codex when behind, reset when past the end', async () => {
    const home = tmpHome();
    const dbPath = path.join(home, 'thread_history_1.sqlite');
    const db = new Database(dbPath);
    db.exec(SCHEMA);
    const store = openStore(home, { historyMode: 'paginated' });
    const id = newThreadId();
    await store.createThread({
      threadId: id,
      source: { kind: 'cli' },
      metadata: { cwd: home, modelProvider: 'openai' },
    });
    await store.appendItems({ threadId: id, items: turn('one') });
    await store.flushThread(id);
    const file = (await store.readThread({ threadId: id })).rolloutPath as string;

    const state = () =>
      db
        .prepare(
          'SELECT next_rollout_byte_offset AS off, next_rollout_ordinal AS ord FROM thread_history_projection_state WHERE thread_id = ?',
        )
        .get(id) as { off: number; ord: number } | undefined;
    const turns = () =>
      db
        .prepare(
          'SELECT status, rollout_ordinal, rollout_byte_offset, rollout_end_ordinal, rollout_end_byte_offset, first_user_item_id, final_agent_item_id FROM thread_turns WHERE thread_id = ? ORDER BY rollout_ordinal',
        )
        .all(id) as Record<string, unknown>[];
    const items = () =>
      db
        .prepare(
          'SELECT item_type, rollout_ordinal, item_json FROM thread_items WHERE thread_id = ? ORDER BY rollout_ordinal',
        )
        .all(id) as { item_type: string; rollout_ordinal: number; item_json: string }[];

    // Caught up: checkpoint = file size, next ordinal = line count (session_meta + 6 lines).
    expect(state()).toEqual({ off: statSync(file).size, ord: 7 });
    expect(turns()).toEqual([
      expect.objectContaining({
        status: 'completed',
        rollout_ordinal: 1,
        rollout_end_ordinal: 6,
        rollout_end_byte_offset: statSync(file).size,
      }),
    ]);
    expect(items().map((i) => [i.item_type, i.rollout_ordinal])).toEqual([
      ['userMessage', 3],
      ['agentMessage', 4],
    ]);
    expect(JSON.parse(items()[1]!.item_json)).toMatchObject({ type: 'agentMessage', text: 'echo: one' });
    expect(turns()[0]!.final_agent_item_id).toBe(JSON.parse(items()[1]!.item_json).id);

    // Behind (Codex has not projected some bytes): left alone for Codex to catch up.
    db.prepare('UPDATE thread_history_projection_state SET next_rollout_byte_offset = 10 WHERE thread_id = ?').run(id);
    await store.appendItems({ threadId: id, items: turn('two') });
    await store.flushThread(id);
    expect(state()?.off).toBe(10);
    expect(turns()).toHaveLength(1);

    // Past the end (the file was cut after Codex projected it): the rows are reset.
    db.prepare('UPDATE thread_history_projection_state SET next_rollout_byte_offset = ? WHERE thread_id = ?').run(
      10 ** 9,
      id,
    );
    await store.appendItems({ threadId: id, items: turn('three') });
    await store.shutdownThread(id);
    expect(state()).toBeUndefined();
    expect(turns()).toEqual([]);
    db.close();
  });
});
