import { isObject, ThreadStoreError } from '@skein/thread-store-api';
import type { ResponseItemPayload, ThreadStoreErrorCode, TokenUsage } from '@skein/thread-store-api';
import { parseSse } from './internal/sse.js';
import type { ModelClient, ModelRequest, ModelStreamEvent } from './model-client.js';

/** Options of `OpenAIResponsesModelClient`. */
export interface OpenAIResponsesModelClientOptions {
  /** e.g. `gpt-5.1-codex`. */
  model: string;
  /** Default `https://api.openai.com/v1`. `/responses` is appended. */
  baseUrl?: string;
  /** Name of the environment variable that holds the API key. Default `OPENAI_API_KEY`. */
  apiKeyEnv?: string;
  /**
   * `false`: a missing key is not an error and no Authorization header is sent (local servers,
   * e.g. on loopback, that take no key). Default `true`.
   */
  requireApiKey?: boolean;
  /** Provider id recorded on threads. Default `openai`. */
  provider?: string;
  contextWindow?: number | null;
  /** Extra request headers. */
  headers?: Record<string, string>;
  /** Injected fetch (default: the global one). */
  fetch?: typeof fetch;
}

function statusCode(status: number): ThreadStoreErrorCode {
  if (status === 401) return 'unauthenticated';
  if (status === 403) return 'permission_denied';
  if (status === 429) return 'resource_exhausted';
  if (status >= 500) return 'unavailable';
  return 'invalid_request';
}

function usageFromJson(v: unknown): TokenUsage | null {
  if (!isObject(v)) return null;
  const n = (x: unknown): number => (typeof x === 'number' && Number.isFinite(x) ? x : 0);
  const inDetails = isObject(v.input_tokens_details) ? v.input_tokens_details : {};
  const outDetails = isObject(v.output_tokens_details) ? v.output_tokens_details : {};
  return {
    inputTokens: n(v.input_tokens),
    cachedInputTokens: n(inDetails.cached_tokens),
    outputTokens: n(v.output_tokens),
    reasoningOutputTokens: n(outDetails.reasoning_tokens),
    totalTokens: n(v.total_tokens),
  };
}

/**
 * A model client for the OpenAI Responses API (or any server speaking it): one streamed
 * `POST {baseUrl}/responses` per turn, parsed from server-sent events.
 */
export class OpenAIResponsesModelClient implements ModelClient {
  readonly model: string;
  readonly provider: string;
  readonly contextWindow: number | null;
  private readonly baseUrl: string;
  private readonly apiKeyEnv: string;

  constructor(private readonly options: OpenAIResponsesModelClientOptions) {
    if (typeof options.model !== 'string' || options.model === '')
      throw ThreadStoreError.invalidRequest('OpenAIResponsesModelClient needs a model name');
    this.model = options.model;
    this.provider = options.provider ?? 'openai';
    this.contextWindow = options.contextWindow ?? null;
    this.baseUrl = (options.baseUrl ?? 'https://api.openai.com/v1').replace(/\/+$/, '');
    this.apiKeyEnv = options.apiKeyEnv ?? 'OPENAI_API_KEY';
  }

  /** Streams a reply from the Responses API. */
  async *stream(request: ModelRequest): AsyncIterable<ModelStreamEvent> {
    const key = process.env[this.apiKeyEnv];
    if (!key && this.options.requireApiKey !== false)
      throw new ThreadStoreError(
        'unauthenticated',
        `no API key: set the environment variable ${this.apiKeyEnv} for the model provider`,
      );
    const doFetch = this.options.fetch ?? fetch;
    const body: Record<string, unknown> = { model: this.model, input: request.input, stream: true, store: false };
    if (request.instructions !== undefined) body.instructions = request.instructions;
    let res: Response;
    try {
      res = await doFetch(`${this.baseUrl}/responses`, {
        method: 'POST',
        headers: {
          ...this.options.headers,
          ...(key ? { authorization: `Bearer ${key}` } : {}),
          'content-type': 'application/json',
          accept: 'text/event-stream',
        },
        body: JSON.stringify(body),
        signal: request.signal,
      });
    } catch (error) {
      if (request.signal.aborted) throw error;
      throw new ThreadStoreError(
        'unavailable',
        `model request to ${this.baseUrl} failed: ${(error as Error).message}`,
        { cause: error },
      );
    }
    if (!res.ok || !res.body) {
      const text = await res.text().catch(() => '');
      throw new ThreadStoreError(
        statusCode(res.status),
        `model request failed with HTTP ${res.status}: ${text.slice(0, 500)}`,
      );
    }
    let completed = false;
    try {
      for await (const sse of parseSse(res.body as unknown as AsyncIterable<Uint8Array>)) {
        let ev: unknown;
        try {
          ev = JSON.parse(sse.data);
        } catch {
          throw new ThreadStoreError('unavailable', `model stream sent invalid JSON in a "${sse.event}" event`);
        }
        if (!isObject(ev)) continue;
        const type = typeof ev.type === 'string' ? ev.type : sse.event;
        const response = isObject(ev.response) ? ev.response : {};
        switch (type) {
          case 'response.created':
            yield { type: 'created', responseId: typeof response.id === 'string' ? response.id : '' };
            break;
          case 'response.output_item.added':
            if (isObject(ev.item) && typeof ev.item.type === 'string')
              yield { type: 'output_item_added', item: ev.item as ResponseItemPayload };
            break;
          case 'response.output_text.delta':
            if (typeof ev.delta === 'string')
              yield {
                type: 'output_text_delta',
                delta: ev.delta,
                itemId: typeof ev.item_id === 'string' ? ev.item_id : null,
              };
            break;
          case 'response.output_item.done':
            if (isObject(ev.item) && typeof ev.item.type === 'string')
              yield { type: 'output_item_done', item: ev.item as ResponseItemPayload };
            break;
          case 'response.completed':
            completed = true;
            yield {
              type: 'completed',
              responseId: typeof response.id === 'string' ? response.id : '',
              usage: usageFromJson(response.usage),
            };
            return;
          case 'response.failed':
          case 'response.incomplete':
          case 'error': {
            const err = isObject(response.error) ? response.error : isObject(ev.error) ? ev.error : ev;
            const message = typeof err.message === 'string' ? err.message : type;
            throw new ThreadStoreError('unavailable', `model response failed: ${message}`);
          }
          default:
            break;
        }
      }
    } catch (error) {
      if (request.signal.aborted) throw request.signal.reason ?? error;
      throw error;
    }
    if (!completed) throw new ThreadStoreError('unavailable', 'model stream closed before response.completed');
  }
}
