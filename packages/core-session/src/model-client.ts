import type { ResponseItemPayload, TokenUsage } from '@skein/thread-store-api';

/** What a session sends to the model for one turn. */
export interface ModelRequest {
  /** The conversation so far, as Responses API input items (messages, tool calls, …). */
  input: readonly ResponseItemPayload[];
  /** System instructions, when the session has any. */
  instructions?: string;
  /** Aborted when the turn is interrupted; clients stop streaming and reject. */
  signal: AbortSignal;
}

/** One event of a streamed model response (a subset of the Responses API stream). */
export type ModelStreamEvent =
  | { type: 'created'; responseId: string }
  | { type: 'output_item_added'; item: ResponseItemPayload }
  | { type: 'output_text_delta'; delta: string; itemId: string | null }
  | { type: 'output_item_done'; item: ResponseItemPayload }
  | { type: 'completed'; responseId: string; usage: TokenUsage | null };

/**
 * A pluggable model. `stream` yields output items as they are produced and ends with `completed`
 * (carrying usage); a failed response rejects with a `ThreadStoreError` (`unavailable` for
 * transport and model failures) and an interrupted one with the signal's reason.
 */
export interface ModelClient {
  /** The model name recorded in `turn_context`. */
  readonly model: string;
  /** The provider id recorded in `session_meta.model_provider`. */
  readonly provider: string;
  /** Context window size, when known (recorded in `task_started` and `token_count`). */
  readonly contextWindow?: number | null;
  /** Streams the model's reply to one request. */
  stream(request: ModelRequest): AsyncIterable<ModelStreamEvent>;
}

const HARNESS_TAGS = ['<turn_aborted>', '<environment_context>', '<user_instructions>', '<user_shell_command>'];

/** The text of the last user message in a model input (what the echo client answers). */
export function lastUserText(input: readonly ResponseItemPayload[]): string {
  for (let i = input.length - 1; i >= 0; i--) {
    const item = input[i];
    if (!item || item.type !== 'message' || item.role !== 'user' || !Array.isArray(item.content)) continue;
    const texts: string[] = [];
    for (const c of item.content as unknown[]) {
      if (typeof c === 'object' && c !== null && (c as { type?: unknown }).type === 'input_text') {
        const t = (c as { text?: unknown }).text;
        if (typeof t === 'string') texts.push(t);
      }
    }
    const text = texts.join('\n');
    // Harness-injected context (environment, instructions, aborted-turn markers) is not a prompt.
    if (HARNESS_TAGS.some((tag) => text.startsWith(tag))) continue;
    return text;
  }
  return '';
}
