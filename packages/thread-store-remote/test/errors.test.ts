import { Code, ConnectError } from '@connectrpc/connect';
import type { ThreadStoreErrorCode } from '@skein/thread-store-api';
import {
  InMemoryThreadStore,
  isThreadStoreError,
  newThreadId,
  THREAD_STORE_ERROR_CODES,
  ThreadStoreError,
} from '@skein/thread-store-api';
import { afterEach, describe, expect, it } from 'vitest';
import { GRPC_STATUS_OF_ERROR_CODE } from '../src/index.js';
import { fromConnectError, toConnectError } from '../src/internal/convert/errors.js';
import type { Served } from './helpers/server.js';
import { serve } from './helpers/server.js';

/** A store whose every list call fails with the error it is told to. */
class FailingStore extends InMemoryThreadStore {
  next: unknown;
  override listThreads(): never {
    throw this.next;
  }
  override loadHistory(): AsyncIterable<never> {
    const next = this.next;
    return (async function* () {
      throw next;
    })();
  }
}

async function caught(p: Promise<unknown> | (() => Promise<unknown>)): Promise<unknown> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection');
}

let served: Served | undefined;
afterEach(async () => {
  await served?.close();
  served = undefined;
});

describe.each(['grpc', 'connect'] as const)('error mapping over %s', (protocol) => {
  it.each([...THREAD_STORE_ERROR_CODES])('%s keeps its code and message both ways', async (code) => {
    const backend = new FailingStore();
    served = await serve(backend);
    const store = served.client({ protocol, retry: false });
    const message = `boom: ${code} — what to do next`;
    backend.next = new ThreadStoreError(code, message);
    const e = await caught(store.listThreads({}));
    expect(isThreadStoreError(e, code)).toBe(true);
    expect((e as Error).message).toBe(message);
    // Streams carry the same errors, on the first iteration step.
    const it2 = store.loadHistory({ threadId: newThreadId() })[Symbol.asyncIterator]();
    const e2 = await caught(() => it2.next());
    expect(isThreadStoreError(e2, code)).toBe(true);
    expect((e2 as Error).message).toBe(message);
    const logged = served.logs.filter((l) => l.event === 'call' && l.method === 'ListThreads');
    expect(logged.at(-1)).toMatchObject({ code });
  });

  it('turns a non-store exception into internal with its message', async () => {
    const backend = new FailingStore();
    served = await serve(backend);
    backend.next = new TypeError('cannot read x of undefined');
    const e = await caught(served.client({ protocol }).listThreads({}));
    expect(isThreadStoreError(e, 'internal')).toBe(true);
    expect((e as Error).message).toContain('cannot read x of undefined');
  });

  it('reports not_found for a missing thread and invalid_request for a bad id', async () => {
    served = await serve();
    const store = served.client({ protocol });
    expect(isThreadStoreError(await caught(store.readThread({ threadId: newThreadId() })), 'not_found')).toBe(true);
    expect(isThreadStoreError(await caught(store.flushThread(newThreadId())), 'not_found')).toBe(true);
    expect(isThreadStoreError(await caught(store.readThread({ threadId: '../etc' as never })), 'invalid_request')).toBe(
      true,
    );
  });
});

describe('error mapping tables', () => {
  it('uses a distinct gRPC status for every code', () => {
    const statuses = Object.values(GRPC_STATUS_OF_ERROR_CODE);
    expect(new Set(statuses).size).toBe(THREAD_STORE_ERROR_CODES.length);
    expect(GRPC_STATUS_OF_ERROR_CODE).toEqual({
      not_found: 'NOT_FOUND',
      invalid_request: 'INVALID_ARGUMENT',
      conflict: 'FAILED_PRECONDITION',
      unsupported: 'UNIMPLEMENTED',
      resource_exhausted: 'RESOURCE_EXHAUSTED',
      unavailable: 'UNAVAILABLE',
      unauthenticated: 'UNAUTHENTICATED',
      permission_denied: 'PERMISSION_DENIED',
      internal: 'INTERNAL',
    });
  });

  it('round-trips every code through a ConnectError with its detail', () => {
    for (const code of THREAD_STORE_ERROR_CODES) {
      const { error } = toConnectError(new ThreadStoreError(code, 'm'));
      const back = fromConnectError(error, { baseUrl: 'http://x', method: 'M', timeoutMs: 1 });
      expect(back.code).toBe(code);
      expect(back.message).toBe('m');
    }
  });

  it('maps statuses without a Skein detail (proxies, other servers) to the nearest code', () => {
    const cases: [Code, ThreadStoreErrorCode][] = [
      [Code.NotFound, 'not_found'],
      [Code.InvalidArgument, 'invalid_request'],
      [Code.OutOfRange, 'invalid_request'],
      [Code.AlreadyExists, 'conflict'],
      [Code.Aborted, 'unavailable'],
      [Code.FailedPrecondition, 'conflict'],
      [Code.Unimplemented, 'unsupported'],
      [Code.ResourceExhausted, 'resource_exhausted'],
      [Code.Unavailable, 'unavailable'],
      [Code.DeadlineExceeded, 'unavailable'],
      [Code.Canceled, 'unavailable'],
      [Code.Unauthenticated, 'unauthenticated'],
      [Code.PermissionDenied, 'permission_denied'],
      [Code.Internal, 'internal'],
      [Code.Unknown, 'internal'],
      [Code.DataLoss, 'internal'],
    ];
    for (const [status, code] of cases) {
      const e = fromConnectError(new ConnectError('raw', status), { baseUrl: 'http://x', method: 'M', timeoutMs: 5 });
      expect([status, e.code]).toEqual([status, code]);
      expect(e.message).toContain('raw');
    }
  });

  it('reads a broken connection as unavailable whatever status connect gave it, unless the server sent its detail', () => {
    const ctx = { baseUrl: 'http://x', method: 'M', timeoutMs: 5 };
    const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
    for (const status of [Code.Aborted, Code.Unknown, Code.Internal]) {
      expect(fromConnectError(new ConnectError('read ECONNRESET', status, undefined, undefined, reset), ctx).code).toBe(
        'unavailable',
      );
    }
    for (const raw of [
      'Stream closed with error code NGHTTP2_ENHANCE_YOUR_CALM',
      'http/2 stream closed with error code INTERNAL_ERROR (0x2)',
    ])
      expect(fromConnectError(new ConnectError(raw, Code.Internal), ctx).code).toBe('unavailable');
    // The server's detail is authoritative: a real conflict stays a conflict.
    const { error } = toConnectError(ThreadStoreError.conflict('held by another client'));
    expect(fromConnectError(error, ctx).code).toBe('conflict');
  });
});
