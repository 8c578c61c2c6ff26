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
import { RemoteThreadStore } from '../src/index.js';
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

// ---- over a store that keeps segments ---------------------------------------------------------

const T = (n: number): string => new Date(Date.UTC(2026, 11, 2, 10, 0, n)).toISOString();

/** A paginated session_meta of `threadId` at `ordinal`, with a history_base when given. */
function paginatedMeta(
  threadId: ThreadId,
  ordinal: number,
  base?: { rollout: ThreadId; end: number; bytes: number },
): NewSegment['sessionMeta'] {
  return {
    timestamp: T(ordinal),
    ordinal,
    type: 'session_meta',
    payload: {
      id: threadId,
      ...(base
        ? { history_base: { thread_id: base.rollout, end_ordinal_exclusive: base.end, end_byte_offset: base.bytes } }
        : {}),
      timestamp: T(ordinal),
      cwd: '/work/project',
      originator: 'codex_exec',
      cli_version: '0.169.0',
      source: 'cli',
      model_provider: 'openai',
      history_mode: 'paginated',
    },
  } as unknown as NewSegment['sessionMeta'];
}

/** User messages (response items, which paginated threads keep) numbered from `first`. */
const numbered = (first: number, texts: string[]): RolloutItem[] =>
  texts.map((text, i) => ({
    timestamp: T(first + i),
    ordinal: first + i,
    type: 'response_item',
    payload: { type: 'message', role: 'user', content: [{ type: 'input_text', text }] },
  })) as RolloutItem[];

/** Bytes of `own`'s lines through `own[last]`, one compact JSON line each. */
const bytesThrough = (own: readonly RolloutItem[], last: number): number =>
  own.slice(0, last + 1).reduce((n, item) => n + Buffer.byteLength(JSON.stringify(item)) + 1, 0);

/** A paginated thread written to `store` directly: its session_meta then messages a..e (ordinals 0..5). */
async function paginatedThread(store: ThreadStore): Promise<{ id: ThreadId; own: RolloutItem[] }> {
  const id = newThreadId();
  const first = paginatedMeta(id, 0);
  await store.createThread({ ...createParams(id), sessionMeta: first });
  const items = numbered(1, ['a', 'b', 'c', 'd', 'e']);
  await store.appendItems({ threadId: id, items });
  await store.shutdownThread(id);
  return { id, own: [first, ...items] };
}

const lines = (items: RolloutItem[]): string[] => items.map((i) => JSON.stringify(i));

describe.each(['grpc', 'connect'] as const)('segments of InMemoryThreadStore over %s', (protocol) => {
  it('lists segments, loads one rollout, resumes with a new segment, then the history follows it', async () => {
    const backend = new InMemoryThreadStore();
    served = await serve(backend);
    const client = served.client({ protocol });
    const t = await paginatedThread(backend);
    expect(await client.listSegments({ threadId: t.id })).toEqual([{ rolloutId: t.id, historyBase: null }]);

    // A revert to before message c: the cut is after ordinal 2.
    const r = newThreadId();
    const base = { rollout: t.id, end: 3, bytes: bytesThrough(t.own, 2) };
    const seg = paginatedMeta(t.id, 3, base);
    await client.resumeThread({ threadId: t.id, segment: { rolloutId: r, sessionMeta: seg } });
    const after = numbered(4, ['x', 'y']);
    await client.appendItems({ threadId: t.id, items: after });
    await client.flushThread(t.id);
    await client.shutdownThread(t.id);

    expect(await client.listSegments({ threadId: t.id })).toEqual([
      { rolloutId: t.id, historyBase: null },
      { rolloutId: r, historyBase: { threadId: t.id, endOrdinalExclusive: base.end, endByteOffset: base.bytes } },
    ]);
    // Each rollout's own lines, as written.
    expect(lines(await collectHistory(client.loadHistory({ threadId: t.id, rolloutId: t.id })))).toEqual(lines(t.own));
    expect(lines(await collectHistory(client.loadHistory({ threadId: t.id, rolloutId: r })))).toEqual(
      lines([seg, ...after]),
    );
    // The thread reads as its newest segment, through LoadHistory and ReadThread alike.
    const expected = lines([...t.own.slice(0, 3), seg, ...after]);
    expect(lines(await collectHistory(client.loadHistory({ threadId: t.id })))).toEqual(expected);
    const read = await client.readThread({ threadId: t.id, includeHistory: true });
    expect(lines(await collectHistory(read.history!))).toEqual(expected);
    expect(lines(await collectHistory(backend.loadHistory({ threadId: t.id })))).toEqual(expected);

    // A later resume without a segment appends to the newest one.
    await client.resumeThread({ threadId: t.id });
    const more = numbered(6, ['z']);
    await client.appendItems({ threadId: t.id, items: more });
    await client.shutdownThread(t.id);
    expect(lines(await collectHistory(client.loadHistory({ threadId: t.id, rolloutId: r })))).toEqual(
      lines([seg, ...after, ...more]),
    );
  });

  it("passes the store's refusals through with their codes", async () => {
    const backend = new InMemoryThreadStore();
    served = await serve(backend);
    const client = served.client({ protocol });
    const t = await paginatedThread(backend);
    const seg = paginatedMeta(t.id, 3, { rollout: t.id, end: 3, bytes: bytesThrough(t.own, 2) });
    // The thread's own id as a new rollout id; a rollout id the thread does not have; an unknown thread.
    expect(await codeOf(client.resumeThread({ threadId: t.id, segment: { rolloutId: t.id, sessionMeta: seg } }))).toBe(
      'invalid_request',
    );
    expect(await codeOf(collectHistory(client.loadHistory({ threadId: t.id, rolloutId: newThreadId() })))).toBe(
      'not_found',
    );
    expect(await codeOf(client.listSegments({ threadId: newThreadId() }))).toBe('not_found');
    // A rollout id another thread has.
    const other = await paginatedThread(backend);
    expect(
      await codeOf(client.resumeThread({ threadId: t.id, segment: { rolloutId: other.id, sessionMeta: seg } })),
    ).toBe('conflict');
  });
});

describe('a writer opened with a new segment, on failover', () => {
  /** Two servers over one in-memory store (the shared backend plays the shared database). */
  async function pair(): Promise<{ backend: InMemoryThreadStore; a: Served; b: Served; client: RemoteThreadStore }> {
    const backend = new InMemoryThreadStore();
    const shared: ThreadStore = Object.assign(Object.create(backend) as ThreadStore, {
      close: () => Promise.resolve(),
    });
    const a = await serve(shared);
    const b = await serve(shared);
    const client = new RemoteThreadStore({
      baseUrl: [a.server.url, b.server.url],
      timeoutMs: 10_000,
      failoverWaitMs: 5_000,
    });
    fleet.push(a, b);
    clients.push(client);
    return { backend, a, b, client };
  }
  const fleet: Served[] = [];
  const clients: RemoteThreadStore[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close().catch(() => undefined)));
    await Promise.all(fleet.splice(0).map((s) => s.close().catch(() => undefined)));
  });

  it('starts the segment again on the next server when the failed one wrote nothing of it', async () => {
    const { backend, a, client } = await pair();
    const t = await paginatedThread(backend);
    const r = newThreadId();
    const seg = paginatedMeta(t.id, 3, { rollout: t.id, end: 3, bytes: bytesThrough(t.own, 2) });
    await client.resumeThread({ threadId: t.id, segment: { rolloutId: r, sessionMeta: seg } });
    // The first server stops before anything was appended: its writer leaves no segment.
    await a.close();
    const after = numbered(4, ['x']);
    await client.appendItems({ threadId: t.id, items: after });
    await client.shutdownThread(t.id);
    expect((await backend.listSegments({ threadId: t.id })).map((s) => s.rolloutId)).toEqual([t.id, r]);
    expect(lines(await collectHistory(backend.loadHistory({ threadId: t.id, rolloutId: r })))).toEqual(
      lines([seg, ...after]),
    );
    expect(lines(await collectHistory(backend.loadHistory({ threadId: t.id, rolloutId: t.id })))).toEqual(lines(t.own));
  });

  it('resumes the thread plainly when the failed server wrote the segment: nothing twice, nothing lost', async () => {
    const { backend, a, client } = await pair();
    const t = await paginatedThread(backend);
    const r = newThreadId();
    const seg = paginatedMeta(t.id, 3, { rollout: t.id, end: 3, bytes: bytesThrough(t.own, 2) });
    await client.resumeThread({ threadId: t.id, segment: { rolloutId: r, sessionMeta: seg } });
    const x = numbered(4, ['x']);
    await client.appendItems({ threadId: t.id, items: x });
    // The first server flushes its writers as it stops: the segment exists with x.
    await a.close();
    const y = numbered(5, ['y']);
    await client.appendItems({ threadId: t.id, items: y });
    await client.flushThread(t.id);
    await client.shutdownThread(t.id);
    expect((await backend.listSegments({ threadId: t.id })).map((s) => s.rolloutId)).toEqual([t.id, r]);
    expect(lines(await collectHistory(backend.loadHistory({ threadId: t.id, rolloutId: r })))).toEqual(
      lines([seg, ...x, ...y]),
    );
  });
});
