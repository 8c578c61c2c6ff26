import { isEventMsg, isObject, isResponseItem, newThreadId, persistedRolloutItems } from '@skein/thread-store-api';
import type { HistoryMode, RolloutItem } from '@skein/thread-store-api';

/**
 * Writers may append a turn in either shape: the legacy events (`user_message`, `agent_message`,
 * `agent_reasoning`) or the paginated `item_completed` items. A rollout keeps one shape, so the
 * store converts to the shape of the file it writes (Codex's projection builds turns only from
 * `item_completed` lines that carry `thread_id` and `turn_id`, and a legacy reader only knows the
 * events). A batch that already carries the target shape is kept as it is.
 */
export interface ShapeState {
  threadId: string;
  /** The turn the next items belong to (from the last `task_started` / `turn_context`). */
  turnId: string | null;
}

const MESSAGE_KINDS: Record<string, string> = {
  user_message: 'UserMessage',
  agent_message: 'AgentMessage',
  agent_reasoning: 'Reasoning',
};

function innerType(item: RolloutItem): string | null {
  if (!isEventMsg(item, 'item_completed')) return null;
  const it = item.payload.item;
  return isObject(it) && typeof it.type === 'string' ? it.type : null;
}

function text(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

/** The id of the model output a legacy event describes: the response item that follows it. */
function followingOutputId(items: readonly RolloutItem[], i: number, kind: 'message' | 'reasoning'): string | null {
  const next = items[i + 1];
  if (next && isResponseItem(next) && next.payload.type === kind && typeof next.payload.id === 'string')
    return next.payload.id;
  return null;
}

function toItemCompleted(
  item: RolloutItem,
  items: readonly RolloutItem[],
  i: number,
  state: ShapeState,
): RolloutItem | null {
  const p = item.payload as Record<string, unknown>;
  const turnId = state.turnId;
  let inner: Record<string, unknown>;
  switch (p.type) {
    case 'user_message': {
      const content: Record<string, unknown>[] = [];
      if (text(p.message) !== '') content.push({ type: 'text', text: p.message, text_elements: [] });
      for (const url of Array.isArray(p.images) ? p.images : []) content.push({ type: 'image', url });
      for (const path of Array.isArray(p.local_images) ? p.local_images : [])
        content.push({ type: 'localImage', path });
      inner = { type: 'UserMessage', id: newThreadId(), content };
      break;
    }
    case 'agent_message':
      inner = {
        type: 'AgentMessage',
        id: followingOutputId(items, i, 'message') ?? `msg_${newThreadId()}`,
        content: [{ type: 'Text', text: text(p.message) }],
        phase: p.phase ?? null,
      };
      break;
    case 'agent_reasoning':
      inner = {
        type: 'Reasoning',
        id: followingOutputId(items, i, 'reasoning') ?? `rs_${newThreadId()}`,
        summary_text: [text(p.text)],
        raw_content: [],
      };
      break;
    default:
      return null;
  }
  const payload: Record<string, unknown> = { type: 'item_completed', thread_id: state.threadId, turn_id: turnId };
  payload.item = inner;
  const out: RolloutItem = { type: 'event_msg', payload };
  if (item.timestamp !== undefined) out.timestamp = item.timestamp;
  return out;
}

function toLegacyEvent(item: RolloutItem): RolloutItem | null {
  const it = (item.payload as { item?: Record<string, unknown> }).item ?? {};
  const parts = Array.isArray(it.content) ? (it.content as unknown[]).filter(isObject) : [];
  let payload: Record<string, unknown>;
  switch (it.type) {
    case 'UserMessage':
      payload = {
        type: 'user_message',
        message: parts
          .filter((c) => c.type === 'text')
          .map((c) => text(c.text))
          .join('\n'),
        images: parts.filter((c) => c.type === 'image').map((c) => c.url ?? c.image_url),
        local_images: parts.filter((c) => c.type === 'localImage' || c.type === 'local_image').map((c) => c.path),
        text_elements: [],
      };
      break;
    case 'AgentMessage':
      payload = { type: 'agent_message', message: parts.map((c) => text(c.text)).join(''), phase: it.phase ?? null };
      break;
    case 'Reasoning':
      payload = {
        type: 'agent_reasoning',
        text: (Array.isArray(it.summary_text) ? it.summary_text : []).map(text).join('\n'),
      };
      break;
    default:
      return null;
  }
  const out: RolloutItem = { type: 'event_msg', payload };
  if (item.timestamp !== undefined) out.timestamp = item.timestamp;
  return out;
}

/**
 * The items a store writes for `items` in a rollout of `mode`: converted to that mode's message
 * shape, then filtered by the persistence policy. `state` follows the turn across batches.
 */
export function shapeForMode(items: readonly RolloutItem[], mode: HistoryMode, state: ShapeState): RolloutItem[] {
  const paginatedKinds = new Set(items.map(innerType).filter((t): t is string => t !== null));
  const legacyKinds = new Set(
    items
      .filter((x) => x.type === 'event_msg' && isObject(x.payload) && typeof x.payload.type === 'string')
      .map((x) => MESSAGE_KINDS[(x.payload as { type: string }).type])
      .filter((t): t is string => t !== undefined),
  );
  const out: RolloutItem[] = [];
  items.forEach((item, i) => {
    if ((isEventMsg(item, 'task_started') || item.type === 'turn_context') && isObject(item.payload)) {
      const t = item.payload.turn_id;
      if (typeof t === 'string' && t !== '') state.turnId = t;
    }
    if (mode === 'paginated' && item.type === 'event_msg' && isObject(item.payload)) {
      const kind = MESSAGE_KINDS[text(item.payload.type)];
      if (kind !== undefined && !paginatedKinds.has(kind)) {
        const converted = toItemCompleted(item, items, i, state);
        if (converted) out.push(converted);
        return;
      }
    }
    if (mode === 'legacy') {
      const kind = innerType(item);
      if (kind !== null && Object.values(MESSAGE_KINDS).includes(kind) && !legacyKinds.has(kind)) {
        const converted = toLegacyEvent(item);
        if (converted) out.push(converted);
        return;
      }
    }
    out.push(item);
  });
  return persistedRolloutItems(out, mode);
}
