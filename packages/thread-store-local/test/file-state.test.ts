import { describe, expect, it } from 'vitest';
import { emptyFileState, FileScanner, irrelevantLineTime } from '../src/internal/file-state.js';

const ts = (i: number): string => new Date(Date.UTC(2025, 9, 1, 12, 0, i)).toISOString();
const line = (i: number, type: string, payload: unknown, extra: Record<string, unknown> = {}): string =>
  JSON.stringify({ timestamp: ts(i), type, payload, ...extra });

/** A rollout with every kind of line the indexer meets, in Codex's shape and others. */
function rollout(): string[] {
  const id = '0a1b2c3d-0000-4000-8000-0000000000a1';
  const lines = [
    line(0, 'session_meta', { id, timestamp: ts(0), cwd: '/w', source: 'cli', model_provider: 'openai' }),
    line(1, 'turn_context', { cwd: '/w', model: 'gpt-x', effort: 'high', approval_policy: 'never' }),
    line(2, 'event_msg', { type: 'task_started', turn_id: 't1' }),
    line(3, 'response_item', { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'hi "there"' }] }),
    line(4, 'event_msg', { type: 'user_message', message: 'first question', images: [] }),
    line(5, 'event_msg', { type: 'agent_reasoning', text: 'thinking' }),
    line(6, 'response_item', { type: 'function_call', name: 'shell', arguments: '{"ordinal": 3}' }),
    line(7, 'event_msg', { type: 'agent_message', message: 'an answer' }),
    line(8, 'event_msg', {
      type: 'token_count',
      info: { total_token_usage: { input_tokens: 5, output_tokens: 7, total_tokens: 12 } },
    }),
    line(9, 'event_msg', { type: 'task_complete', last_agent_message: 'x' }),
    line(10, 'world_state', { full: true }),
    line(11, 'event_msg', { type: 'thread_name_updated', thread_name: 'named' }),
    line(12, 'event_msg', { type: 'thread_goal_updated', goal: { objective: 'a goal' } }),
    line(13, 'event_msg', {
      type: 'item_completed',
      item: { type: 'AgentMessage', content: [{ type: 'text', text: 'paginated answer' }] },
    }),
    line(14, 'response_item', { type: 'reasoning' }, { ordinal: 14 }),
    '{"timestamp":"' + ts(15) + '","type":"response_item","payload":{"type":"mess', // torn in the middle
    '',
    'not json at all',
    '{"type":"response_item","timestamp":"' + ts(16) + '","payload":{}}', // other key order
    line(17, 'compacted', { message: 'summary' }),
    line(18, 'response_item', { type: 'message', role: 'assistant', content: [] }),
    line(19, 'event_msg', { type: 'exec_command_end', stdout: '\\"type\\":\\"user_message\\"' }),
  ];
  return lines;
}

describe('the index line shortcut', () => {
  it('derives the same state and message text as parsing every line', () => {
    const fast = new FileScanner(emptyFileState());
    const slow = new FileScanner(emptyFileState());
    const lines = rollout();
    for (const l of lines) {
      fast.line(l);
      slow.parsedLine(l);
    }
    expect(fast.finish()).toEqual(slow.finish());
    expect(fast.messages).toEqual(slow.messages);
    expect(fast.messages.map((m) => m.text)).toContain('first question');
  });

  it('skips only whole Codex-shaped lines that cannot matter', () => {
    const lines = rollout();
    const skipped = lines
      .filter((l) => irrelevantLineTime(l) !== null)
      .map((l) => JSON.parse(l) as { payload: { type?: string }; type: string });
    // Reasoning, task_complete and compacted lines shape turns and their items: they are parsed.
    expect(skipped.map((o) => `${o.type}/${o.payload.type ?? ''}`)).toEqual([
      'response_item/message',
      'response_item/function_call',
      'world_state/',
      'response_item/message',
      'event_msg/exec_command_end',
    ]);
    expect(irrelevantLineTime(lines[3] as string)).toBe(ts(3));
  });
});
