import { ThreadStoreError } from '@skein/thread-store-api';
import type { ResponseItemPayload, TokenUsage } from '@skein/thread-store-api';
import { lastUserText } from './model-client.js';
import type { ModelClient, ModelRequest, ModelStreamEvent } from './model-client.js';

/** Options of `EchoModelClient`. */
export interface EchoModelClientOptions {
  /** Default `echo`. */
  model?: string;
  /** Default `echo`. */
  provider?: string;
  /** The reply to a prompt. Default: `echo: <prompt>`. */
  reply?: (prompt: string) => string;
  /** Whether the response for a prompt fails. Default: never. */
  failWhen?: (prompt: string) => boolean;
  /** Characters per streamed delta (default 8). */
  deltaSize?: number;
  /**
   * Awaited after the first delta, before the item is done: tests use it to hold a turn open
   * (to interrupt it). It should settle or honour the signal.
   */
  pause?: (prompt: string, signal: AbortSignal) => Promise<void>;
}

/** Deterministic stand-in for a model: answers every prompt with an echo, streamed in pieces. */
export class EchoModelClient implements ModelClient {
  readonly model: string;
  readonly provider: string;
  readonly contextWindow = 128_000;
  private responses = 0;

  constructor(private readonly options: EchoModelClientOptions = {}) {
    this.model = options.model ?? 'echo';
    this.provider = options.provider ?? 'echo';
  }

  /** Streams the echo of the last user message, one word per delta. */
  async *stream(request: ModelRequest): AsyncIterable<ModelStreamEvent> {
    const { signal } = request;
    const prompt = lastUserText(request.input);
    this.responses += 1;
    const n = this.responses;
    const responseId = `resp_echo_${n}`;
    const itemId = `msg_echo_${n}`;
    signal.throwIfAborted();
    yield { type: 'created', responseId };
    if (this.options.failWhen?.(prompt)) {
      throw new ThreadStoreError(
        'unavailable',
        `model response failed: the echo model was told to fail on this prompt`,
      );
    }
    const text = (this.options.reply ?? ((p: string) => `echo: ${p}`))(prompt);
    yield { type: 'output_item_added', item: { type: 'message', id: itemId, role: 'assistant', content: [] } };
    const size = Math.max(1, this.options.deltaSize ?? 8);
    for (let i = 0; i < text.length || i === 0; i += size) {
      signal.throwIfAborted();
      yield { type: 'output_text_delta', delta: text.slice(i, i + size), itemId };
      if (i === 0 && this.options.pause) await this.options.pause(prompt, signal);
      if (text.length === 0) break;
    }
    signal.throwIfAborted();
    const item: ResponseItemPayload = {
      type: 'message',
      id: itemId,
      role: 'assistant',
      status: 'completed',
      content: [{ type: 'output_text', text, annotations: [] }],
    };
    yield { type: 'output_item_done', item };
    const inputChars = JSON.stringify(request.input).length;
    const usage: TokenUsage = {
      inputTokens: Math.ceil(inputChars / 4),
      cachedInputTokens: 0,
      outputTokens: Math.ceil(text.length / 4),
      reasoningOutputTokens: 0,
      totalTokens: Math.ceil(inputChars / 4) + Math.ceil(text.length / 4),
    };
    yield { type: 'completed', responseId, usage };
  }
}
