import { describe, expect, it } from 'vitest';
import { isPersistedRolloutItem, persistedRolloutItems } from '../src/index.js';
import type { RolloutItem } from '../src/index.js';

const ev = (type: string, extra: Record<string, unknown> = {}): RolloutItem => ({
  type: 'event_msg',
  payload: { type, ...extra },
});
const ri = (type: string): RolloutItem => ({ type: 'response_item', payload: { type } });

describe('the rollout persistence policy', () => {
  it('keeps session_meta, turn_context, compacted and unknown line types', () => {
    for (const item of [
      { type: 'session_meta', payload: { id: 'x' } },
      { type: 'turn_context', payload: {} },
      { type: 'compacted', payload: { message: 'm' } },
      { type: 'world_state', payload: { full: true } },
      { type: 'something_new', payload: null },
    ] as RolloutItem[])
      expect(isPersistedRolloutItem(item), item.type).toBe(true);
  });

  it('keeps response items except compaction triggers, "other" and ghost snapshots', () => {
    for (const t of [
      'message',
      'reasoning',
      'function_call',
      'function_call_output',
      'custom_tool_call',
      'local_shell_call',
      'web_search_call',
    ])
      expect(isPersistedRolloutItem(ri(t)), t).toBe(true);
    for (const t of ['compaction_trigger', 'other', 'ghost_snapshot'])
      expect(isPersistedRolloutItem(ri(t)), t).toBe(false);
    expect(isPersistedRolloutItem({ type: 'response_item', payload: 'text' })).toBe(false);
  });

  it('legacy mode keeps the message, turn and lifecycle events', () => {
    for (const t of [
      'task_started',
      'task_complete',
      'token_count',
      'turn_aborted',
      'thread_name_updated',
      'user_message',
      'agent_message',
      'agent_reasoning',
      'agent_reasoning_raw_content',
      'patch_apply_end',
      'mcp_tool_call_end',
      'web_search_end',
      'context_compacted',
      'thread_rolled_back',
      'entered_review_mode',
      'exited_review_mode',
      'thread_goal_updated',
    ])
      expect(isPersistedRolloutItem(ev(t), 'legacy'), t).toBe(true);
  });

  it('drops streaming deltas, *_begin events, approvals, session_configured, warnings and errors', () => {
    for (const t of [
      'agent_message_delta',
      'agent_reasoning_delta',
      'agent_message_content_delta',
      'exec_command_begin',
      'exec_command_output_delta',
      'exec_command_end',
      'mcp_tool_call_begin',
      'patch_apply_begin',
      'web_search_begin',
      'exec_approval_request',
      'apply_patch_approval_request',
      'session_configured',
      'warning',
      'error',
      'stream_error',
      'background_event',
    ])
      expect(isPersistedRolloutItem(ev(t), 'legacy'), t).toBe(false);
    expect(isPersistedRolloutItem({ type: 'event_msg', payload: null })).toBe(false);
  });

  it('item_completed: legacy keeps only plans and sleeps, paginated keeps all', () => {
    expect(isPersistedRolloutItem(ev('item_completed', { item: { type: 'Plan' } }), 'legacy')).toBe(true);
    expect(isPersistedRolloutItem(ev('item_completed', { item: { type: 'Sleep' } }), 'legacy')).toBe(true);
    expect(isPersistedRolloutItem(ev('item_completed', { item: { type: 'UserMessage' } }), 'legacy')).toBe(false);
    expect(isPersistedRolloutItem(ev('item_completed', { item: { type: 'UserMessage' } }), 'paginated')).toBe(true);
  });

  it('paginated mode drops the legacy-only message events', () => {
    expect(isPersistedRolloutItem(ev('user_message'), 'paginated')).toBe(false);
    expect(isPersistedRolloutItem(ev('agent_message'), 'paginated')).toBe(false);
    expect(isPersistedRolloutItem(ev('task_started'), 'paginated')).toBe(true);
  });

  it('persistedRolloutItems filters in order, defaulting to legacy', () => {
    const items = [
      ev('task_started'),
      ev('agent_message_delta'),
      ev('user_message'),
      ri('ghost_snapshot'),
      ri('message'),
    ];
    expect(persistedRolloutItems(items)).toEqual([items[0], items[2], items[4]]);
  });
});
