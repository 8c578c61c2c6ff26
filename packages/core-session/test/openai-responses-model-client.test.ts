import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectHistory, InMemoryThreadStore, isThreadStoreError } from '@skein/thread-store-api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OpenAIResponsesModelClient, Session } from '../src/index.js';
import type { ModelStreamEvent } from '../src/index.js';
import { EventReader, shape } from './support/events.js';

interface Seen {
  headers: IncomingMessage['headers'];
  body: Record<string, unknown>;
}

type Handler = (req: IncomingMessage, res: ServerResponse, body: Record<string, unknown>) => void;

let server: Server;
let baseUrl: string;
let handler: Handler;
const seen: Seen[] = [];
const ENV = 'SKEIN_TEST_RESPONSES_KEY';

const sse = (type: string, data: Record<string, unknown>): string =>
  `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;

function happyStream(text: string, id = 'resp_1'): string {
  const item = {
    type: 'message',
    id: 'msg_1',
    role: 'assistant',
    status: 'completed',
    content: [{ type: 'output_text', text, annotations: [] }],
  };
  return (
    sse('response.created', { response: { id } }) +
    sse('response.output_item.added', { item: { type: 'message', id: 'msg_1', role: 'assistant', content: [] } }) +
    sse('response.output_text.delta', { delta: text.slice(0, 3), item_id: 'msg_1' }) +
    sse('response.output_text.delta', { delta: text.slice(3), item_id: 'msg_1' }) +
    sse('response.output_item.done', { item }) +
    sse('response.completed', {
      response: {
        id,
        usage: {
          input_tokens: 11,
          input_tokens_details: { cached_tokens: 2 },
          output_tokens: 5,
          output_tokens_details: { reasoning_tokens: 1 },
          total_tokens: 16,
        },
      },
    })
  );
}

beforeEach(async () => {
  process.env[ENV] = 'sk-test';
  seen.length = 0;
  handler = (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.end(happyStream('hi there'));
  };
  server = createServer((req, res) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (raw += c));
    req.on('end', () => {
      const body = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
      seen.push({ headers: req.headers, body });
      handler(req, res, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});

afterEach(async () => {
  delete process.env[ENV];
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const client = () => new OpenAIResponsesModelClient({ model: 'gpt-test', baseUrl, apiKeyEnv: ENV });

async function drain(it: AsyncIterable<ModelStreamEvent>): Promise<ModelStreamEvent[]> {
  const out: ModelStreamEvent[] = [];
  for await (const ev of it) out.push(ev);
  return out;
}

async function errorOf(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => null,
    (e: unknown) => e,
  );
}

const input = [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: 'hello' }] }];

describe('OpenAIResponsesModelClient', () => {
  it('streams a response and sends the request the Responses API expects', async () => {
    const events = await drain(
      client().stream({ input, instructions: 'be brief', signal: new AbortController().signal }),
    );
    expect(events.map((e) => e.type)).toEqual([
      'created',
      'output_item_added',
      'output_text_delta',
      'output_text_delta',
      'output_item_done',
      'completed',
    ]);
    expect(
      events
        .filter((e) => e.type === 'output_text_delta')
        .map((e) => (e as { delta: string }).delta)
        .join(''),
    ).toBe('hi there');
    expect(events.at(-1)).toEqual({
      type: 'completed',
      responseId: 'resp_1',
      usage: { inputTokens: 11, cachedInputTokens: 2, outputTokens: 5, reasoningOutputTokens: 1, totalTokens: 16 },
    });
    expect(seen).toHaveLength(1);
    expect(seen[0]?.headers.authorization).toBe('Bearer sk-test');
    expect(seen[0]?.body).toMatchObject({ model: 'gpt-test', input, stream: true, instructions: 'be brief' });
  });

  it('parses events split at any byte and CRLF line ends', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const bytes = Buffer.from(': keep-alive\r\n\r\n' + happyStream('split ✓ text').replace(/\n/g, '\r\n'));
      let i = 0;
      const step = (): void => {
        if (i >= bytes.length) return void res.end();
        res.write(bytes.subarray(i, i + 7));
        i += 7;
        setImmediate(step);
      };
      step();
    };
    const events = await drain(client().stream({ input, signal: new AbortController().signal }));
    expect(
      events
        .filter((e) => e.type === 'output_text_delta')
        .map((e) => (e as { delta: string }).delta)
        .join(''),
    ).toBe('split ✓ text');
    expect(events.at(-1)?.type).toBe('completed');
  });

  it('turns response.failed into an unavailable error with the model message', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(
        sse('response.created', { response: { id: 'r' } }) +
          sse('response.failed', { response: { id: 'r', error: { code: 'server_error', message: 'model exploded' } } }),
      );
    };
    const err = await errorOf(drain(client().stream({ input, signal: new AbortController().signal })));
    expect(isThreadStoreError(err, 'unavailable')).toBe(true);
    expect((err as Error).message).toContain('model exploded');
  });

  it('maps HTTP errors to error codes', async () => {
    for (const [status, code] of [
      [401, 'unauthenticated'],
      [429, 'resource_exhausted'],
      [500, 'unavailable'],
      [400, 'invalid_request'],
    ] as const) {
      handler = (_req, res) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end('{"error":{"message":"nope"}}');
      };
      const err = await errorOf(drain(client().stream({ input, signal: new AbortController().signal })));
      expect(isThreadStoreError(err, code)).toBe(true);
      expect((err as Error).message).toContain(String(status));
    }
  });

  it('fails with unauthenticated naming the variable when the API key is missing', async () => {
    delete process.env[ENV];
    const err = await errorOf(drain(client().stream({ input, signal: new AbortController().signal })));
    expect(isThreadStoreError(err, 'unauthenticated')).toBe(true);
    expect((err as Error).message).toContain(ENV);
    expect(seen).toHaveLength(0);
  });

  it('with requireApiKey: false, a missing key sends no Authorization header (a keyless local server)', async () => {
    delete process.env[ENV];
    const keyless = new OpenAIResponsesModelClient({
      model: 'gpt-test',
      baseUrl,
      apiKeyEnv: ENV,
      requireApiKey: false,
    });
    const events = await drain(keyless.stream({ input, signal: new AbortController().signal }));
    expect(events.at(-1)?.type).toBe('completed');
    expect(seen).toHaveLength(1);
    expect(seen[0]?.headers.authorization).toBeUndefined();
    // A key that is set is still sent.
    process.env[ENV] = 'sk-local';
    await drain(keyless.stream({ input, signal: new AbortController().signal }));
    expect(seen[1]?.headers.authorization).toBe('Bearer sk-local');
  });

  it('a stream that closes before response.completed is an error', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(sse('response.created', { response: { id: 'r' } }));
    };
    const err = await errorOf(drain(client().stream({ input, signal: new AbortController().signal })));
    expect(isThreadStoreError(err, 'unavailable')).toBe(true);
  });

  it('stops when the turn is aborted mid-stream', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(sse('response.created', { response: { id: 'r' } }));
      // Never ends on its own.
    };
    const ctl = new AbortController();
    const events: ModelStreamEvent[] = [];
    const err = await errorOf(
      (async () => {
        for await (const ev of client().stream({ input, signal: ctl.signal })) {
          events.push(ev);
          ctl.abort('interrupted');
        }
      })(),
    );
    expect(events.map((e) => e.type)).toEqual(['created']);
    expect(err).not.toBeNull();
    expect(ctl.signal.aborted).toBe(true);
  });

  it('drives a Session turn end to end', async () => {
    const store = new InMemoryThreadStore();
    const session = await Session.start({ store, model: client(), cwd: '/work/proj', modelProvider: 'openai' });
    const events = new EventReader(session);
    session.submit({ type: 'user_turn', items: [{ type: 'text', text: 'hello' }] });
    expect(shape(await events.until('turn_complete'))).toEqual([
      'turn_started',
      'user_message',
      'agent_message_delta',
      'agent_message',
      'token_count',
      'turn_complete',
    ]);
    session.submit({ type: 'shutdown' });
    await events.until('shutdown_complete');
    const thread = await store.readThread({ threadId: session.threadId, includeHistory: true });
    expect(thread.tokenUsage?.totalTokens).toBe(16);
    expect(thread.model).toBe('gpt-test');
    const history = await collectHistory(thread.history);
    expect(
      history.find((i) => i.type === 'response_item' && (i.payload as { role?: string }).role === 'assistant')?.payload,
    ).toMatchObject({
      id: 'msg_1',
      content: [{ type: 'output_text', text: 'hi there' }],
    });
  });
});
