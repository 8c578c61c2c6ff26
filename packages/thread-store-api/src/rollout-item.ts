/**
 * Rollout items: one JSON object per line of a rollout file (`{timestamp, type, payload}` and, in
 * paginated threads, `ordinal`). Known types are typed; any other type is kept verbatim. Payloads
 * keep every field they arrive with, so unknown fields survive a read and a rewrite.
 */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
/** Any JSON object; payloads keep fields Skein does not know. */
export type JsonObject = { [key: string]: unknown };

/**
 * How a rollout file is laid out: `legacy` (no ordinals) or `paginated` (Codex 0.169's default:
 * every line after the first carries an `ordinal`).
 */
export type HistoryMode = 'legacy' | 'paginated';
/** Whether Codex may use the thread for its memories (`session_meta.memory_mode`). */
export type MemoryMode = 'enabled' | 'disabled';

/** The fields every rollout line may carry besides `type` and `payload`. */
export interface RolloutItemEnvelope {
  /** When the line was written: UTC ISO-8601 with milliseconds. Stores fill it on append if absent. */
  timestamp?: string;
  /** Line position; paginated threads only. */
  ordinal?: number;
}

/** The first line of every rollout: the thread's id, origin, working directory and creation facts. */
export interface SessionMetaPayload extends JsonObject {
  id: string;
  timestamp?: string;
  cwd?: string;
  originator?: string;
  cli_version?: string;
  source?: unknown;
  model_provider?: string | null;
  session_id?: string;
  forked_from_id?: string | null;
  parent_thread_id?: string | null;
  agent_nickname?: string | null;
  agent_role?: string | null;
  agent_path?: string | null;
  thread_source?: string | null;
  history_mode?: HistoryMode;
  memory_mode?: MemoryMode;
  base_instructions?: unknown;
  git?: { commit_hash?: string | null; branch?: string | null; repository_url?: string | null };
}

/**
 * A model input or output item (message, reasoning, function call, ...), as the Responses API
 * shapes it.
 */
export interface ResponseItemPayload extends JsonObject {
  type: string;
}

/** A protocol event (`user_message`, `agent_message`, `task_started`, `token_count`, ...). */
export interface EventMsgPayload extends JsonObject {
  type: string;
}

/** The settings a turn ran with: working directory, model, approval and sandbox policies. */
export interface TurnContextPayload extends JsonObject {
  cwd?: string;
  model?: string;
  effort?: string | null;
  approval_policy?: unknown;
  sandbox_policy?: unknown;
  turn_id?: string;
}

/** A compaction summary, and optionally the history that replaced the compacted turns. */
export interface CompactedPayload extends JsonObject {
  message: string;
  replacement_history?: unknown[];
}

/** A `session_meta` line. */
export interface SessionMetaItem extends RolloutItemEnvelope {
  type: 'session_meta';
  payload: SessionMetaPayload;
}
/** A `response_item` line. */
export interface ResponseItem extends RolloutItemEnvelope {
  type: 'response_item';
  payload: ResponseItemPayload;
}
/** An `event_msg` line. */
export interface EventMsgItem extends RolloutItemEnvelope {
  type: 'event_msg';
  payload: EventMsgPayload;
}
/** A `turn_context` line. */
export interface TurnContextItem extends RolloutItemEnvelope {
  type: 'turn_context';
  payload: TurnContextPayload;
}
/** A `compacted` line. */
export interface CompactedItem extends RolloutItemEnvelope {
  type: 'compacted';
  payload: CompactedPayload;
}
/** Any other line type (world_state, token_usage_record, …): kept exactly as read. */
export interface UnknownRolloutItem extends RolloutItemEnvelope {
  type: string;
  payload: unknown;
  [key: string]: unknown;
}

/** A line of a type Skein reads fields of. */
export type KnownRolloutItem = SessionMetaItem | ResponseItem | EventMsgItem | TurnContextItem | CompactedItem;
/** One line of a thread's history, in the order it was written. */
export type RolloutItem = KnownRolloutItem | UnknownRolloutItem;

/** True for a `session_meta` item with an id. */
export function isSessionMeta(item: RolloutItem): item is SessionMetaItem {
  return item.type === 'session_meta' && isObject(item.payload) && typeof item.payload.id === 'string';
}
/** True for a `response_item` with a payload type. */
export function isResponseItem(item: RolloutItem): item is ResponseItem {
  return item.type === 'response_item' && isObject(item.payload) && typeof item.payload.type === 'string';
}
/** True for an `event_msg` item, of type `eventType` when one is given. */
export function isEventMsg(item: RolloutItem, eventType?: string): item is EventMsgItem {
  return (
    item.type === 'event_msg' &&
    isObject(item.payload) &&
    typeof item.payload.type === 'string' &&
    (eventType === undefined || item.payload.type === eventType)
  );
}
/** True for a `turn_context` item. */
export function isTurnContext(item: RolloutItem): item is TurnContextItem {
  return item.type === 'turn_context' && isObject(item.payload);
}
/** True for a `compacted` item. */
export function isCompacted(item: RolloutItem): item is CompactedItem {
  return item.type === 'compacted' && isObject(item.payload);
}

/** @internal */
export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Checks that a value has the shape of a rollout line (object with a string `type` and a
 * `payload`). Returns a reason when it does not.
 *
 * @internal
 */
export function rolloutItemProblem(v: unknown): string | undefined {
  if (!isObject(v)) return 'an item must be a JSON object';
  if (typeof v.type !== 'string' || v.type.length === 0) return 'an item needs a non-empty string "type"';
  if (!('payload' in v)) return 'an item needs a "payload"';
  if (v.timestamp !== undefined && typeof v.timestamp !== 'string') return '"timestamp" must be a string';
  if (v.ordinal !== undefined && (typeof v.ordinal !== 'number' || !Number.isInteger(v.ordinal) || v.ordinal < 0))
    return '"ordinal" must be a non-negative integer';
  return undefined;
}

/**
 * Text of a user message event with Codex's `## My request for Codex:` prefix removed.
 *
 * @internal
 */
export const USER_MESSAGE_BEGIN = '## My request for Codex:';

/**
 * The text a user message contributes to preview and title: the part after the request marker,
 * trimmed; an image-only message is `[Image]`; an empty one is `undefined`.
 *
 * @internal
 */
export function userMessageDisplayText(message: string, hasImages: boolean): string | undefined {
  const at = message.indexOf(USER_MESSAGE_BEGIN);
  const text = (at >= 0 ? message.slice(at + USER_MESSAGE_BEGIN.length) : message).trim();
  if (text.length > 0) return text;
  return hasImages ? '[Image]' : undefined;
}

/**
 * The display text of a user message item: a legacy `user_message` event or a paginated
 * `item_completed` UserMessage. `undefined` for any other item.
 */
export function userMessageText(item: RolloutItem): string | undefined {
  if (isEventMsg(item, 'user_message')) {
    const p = item.payload;
    const message = typeof p.message === 'string' ? p.message : '';
    const images =
      (Array.isArray(p.images) && p.images.length > 0) || (Array.isArray(p.local_images) && p.local_images.length > 0);
    return userMessageDisplayText(message, images);
  }
  if (isEventMsg(item, 'item_completed')) {
    const it = item.payload.item;
    if (!isObject(it) || it.type !== 'UserMessage' || !Array.isArray(it.content)) return undefined;
    let text = '';
    let images = false;
    for (const c of it.content) {
      if (!isObject(c)) continue;
      if (c.type === 'text' && typeof c.text === 'string') text += (text ? '\n' : '') + c.text;
      else if (c.type === 'image' || c.type === 'localImage' || c.type === 'local_image') images = true;
    }
    return userMessageDisplayText(text, images);
  }
  return undefined;
}

/** The text of an agent message item (legacy `agent_message` event or paginated AgentMessage). */
export function agentMessageText(item: RolloutItem): string | undefined {
  if (isEventMsg(item, 'agent_message')) {
    return typeof item.payload.message === 'string' ? item.payload.message : undefined;
  }
  if (isEventMsg(item, 'item_completed')) {
    const it = item.payload.item;
    if (!isObject(it) || it.type !== 'AgentMessage' || !Array.isArray(it.content)) return undefined;
    const parts: string[] = [];
    for (const c of it.content) if (isObject(c) && typeof c.text === 'string') parts.push(c.text);
    return parts.join('');
  }
  return undefined;
}
