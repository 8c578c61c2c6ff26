import { collectHistory, InMemoryThreadStore, newThreadId, ThreadStoreError } from '@skein/thread-store-api';
import type {
  LoadHistoryParams,
  NewSegment,
  RolloutItem,
  ThreadId,
  ThreadSegment,
  ThreadStore,
} from '@skein/thread-store-api';
import { afterEach, describe, expect, it } from 'vitest';
import { createParams, userMessage } from './helpers/fixtures.js';
import type { Served } from './helpers/server.js';
import { serve } from './helpers/server.js';

let served: Served | undefined;
afterEach(async () => {
  await served?.close();
  served = undefined;
});

type Call = [method: string, params: unknown];

/** A thread written to `backend`: its id. */
async function seeded(backend: ThreadStore): Promise<ThreadId> {
  const { threadId } = createParams();
  await backend.createThread(createParams(threadId));
  await backend.appendItems({ threadId, items: [userMessage('one'), userMessage('two')] });
  await backend.flushThread(threadId);
  await backend.shutdownThread(threadId);
  return threadId;
}

/**
 * A store with segments as far as the wire can tell: an in-memory store whose `listSegments`,
 * rollout histories and new segments are canned, recording what reached it. With `json`, it also
 * gives its history as JSON (`loadHistoryJson`), which the server prefers.
 */
function cannedSegments(
  segments: ThreadSegment[],
  rolloutItems: RolloutItem[],
  json: boolean,
): { store: ThreadStore; calls: Call[] } {
  const base = new InMemoryThreadStore();
  const calls: Call[] = [];
  const own = async function* (): AsyncGenerator<RolloutItem> {
    yield* rolloutItems;
  };
  const overrides: Partial<Record<keyof ThreadStore, unknown>> = {
    async listSegments(params: unknown) {
      calls.push(['listSegments', params]);
      return segments;
    },
    loadHistory(params: LoadHistoryParams) {
      calls.push(['loadHistory', params]);
      return params.rolloutId === undefined ? base.loadHistory(params) : own();
    },
    async resumeThread(params: { segment?: NewSegment }) {
      calls.push(['resumeThread', params]);
      // The writer itself is the in-memory store's; the segment was recorded above.
      const { segment: _segment, ...rest } = params;
      return base.resumeThread(rest as Parameters<ThreadStore['resumeThread']>[0]);
    },
  };
  if (json)
    overrides.loadHistoryJson = async function* (params: LoadHistoryParams): AsyncGenerator<string> {
      calls.push(['loadHistoryJson', params]);
      const items = params.rolloutId === undefined ? base.loadHistory(params) : own();
      for await (const item of items) yield JSON.stringify(item);
    };
  const store = new Proxy(base, {
    get(target, key, receiver) {
      if (typeof key === 'string' && key in overrides) return overrides[key as keyof ThreadStore];
      const v: unknown = Reflect.get(target, key, receiver);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  }) as ThreadStore;
  return { store, calls };
}

/** A store without segments (no `listSegments`), recording the calls that name a rollout or a segment. */
function withoutSegments(): { store: ThreadStore; calls: Call[] } {
  const base = new InMemoryThreadStore();
  const calls: Call[] = [];
  const store = new Proxy(base, {
    get(target, key, receiver) {
      if (key === 'listSegments') return undefined;
      const v: unknown = Reflect.get(target, key, receiver);
      if (key === 'resumeThread' || key === 'loadHistory' || key === 'loadHistoryJson')
        return typeof v === 'function'
          ? (params: unknown) => {
              calls.push([key, params]);
              return (v as (p: unknown) => unknown).call(target, params);
            }
          : v;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  }) as ThreadStore;
  return { store, calls };
}

/** The user messages of a history, in order. */
const messages = (items: RolloutItem[]): unknown[] =>
  items.filter((i) => i.type === 'event_msg').map((i) => (i.payload as { message?: unknown }).message);

const codeOf = async (p: Promise<unknown>): Promise<string> => {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(ThreadStoreError);
    return (e as ThreadStoreError).code;
  }
  throw new Error('expected a rejection');
};

/** A later segment's session_meta, cut after `end - 1` of `base`. */
function segmentMeta(threadId: ThreadId, base: ThreadId, end: number, bytes: number): NewSegment['sessionMeta'] {
  return {
    type: 'session_meta',
    payload: {
      id: threadId,
      timestamp: '2026-12-02T10:00:00.000Z',
      cwd: '/work/project',
      originator: 'codex_cli_rs',
      cli_version: '0.169.0',
      source: 'cli',
      model_provider: 'openai',
      history_mode: 'paginated',
      history_base: { thread_id: base, end_ordinal_exclusive: end, end_byte_offset: bytes },
    },
  } as unknown as NewSegment['sessionMeta'];
}

describe.each(['grpc', 'connect'] as const)('segments over %s', (protocol) => {
  describe.each([false, true])('to a store with segments (history as JSON: %s)', (json) => {
    it('lists segments as the store gives them, oldest first, with their history bases', async () => {
      const threadId = newThreadId();
      const later = newThreadId();
      const segments: ThreadSegment[] = [
        { rolloutId: threadId, historyBase: null },
        { rolloutId: later, historyBase: { threadId, endOrdinalExclusive: 3, endByteOffset: 1234 } },
      ];
      const fake = cannedSegments(segments, [], json);
      served = await serve(fake.store);
      const client = served.client({ protocol });
      expect(await client.listSegments({ threadId })).toEqual(segments);
      expect(await client.listSegments({ threadId, includeArchived: true })).toEqual(segments);
      expect(fake.calls).toEqual([
        ['listSegments', { threadId }],
        ['listSegments', { threadId, includeArchived: true }],
      ]);
    });

    it("loads one rollout's own items when given its rollout id, and the thread's history without", async () => {
      const fake = cannedSegments([], [userMessage('only the segment')], json);
      served = await serve(fake.store);
      const threadId = await seeded(fake.store);
      const rolloutId = newThreadId();
      const client = served.client({ protocol });
      expect(await collectHistory(client.loadHistory({ threadId, rolloutId }))).toEqual([
        userMessage('only the segment'),
      ]);
      expect(messages(await collectHistory(client.loadHistory({ threadId, includeArchived: true })))).toEqual([
        'one',
        'two',
      ]);
      const method = json ? 'loadHistoryJson' : 'loadHistory';
      expect(fake.calls).toEqual([
        [method, { threadId, rolloutId }],
        [method, { threadId, includeArchived: true }],
      ]);
    });

    it('resumes a thread with a new segment: the store is handed the rollout id and the session_meta as sent', async () => {
      const fake = cannedSegments([], [], json);
      served = await serve(fake.store);
      const threadId = await seeded(fake.store);
      const rolloutId = newThreadId();
      const sessionMeta = segmentMeta(threadId, threadId, 2, 400);
      const client = served.client({ protocol });
      await client.resumeThread({ threadId, segment: { rolloutId, sessionMeta }, includeArchived: false });
      await client.shutdownThread(threadId);
      expect(fake.calls).toEqual([
        ['resumeThread', { threadId, includeArchived: false, segment: { rolloutId, sessionMeta } }],
      ]);
    });

    it('refuses a malformed rollout id on the client, before anything is sent', async () => {
      const fake = cannedSegments([], [], json);
      served = await serve(fake.store);
      const threadId = newThreadId();
      const client = served.client({ protocol });
      expect(await codeOf(collectHistory(client.loadHistory({ threadId, rolloutId: 'nope' as ThreadId })))).toBe(
        'invalid_request',
      );
      expect(
        await codeOf(
          client.resumeThread({
            threadId,
            segment: { rolloutId: 'nope' as ThreadId, sessionMeta: segmentMeta(threadId, threadId, 2, 4) },
          }),
        ),
      ).toBe('invalid_request');
      expect(await codeOf(client.listSegments({ threadId: 'nope' as ThreadId }))).toBe('invalid_request');
      expect(fake.calls).toEqual([]);
    });
  });

  describe('to a store without segments', () => {
    it('answers unsupported to ListSegments, to LoadHistory of a rollout and to a resume with a segment', async () => {
      const bare = withoutSegments();
      served = await serve(bare.store);
      const threadId = await seeded(bare.store);
      const client = served.client({ protocol });
      expect(await codeOf(client.listSegments({ threadId }))).toBe('unsupported');
      expect(await codeOf(collectHistory(client.loadHistory({ threadId, rolloutId: newThreadId() })))).toBe(
        'unsupported',
      );
      expect(
        await codeOf(
          client.resumeThread({
            threadId,
            segment: { rolloutId: newThreadId(), sessionMeta: segmentMeta(threadId, threadId, 2, 4) },
          }),
        ),
      ).toBe('unsupported');
      // Nothing reached the store as if the rollout or the segment had not been named.
      expect(bare.calls).toEqual([]);
      // The same calls without them are served.
      expect(messages(await collectHistory(client.loadHistory({ threadId })))).toEqual(['one', 'two']);
      await client.resumeThread({ threadId });
      await client.shutdownThread(threadId);
      expect(bare.calls.map(([m]) => m)).toEqual(['loadHistory', 'resumeThread']);
    });
  });
});
