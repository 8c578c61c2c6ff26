import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { zstdDecompressIfAvailable } from './internal/decompress.js';

/**
 * A mock of the OpenAI Responses API, enough for the real Codex CLI to run full turns offline.
 *
 * `POST /v1/responses` answers with the SSE sequence Codex's own tests use: response.created →
 * response.output_item.added → response.output_text.delta → response.output_item.done (an
 * assistant message) → response.completed (with usage). The reply is deterministic: by default
 * `echo: <the last user prompt>`. A turn fails (response.failed) when `shouldFail(prompt)` says so —
 * by default when the prompt contains `FAIL_TURN` — or when `failNext()` was called.
 * `GET /v1/models` answers `{"models":[]}`. Anything else is a 404 and is recorded, so a test
 * can assert that Codex asked for nothing unexpected.
 */
export interface MockResponsesServerOptions {
  /** 0 (the default) picks a free port. The server always binds 127.0.0.1. */
  port?: number;
  /** The assistant's reply to a prompt. Default: `echo: ${prompt}`. */
  reply?: (prompt: string) => string;
  /** Whether the turn for this prompt fails with response.failed. Default: prompt contains `FAIL_TURN`. */
  shouldFail?: (prompt: string) => boolean;
}

export interface RecordedRequest {
  method: string;
  path: string;
  /** The parsed JSON body of a POST /v1/responses, else undefined. */
  body: unknown;
  /** The prompt the mock answered (last user text in `input`), for /v1/responses. */
  prompt: string | undefined;
  failed: boolean;
}

export interface MockResponsesServer {
  /** `http://127.0.0.1:<port>/v1`: the `base_url` of a Codex model provider. */
  readonly url: string;
  readonly port: number;
  /** Every request seen, in arrival order. */
  readonly requests: readonly RecordedRequest[];
  /** Requests to paths the mock does not serve. */
  readonly unexpectedRequests: readonly RecordedRequest[];
  /** Makes the next `n` (default 1) turns fail regardless of the prompt. */
  failNext(n?: number): void;
  close(): Promise<void>;
}

export const FAIL_MARKER = 'FAIL_TURN';

export function defaultReply(prompt: string): string {
  return `echo: ${prompt}`;
}

export async function startMockResponsesServer(options: MockResponsesServerOptions = {}): Promise<MockResponsesServer> {
  const reply = options.reply ?? defaultReply;
  const shouldFail = options.shouldFail ?? ((p: string) => p.includes(FAIL_MARKER));
  const requests: RecordedRequest[] = [];
  const unexpected: RecordedRequest[] = [];
  let forcedFailures = 0;
  let responseCounter = 0;

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      // A handler bug must not hang Codex: answer 500 so the turn fails visibly.
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`mock server error: ${String(err)}`);
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const method = req.method ?? 'GET';
    const raw = await readBody(req);

    if (method === 'GET' && path === '/v1/models') {
      requests.push({ method, path, body: undefined, prompt: undefined, failed: false });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"models":[]}');
      return;
    }

    if (method === 'POST' && path === '/v1/responses') {
      const text = decodeBody(raw, req.headers['content-encoding']);
      const body: unknown = JSON.parse(text);
      const prompt = lastUserPrompt(body) ?? '';
      const failed = forcedFailures > 0 || shouldFail(prompt);
      if (forcedFailures > 0) forcedFailures -= 1;
      requests.push({ method, path, body, prompt, failed });
      responseCounter += 1;
      const id = `resp_mock_${responseCounter}`;
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.end(failed ? failedStream(id) : successStream(id, `msg_mock_${responseCounter}`, reply(prompt), prompt));
      return;
    }

    const rec: RecordedRequest = { method, path, body: undefined, prompt: undefined, failed: false };
    requests.push(rec);
    unexpected.push(rec);
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end('{"error":{"message":"not served by the mock"}}');
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}/v1`,
    port,
    requests,
    unexpectedRequests: unexpected,
    failNext(n = 1) {
      forcedFailures += n;
    },
    close() {
      return new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
    },
  };
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function decodeBody(raw: Buffer, encoding: string | string[] | undefined): string {
  const enc = Array.isArray(encoding) ? encoding[0] : encoding;
  if (enc === 'zstd') return zstdDecompressIfAvailable(raw).toString('utf8');
  return raw.toString('utf8');
}

/** The text of the last `role:"user"` message in a Responses request's `input`. */
export function lastUserPrompt(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const input = (body as { input?: unknown }).input;
  if (!Array.isArray(input)) return undefined;
  for (let i = input.length - 1; i >= 0; i--) {
    const item = input[i] as { type?: unknown; role?: unknown; content?: unknown };
    if (item?.type !== 'message' || item.role !== 'user' || !Array.isArray(item.content)) continue;
    const texts = (item.content as { type?: unknown; text?: unknown }[])
      .filter((c) => c?.type === 'input_text' && typeof c.text === 'string')
      .map((c) => c.text as string);
    // Codex injects harness context (<environment_context>, <turn_aborted>, …) as user messages;
    // skip those so the echo is the human prompt.
    const text = texts.join('\n');
    if (text.trimStart().startsWith('<')) continue;
    return text;
  }
  return undefined;
}

function sse(events: object[]): string {
  return events.map((ev) => `event: ${(ev as { type: string }).type}\ndata: ${JSON.stringify(ev)}\n\n`).join('');
}

function successStream(id: string, msgId: string, text: string, prompt: string): string {
  const inputTokens = 100 + prompt.length;
  const outputTokens = 10 + text.length;
  return sse([
    { type: 'response.created', response: { id } },
    {
      type: 'response.output_item.added',
      output_index: 0,
      item: { type: 'message', role: 'assistant', id: msgId, content: [] },
    },
    { type: 'response.output_text.delta', output_index: 0, content_index: 0, item_id: msgId, delta: text },
    {
      type: 'response.output_item.done',
      output_index: 0,
      item: {
        type: 'message',
        role: 'assistant',
        id: msgId,
        status: 'completed',
        content: [{ type: 'output_text', text, annotations: [] }],
      },
    },
    {
      type: 'response.completed',
      response: {
        id,
        usage: {
          input_tokens: inputTokens,
          input_tokens_details: { cached_tokens: 0 },
          output_tokens: outputTokens,
          output_tokens_details: { reasoning_tokens: 0 },
          total_tokens: inputTokens + outputTokens,
        },
      },
    },
  ]);
}

function failedStream(id: string): string {
  return sse([
    { type: 'response.created', response: { id } },
    {
      type: 'response.failed',
      response: { id, error: { code: 'server_error', message: 'mock: this turn was told to fail' } },
    },
  ]);
}
