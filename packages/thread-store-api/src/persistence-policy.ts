import type { HistoryMode, RolloutItem } from './rollout-item.js';
import { isObject } from './rollout-item.js';

/**
 * Which rollout items a store keeps, after Codex's rollout policy. Streaming deltas, `*_begin`
 * events, approvals, `session_configured`, warnings and errors are never persisted; line types
 * this package does not know are kept, so newer writers' lines survive.
 */
const EVENTS_BOTH_MODES = new Set([
  'task_started',
  'task_complete',
  'token_count',
  'thread_settings_applied',
  'turn_aborted',
  'thread_name_updated',
]);

const EVENTS_LEGACY_ONLY = new Set([
  'user_message',
  'agent_message',
  'agent_reasoning',
  'agent_reasoning_raw_content',
  'patch_apply_end',
  'mcp_tool_call_end',
  'web_search_end',
  'image_generation_end',
  'thread_goal_updated',
  'context_compacted',
  'thread_rolled_back',
  'entered_review_mode',
  'exited_review_mode',
  'sub_agent_activity',
  'undo_completed',
]);

/** Legacy threads keep `item_completed` only for these item types. */
const LEGACY_ITEM_COMPLETED_TYPES = new Set(['Plan', 'Sleep']);

/** Response items that are never written (`ghost_snapshot` is dropped on read, too). */
const DROPPED_RESPONSE_ITEMS = new Set(['compaction_trigger', 'other', 'ghost_snapshot']);

/**
 * Whether a store writes `item` to a thread's history in `mode`, following Codex's persistence
 * policy (streaming deltas and transient events are not written).
 */
export function isPersistedRolloutItem(item: RolloutItem, mode: HistoryMode = 'legacy'): boolean {
  switch (item.type) {
    case 'session_meta':
    case 'turn_context':
    case 'compacted':
      return true;
    case 'response_item': {
      const t = isObject(item.payload) ? item.payload.type : undefined;
      return typeof t === 'string' && !DROPPED_RESPONSE_ITEMS.has(t);
    }
    case 'event_msg': {
      const p = item.payload;
      if (!isObject(p) || typeof p.type !== 'string') return false;
      if (EVENTS_BOTH_MODES.has(p.type)) return true;
      if (p.type === 'item_completed') {
        if (mode === 'paginated') return true;
        const inner = isObject(p.item) ? p.item.type : undefined;
        return typeof inner === 'string' && LEGACY_ITEM_COMPLETED_TYPES.has(inner);
      }
      return mode === 'legacy' && EVENTS_LEGACY_ONLY.has(p.type);
    }
    default:
      return true;
  }
}

/** The items of `items` that a store persists, in order. */
export function persistedRolloutItems(items: readonly RolloutItem[], mode: HistoryMode = 'legacy'): RolloutItem[] {
  return items.filter((item) => isPersistedRolloutItem(item, mode));
}
