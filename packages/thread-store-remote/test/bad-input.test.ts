import { ConnectError, createClient } from '@connectrpc/connect';
import { createConnectTransport } from '@connectrpc/connect-node';
import { newThreadId } from '@skein/thread-store-api';
import { afterEach, describe, expect, it } from 'vitest';
import type { ThreadSortKey } from '../src/gen/skein/threadstore/v1/thread_store_pb.js';
import { ThreadStoreService } from '../src/gen/skein/threadstore/v1/thread_store_pb.js';
import type { MemoryMode } from '../src/gen/skein/threadstore/v1/types_pb.js';
import { ThreadStoreErrorDetailSchema } from '../src/gen/skein/threadstore/v1/types_pb.js';
import { CLIENT_ID_HEADER } from '../src/index.js';
import { createParams } from './helpers/fixtures.js';
import type { Served } from './helpers/server.js';
import { serve } from './helpers/server.js';

let served: Served | undefined;
afterEach(async () => {
  await served?.close();
  served = undefined;
});

/** A bare protocol client: requests no RemoteThreadStore would send. */
function raw(url: string, headers: Record<string, string> = {}) {
  const transport = createConnectTransport({
    baseUrl: url,
    httpVersion: '2',
    interceptors: [
      (next) => (req) => {
        for (const [k, v] of Object.entries(headers)) req.header.set(k, v);
        return next(req);
      },
    ],
  });
  return createClient(ThreadStoreService, transport);
}

async function skeinCode(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    const ce = ConnectError.from(e);
    return ce.findDetails(ThreadStoreErrorDetailSchema)[0]?.code ?? `no detail: ${ce.message}`;
  }
}

const enc = new TextEncoder();

describe('malformed requests are refused, never crash the server', () => {
  it('answers each with invalid_request and keeps serving', async () => {
    served = await serve();
    const c = raw(served.server.url, { [CLIENT_ID_HEADER]: 'raw-client' });
    const id = newThreadId();
    const p = createParams(id);
    expect(await skeinCode(c.createThread({ threadId: id, metadata: { cwd: '/x', modelProvider: 'openai' } }))).toBe(
      'invalid_request',
    );
    expect(await skeinCode(c.createThread({ threadId: id, source: { kind: 1 } }))).toBe('invalid_request');
    expect(
      await skeinCode(
        c.createThread({ threadId: 'not-a-uuid', source: { kind: 1 }, metadata: { cwd: '/x', modelProvider: 'm' } }),
      ),
    ).toBe('invalid_request');
    expect(
      await skeinCode(
        c.createThread({
          threadId: id,
          source: { kind: 1 },
          metadata: { cwd: p.metadata.cwd, modelProvider: 'openai' },
          dynamicToolsJson: enc.encode('{}'),
        }),
      ),
    ).toBe('invalid_request');
    expect(
      await skeinCode(
        c.createThread({ threadId: id, source: { kind: 1 }, metadata: { cwd: '/x', modelProvider: 'openai' } }),
      ),
    ).toBe('ok');
    for (const bad of ['not json', '{"type":', '\u00ff']
      .map((t) => enc.encode(t))
      .concat([new Uint8Array([0xc3, 0x28])])) {
      expect(await skeinCode(c.appendItems({ threadId: id, itemsJson: [bad] }))).toBe('invalid_request');
    }
    expect(await skeinCode(c.appendItems({ threadId: id, itemsJson: [enc.encode('42')] }))).toBe('invalid_request');
    expect(
      await skeinCode(
        c.updateThreadMetadata({
          threadId: id,
          patch: { memoryMode: { op: { case: 'set', value: 99 as MemoryMode } } },
        }),
      ),
    ).toBe('invalid_request');
    expect(await skeinCode(c.listThreads({ filters: { sortKey: 42 as ThreadSortKey } }))).toBe('invalid_request');
    expect(await skeinCode(c.heartbeat({}))).toBe('ok');
    // Without a client id the caller is its connection, which may heartbeat like any client.
    expect(await skeinCode(raw(served.server.url).heartbeat({}))).toBe('ok');
    expect(await skeinCode(raw(served.server.url, { [CLIENT_ID_HEADER]: 'bad id with spaces' }).listThreads({}))).toBe(
      'invalid_request',
    );
    expect(await skeinCode(c.shutdownThread({ threadId: id }))).toBe('ok');
    expect(await skeinCode(c.listThreads({}))).toBe('ok');
  });
});
