import { isCompacted, isResponseItem, tokenUsageToJson } from '@skein/thread-store-api';
import type { ResponseItemPayload, RolloutItem, TokenUsage } from '@skein/thread-store-api';

/**
 * Builders for the rollout lines a legacy Codex turn records, in the shapes Codex 0.169 writes
 * (field names and nesting as in its rollouts, so Codex can read and resume Skein's threads).
 */

export const TURN_ABORTED_MARKER =
  '<turn_aborted>\nThe user interrupted the previous turn on purpose. Anything it was doing may be incomplete.\n</turn_aborted>';

const seconds = (d: Date): number => Math.floor(d.getTime() / 1000);

export function taskStarted(turnId: string, at: Date, contextWindow: number | null): RolloutItem {
  return {
    type: 'event_msg',
    payload: {
      type: 'task_started',
      turn_id: turnId,
      started_at: seconds(at),
      model_context_window: contextWindow,
      collaboration_mode_kind: 'default',
    },
  };
}

export interface TurnSettings {
  cwd: string;
  model: string;
  approvalPolicy: string;
  sandboxPolicy: unknown;
  reasoningEffort: string | null;
}

export function turnContext(turnId: string, s: TurnSettings): RolloutItem {
  const payload: Record<string, unknown> = {
    turn_id: turnId,
    cwd: s.cwd,
    approval_policy: s.approvalPolicy,
    sandbox_policy: s.sandboxPolicy,
    model: s.model,
    summary: 'auto',
  };
  if (s.reasoningEffort) payload.effort = s.reasoningEffort;
  return { type: 'turn_context', payload };
}

/** The user's input as the model sees it (a `response_item` user message). */
export function userResponseItem(content: readonly Record<string, unknown>[]): ResponseItemPayload {
  return { type: 'message', role: 'user', content: [...content] };
}

export function userMessageEvent(text: string, images: readonly string[], localImages: readonly string[]): RolloutItem {
  return {
    type: 'event_msg',
    payload: {
      type: 'user_message',
      message: text,
      images: [...images],
      local_images: [...localImages],
      text_elements: [],
    },
  };
}

/**
 * The items of a paginated rollout (`item_completed`, as Codex 0.169 writes them): they carry the
 * item's id, so readers return the id the live events announced.
 */
export interface PaginatedItemContext {
  threadId: string;
  turnId: string;
  id: string;
}

function itemCompleted(ctx: PaginatedItemContext, item: Record<string, unknown>, atMs?: number): RolloutItem {
  const payload: Record<string, unknown> = { type: 'item_completed', thread_id: ctx.threadId, turn_id: ctx.turnId };
  payload.item = item;
  if (atMs !== undefined) {
    payload.started_at_ms = atMs;
    payload.completed_at_ms = atMs;
  }
  return { type: 'event_msg', payload };
}

export function userMessageItem(
  ctx: PaginatedItemContext,
  text: string,
  images: readonly string[],
  localImages: readonly string[],
  atMs: number,
): RolloutItem {
  const content: Record<string, unknown>[] = [];
  if (text !== '') content.push({ type: 'text', text, text_elements: [] });
  for (const url of images) content.push({ type: 'image', url });
  for (const path of localImages) content.push({ type: 'localImage', path });
  return itemCompleted(ctx, { type: 'UserMessage', id: ctx.id, content }, atMs);
}

export function agentMessageItem(ctx: PaginatedItemContext, text: string, atMs: number): RolloutItem {
  return itemCompleted(ctx, { type: 'AgentMessage', id: ctx.id, content: [{ type: 'Text', text }] }, atMs);
}

export function reasoningCompletedItem(ctx: PaginatedItemContext, text: string): RolloutItem {
  return itemCompleted(ctx, { type: 'Reasoning', id: ctx.id, summary_text: [text], raw_content: [] });
}

export function agentMessageEvent(text: string): RolloutItem {
  return { type: 'event_msg', payload: { type: 'agent_message', message: text, phase: null } };
}

export function agentReasoningEvent(text: string): RolloutItem {
  return { type: 'event_msg', payload: { type: 'agent_reasoning', text } };
}

export function responseItem(payload: ResponseItemPayload): RolloutItem {
  return { type: 'response_item', payload };
}

export function tokenCount(
  total: TokenUsage | null,
  last: TokenUsage | null,
  contextWindow: number | null,
): RolloutItem {
  return {
    type: 'event_msg',
    payload: {
      type: 'token_count',
      info:
        total === null
          ? null
          : {
              total_token_usage: tokenUsageToJson(total),
              last_token_usage: tokenUsageToJson(last ?? total),
              model_context_window: contextWindow,
            },
      rate_limits: null,
    },
  };
}

export function taskComplete(
  turnId: string,
  lastAgentMessage: string | null,
  startedAt: Date,
  completedAt: Date,
): RolloutItem {
  return {
    type: 'event_msg',
    payload: {
      type: 'task_complete',
      turn_id: turnId,
      last_agent_message: lastAgentMessage,
      started_at: seconds(startedAt),
      completed_at: seconds(completedAt),
      duration_ms: Math.max(0, completedAt.getTime() - startedAt.getTime()),
    },
  };
}

export function turnAborted(turnId: string | null, reason = 'interrupted'): RolloutItem {
  return { type: 'event_msg', payload: { type: 'turn_aborted', turn_id: turnId, reason } };
}

/** The synthetic user message that tells the model a turn was cut short. */
export function turnAbortedMarker(): ResponseItemPayload {
  return userResponseItem([{ type: 'input_text', text: TURN_ABORTED_MARKER }]);
}

export function addUsage(a: TokenUsage | null, b: TokenUsage): TokenUsage {
  if (!a) return { ...b };
  return {
    inputTokens: a.inputTokens + b.inputTokens,
    cachedInputTokens: a.cachedInputTokens + b.cachedInputTokens,
    outputTokens: a.outputTokens + b.outputTokens,
    reasoningOutputTokens: a.reasoningOutputTokens + b.reasoningOutputTokens,
    totalTokens: a.totalTokens + b.totalTokens,
  };
}

/** The model-visible conversation a history implies (a compaction replaces what came before). */
export function conversationFromHistory(history: readonly RolloutItem[]): ResponseItemPayload[] {
  let out: ResponseItemPayload[] = [];
  for (const item of history) {
    if (isResponseItem(item)) {
      if (item.payload.type !== 'ghost_snapshot') out.push(item.payload);
    } else if (isCompacted(item) && Array.isArray(item.payload.replacement_history)) {
      out = item.payload.replacement_history.filter(
        (x): x is ResponseItemPayload =>
          typeof x === 'object' && x !== null && typeof (x as { type?: unknown }).type === 'string',
      );
    }
  }
  return out;
}

/** Text of an assistant message item. */
export function assistantText(item: ResponseItemPayload): string | null {
  if (item.type !== 'message' || item.role !== 'assistant' || !Array.isArray(item.content)) return null;
  let text = '';
  for (const c of item.content as unknown[]) {
    if (typeof c === 'object' && c !== null && typeof (c as { text?: unknown }).text === 'string')
      text += (c as { text: string }).text;
  }
  return text;
}

/** Summary text of a reasoning item. */
export function reasoningText(item: ResponseItemPayload): string | null {
  if (item.type !== 'reasoning' || !Array.isArray(item.summary)) return null;
  const parts: string[] = [];
  for (const s of item.summary as unknown[]) {
    if (typeof s === 'object' && s !== null && typeof (s as { text?: unknown }).text === 'string')
      parts.push((s as { text: string }).text);
  }
  return parts.length > 0 ? parts.join('\n') : null;
}
