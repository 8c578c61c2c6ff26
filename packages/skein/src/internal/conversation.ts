import { agentMessageText, isEventMsg, isObject, isResponseItem, userMessageText } from '@skein/thread-store-api';
import type { RolloutItem } from '@skein/thread-store-api';

/** One thing said or done in a turn. Reasoning and tools are kept for `--full`. */
export interface ConversationEntry {
  kind: 'user' | 'assistant' | 'reasoning' | 'tool_call' | 'tool_output';
  text: string;
  /** The tool's name (tool calls only). */
  name?: string;
  /** The item's timestamp (UTC ISO-8601), or null when the line has none. */
  timestamp: string | null;
}

/** How a turn of a shown thread ended; `unfinished` when it has no end line yet. */
export type TurnStatus = 'completed' | 'failed' | 'interrupted' | 'unfinished';

/**
 * A turn as people count them: turn N is the one `threads fork --turn N` keeps last. Turns
 * start at each `task_started` (a history without them, from older Codex, at each user message).
 */
export interface ConversationTurn {
  number: number;
  turnId: string | null;
  status: TurnStatus;
  /** Why a failed turn failed (Codex records it on `task_complete.error`), or the abort reason. */
  error: string | null;
  startedAt: string | null;
  entries: ConversationEntry[];
}

function str(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}

/** Reasoning text of an `agent_reasoning` event or a paginated `Reasoning` item. */
function reasoningText(item: RolloutItem): string | undefined {
  if (isEventMsg(item, 'agent_reasoning')) return str(item.payload.text) ?? undefined;
  if (isEventMsg(item, 'item_completed') && isObject(item.payload.item) && item.payload.item.type === 'Reasoning') {
    const it = item.payload.item;
    const parts: string[] = [];
    for (const key of ['summary', 'content', 'summary_text']) {
      const v = it[key];
      if (typeof v === 'string') parts.push(v);
      else if (Array.isArray(v))
        for (const p of v) {
          if (typeof p === 'string') parts.push(p);
          else if (isObject(p) && typeof p.text === 'string') parts.push(p.text);
        }
      if (parts.length > 0) break;
    }
    return parts.join('\n');
  }
  return undefined;
}

function toolOutputText(output: unknown): string {
  if (typeof output === 'string') return output;
  if (Array.isArray(output))
    return output
      .map((c) => (isObject(c) && typeof c.text === 'string' ? c.text : ''))
      .filter((t) => t !== '')
      .join('\n');
  if (isObject(output) && typeof output.content === 'string') return output.content;
  return JSON.stringify(output);
}

/** Tool calls and their outputs, from the response items the model saw. */
function toolEntry(item: RolloutItem, timestamp: string | null): ConversationEntry | undefined {
  if (!isResponseItem(item)) return undefined;
  const p = item.payload;
  switch (p.type) {
    case 'function_call':
      return { kind: 'tool_call', name: str(p.name) ?? 'tool', text: str(p.arguments) ?? '', timestamp };
    case 'custom_tool_call':
      return { kind: 'tool_call', name: str(p.name) ?? 'tool', text: str(p.input) ?? '', timestamp };
    case 'local_shell_call':
      return { kind: 'tool_call', name: 'shell', text: JSON.stringify(p.action ?? null), timestamp };
    case 'web_search_call':
      return { kind: 'tool_call', name: 'web_search', text: JSON.stringify(p.action ?? null), timestamp };
    case 'function_call_output':
    case 'custom_tool_call_output':
      return { kind: 'tool_output', text: toolOutputText(p.output), timestamp };
    default:
      return undefined;
  }
}

/** Assistant text of a response item: the model's copy, used when no event recorded the reply. */
function assistantResponseText(item: RolloutItem): string | undefined {
  if (!isResponseItem(item)) return undefined;
  const p = item.payload;
  if (p.type !== 'message' || p.role !== 'assistant' || !Array.isArray(p.content)) return undefined;
  const parts: string[] = [];
  for (const c of p.content) if (isObject(c) && typeof c.text === 'string') parts.push(c.text);
  return parts.join('');
}

function usesTaskStarted(items: readonly RolloutItem[]): boolean {
  return items.some((i) => isEventMsg(i, 'task_started'));
}

/**
 * The turns of a history with what was said in each, and how each ended: failed turns keep
 * their error, interrupted ones their partial reply. The first `session_meta` (and a legacy
 * fork's copy of its parent's) start no turn.
 */
export function conversationOf(items: readonly RolloutItem[]): ConversationTurn[] {
  const turns: ConversationTurn[] = [];
  const byTask = usesTaskStarted(items);
  let current: ConversationTurn | null = null;
  // Replies recorded only as response items (no event), per turn: shown when no event said them.
  let fallback: ConversationEntry[] = [];
  let sawAgentEvent = false;

  const close = (): void => {
    if (current !== null && !sawAgentEvent && fallback.length > 0) {
      // Keep the order: the fallback replies go after the last user message of the turn.
      current.entries.push(...fallback);
    }
    fallback = [];
    sawAgentEvent = false;
  };
  const open = (turnId: string | null, startedAt: string | null): ConversationTurn => {
    close();
    current = { number: turns.length + 1, turnId, status: 'unfinished', error: null, startedAt, entries: [] };
    turns.push(current);
    return current;
  };

  for (const item of items) {
    const timestamp = str(item.timestamp);
    if (isEventMsg(item, 'task_started')) {
      open(str(item.payload.turn_id), timestamp);
      continue;
    }
    const user = userMessageText(item);
    if (user !== undefined) {
      const turn = !byTask || current === null ? open(null, timestamp) : current;
      turn.entries.push({ kind: 'user', text: user, timestamp });
      continue;
    }
    const turn = current as ConversationTurn | null;
    if (turn === null) continue;
    const agent = agentMessageText(item);
    if (agent !== undefined) {
      sawAgentEvent = true;
      turn.entries.push({ kind: 'assistant', text: agent, timestamp });
      continue;
    }
    const reasoning = reasoningText(item);
    if (reasoning !== undefined) {
      turn.entries.push({ kind: 'reasoning', text: reasoning, timestamp });
      continue;
    }
    const tool = toolEntry(item, timestamp);
    if (tool !== undefined) {
      turn.entries.push(tool);
      continue;
    }
    const said = assistantResponseText(item);
    if (said !== undefined && said !== '') {
      fallback.push({ kind: 'assistant', text: said, timestamp });
      continue;
    }
    if (isEventMsg(item, 'task_complete')) {
      const error = isObject(item.payload.error) ? str(item.payload.error.message) : str(item.payload.error);
      turn.status = error !== null ? 'failed' : 'completed';
      turn.error = error;
      continue;
    }
    if (isEventMsg(item, 'turn_aborted')) {
      turn.status = 'interrupted';
      turn.error = str(item.payload.reason);
    }
  }
  close();
  // Without task_started/task_complete (older Codex), a turn with a reply counts as completed.
  if (!byTask) for (const t of turns) if (t.status === 'unfinished' && t.entries.length > 1) t.status = 'completed';
  return turns;
}
