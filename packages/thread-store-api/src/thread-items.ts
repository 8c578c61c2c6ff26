import { isObject } from './rollout-item.js';
import type { JsonObject } from './rollout-item.js';

/**
 * The app-server v2 `ThreadItem` JSON for what a rollout records: legacy events
 * (`user_message`, `agent_message`, `agent_reasoning`, …) and the core `TurnItem`s of paginated
 * `item_completed` events. Shapes follow what Codex 0.169 stores in `thread_history_1.sqlite`.
 */

const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const strList = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

function userMessage(id: string, content: unknown[]): JsonObject {
  return { type: 'userMessage', id, clientId: null, content };
}

function agentMessage(id: string, text: string, phase: unknown, memoryCitation: unknown): JsonObject {
  return {
    type: 'agentMessage',
    moderation: null,
    id,
    text,
    phase: typeof phase === 'string' ? phase : null,
    memoryCitation: memoryCitation ?? null,
    delivery: null,
    questions: null,
  };
}

/**
 * A legacy `user_message` event's inputs: its text (when not blank), then images and local images.
 *
 * @internal
 */
export function legacyUserMessageItem(id: string, p: JsonObject): JsonObject {
  const content: unknown[] = [];
  const message = str(p.message);
  if (message.trim() !== '')
    content.push({ type: 'text', text: message, text_elements: Array.isArray(p.text_elements) ? p.text_elements : [] });
  for (const url of strList(p.images)) content.push({ type: 'image', url });
  for (const path of strList(p.local_images)) content.push({ type: 'localImage', path });
  return userMessage(id, content);
}

/** @internal */
export function legacyAgentMessageItem(id: string, p: JsonObject): JsonObject {
  return agentMessage(id, str(p.message), p.phase, p.memory_citation);
}

/** @internal */
export function reasoningItem(id: string, summary: string[], content: string[]): JsonObject {
  return { type: 'reasoning', id, summary, content };
}

function lowerFirst(s: string): string {
  return s.length > 0 ? s[0]!.toLowerCase() + s.slice(1) : s;
}

function camel(key: string): string {
  return key.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

/** Other item kinds: the type in camelCase and top-level keys in camelCase, values kept. */
function generic(it: JsonObject): JsonObject {
  const out: JsonObject = { type: lowerFirst(str(it.type)) };
  for (const [k, v] of Object.entries(it)) if (k !== 'type') out[camel(k)] = v;
  return out;
}

function userInput(c: unknown): unknown {
  if (!isObject(c)) return c;
  switch (c.type) {
    case 'text':
      return { type: 'text', text: str(c.text), text_elements: Array.isArray(c.text_elements) ? c.text_elements : [] };
    case 'image':
      return { type: 'image', url: str(c.image_url ?? c.url) };
    case 'local_image':
    case 'localImage':
      return { type: 'localImage', path: str(c.path) };
    default:
      return c;
  }
}

/**
 * The v2 item of a paginated `item_completed` event's core item; null when it has no usable id.
 *
 * @internal
 */
export function turnItemToThreadItem(it: unknown): JsonObject | null {
  if (!isObject(it) || typeof it.type !== 'string' || typeof it.id !== 'string') return null;
  const id = it.id;
  switch (it.type) {
    case 'UserMessage':
      return userMessage(id, Array.isArray(it.content) ? it.content.map(userInput) : []);
    case 'AgentMessage': {
      const parts = Array.isArray(it.content) ? it.content : [];
      const text = parts.map((c) => (isObject(c) && typeof c.text === 'string' ? c.text : '')).join('');
      return agentMessage(id, text, it.phase, it.memory_citation);
    }
    case 'Reasoning':
      return reasoningItem(id, strList(it.summary_text), strList(it.raw_content));
    case 'ContextCompaction':
      return { type: 'contextCompaction', id };
    default:
      return generic(it);
  }
}
