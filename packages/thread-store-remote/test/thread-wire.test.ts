import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { EmptySchema } from '@bufbuild/protobuf/wkt';
import { WireType } from '@bufbuild/protobuf/wire';
import type { StoredThread } from '@skein/thread-store-api';
import { newThreadId } from '@skein/thread-store-api';
import { describe, expect, it } from 'vitest';
import {
  HistoryChunkSchema,
  ListThreadsResponseSchema,
  LoadHistoryResponseSchema,
  ReadThreadResponseSchema,
} from '../src/gen/skein/threadstore/v1/thread_store_pb.js';
import { StoredThreadSchema } from '../src/gen/skein/threadstore/v1/types_pb.js';
import { storedThreadFromProto, storedThreadToProto } from '../src/internal/convert/thread.js';
import {
  historyChunkField,
  storedThreadBytes,
  storedThreadFields,
  storedThreadFromBytes,
  threadPageFromFields,
} from '../src/internal/convert/thread-wire.js';
import { historyChunks, readAhead } from '../src/internal/server/history-chunks.js';

// The hot answers are written straight to bytes: they must be the bytes the reflective encoder
// writes, for every kind of value a thread can hold.

function thread(over: Partial<StoredThread> = {}): StoredThread {
  return {
    threadId: newThreadId(),
    sessionId: 'session-1',
    forkedFromId: null,
    parentThreadId: null,
    preview: 'hello',
    name: null,
    modelProvider: 'openai',
    model: null,
    reasoningEffort: null,
    createdAt: new Date(1_700_000_000_123),
    updatedAt: new Date(1_700_000_001_456),
    recencyAt: new Date(1_700_000_002_789),
    archivedAt: null,
    cwd: '/work/p',
    cliVersion: '0.169.0',
    source: { kind: 'cli' },
    threadSource: null,
    agentNickname: null,
    agentRole: null,
    agentPath: null,
    gitInfo: null,
    approvalMode: null,
    sandboxPolicy: undefined,
    tokenUsage: null,
    firstUserMessage: null,
    historyMode: 'paginated',
    memoryMode: 'enabled',
    rolloutPath: '/home/u/.codex/sessions/x.jsonl',
    ...over,
  };
}

const TEXTS = [
  '',
  'a',
  'héllo 👋',
  'x'.repeat(42),
  'é'.repeat(42),
  '👋'.repeat(21),
  'y'.repeat(43),
  'ü'.repeat(200),
  'z'.repeat(70_000),
  'lone \ud800 high',
  'lone \udc00 low',
  'end \ud83d',
  '\u0000\u007f\u0080\u07ff\u0800\uffff',
  '中文 and 日本語 text that runs past the short-string path of the writer, 123',
];

const THREADS: [string, StoredThread][] = [
  ['minimal', thread()],
  [
    'every field set',
    thread({
      forkedFromId: newThreadId(),
      parentThreadId: newThreadId(),
      preview: 'héllo 👋',
      name: 'named',
      model: 'gpt-5',
      reasoningEffort: 'high',
      archivedAt: new Date(1_700_000_003_001),
      source: { kind: 'custom', name: 'atlas' },
      threadSource: 'user',
      agentNickname: 'nick',
      agentRole: 'role',
      agentPath: '/a/b',
      gitInfo: { sha: 'abc', branch: null, originUrl: 'https://x/y.git' },
      approvalMode: 'on-request',
      sandboxPolicy: { type: 'workspace-write', network_access: false, extra: [1, { deep: null }] },
      tokenUsage: {
        inputTokens: 1,
        cachedInputTokens: 0,
        outputTokens: 3,
        reasoningOutputTokens: 4,
        totalTokens: 2 ** 40,
      },
      firstUserMessage: 'first',
      historyMode: 'legacy',
      memoryMode: 'disabled',
    }),
  ],
  [
    'empty strings',
    thread({ sessionId: '', preview: '', modelProvider: '', cwd: '', cliVersion: '', name: '', model: '' }),
  ],
  [
    'zero and negative times',
    thread({
      createdAt: new Date(0),
      updatedAt: new Date(-1),
      recencyAt: new Date(-86_400_000_123),
      archivedAt: new Date(0),
    }),
  ],
  ['largest time', thread({ createdAt: new Date(8.64e15), archivedAt: new Date(-8.64e15) })],
  ['null sandbox policy', thread({ sandboxPolicy: null })],
  ['empty git info', thread({ gitInfo: { sha: null, branch: null, originUrl: null } })],
  [
    'zero token usage',
    thread({
      tokenUsage: { inputTokens: 0, cachedInputTokens: 0, outputTokens: 0, reasoningOutputTokens: 0, totalTokens: 0 },
    }),
  ],
  ['vscode source', thread({ source: { kind: 'vscode' } })],
  ['exec source', thread({ source: { kind: 'exec' } })],
  ['mcp source', thread({ source: { kind: 'mcp' } })],
  ['internal source', thread({ source: { kind: 'internal', name: 'x' } })],
  ['sub-agent source', thread({ source: { kind: 'subagent', subagent: { kind: 'review' } } })],
  [
    'spawned sub-agent source',
    thread({
      source: {
        kind: 'subagent',
        subagent: {
          kind: 'thread_spawn',
          parentThreadId: newThreadId(),
          depth: 2,
          agentPath: null,
          agentNickname: 'n',
          agentRole: null,
        },
      },
    }),
  ],
  ['unknown source', thread({ source: { kind: 'unknown', raw: { new_kind: [1, 2.5] } } })],
  ...TEXTS.map((t, i): [string, StoredThread] => [
    `text ${i} (${t.length} units)`,
    thread({ preview: t, name: t, cwd: t, firstUserMessage: t, gitInfo: { sha: t, branch: t, originUrl: null } }),
  ]),
];

const reflective = (t: StoredThread): Uint8Array => toBinary(StoredThreadSchema, storedThreadToProto(t));

describe('threads written straight to bytes', () => {
  it.each(THREADS)('%s: the bytes of the reflective encoder', (_name, t) => {
    expect(Buffer.from(storedThreadBytes(t)).equals(Buffer.from(reflective(t)))).toBe(true);
  });

  it('a page of them decodes to the same threads, in order, with the cursors', () => {
    const threads = THREADS.map(([, t]) => t);
    const res = create(ListThreadsResponseSchema, { nextCursor: 'next', backwardsCursor: 'back' });
    res.$unknown = storedThreadFields(1, threads);
    const decoded = fromBinary(ListThreadsResponseSchema, toBinary(ListThreadsResponseSchema, res));
    expect(decoded.nextCursor).toBe('next');
    expect(decoded.backwardsCursor).toBe('back');
    const viaReflection = fromBinary(
      ListThreadsResponseSchema,
      toBinary(
        ListThreadsResponseSchema,
        create(ListThreadsResponseSchema, { threads: threads.map(storedThreadToProto) }),
      ),
    );
    expect(decoded.threads.map((p) => storedThreadFromProto(p))).toEqual(
      viaReflection.threads.map((p) => storedThreadFromProto(p)),
    );
    expect(decoded.$unknown ?? []).toEqual([]);
  });

  it('an empty page has no threads', () => {
    const res = create(ListThreadsResponseSchema);
    res.$unknown = storedThreadFields(1, []);
    expect(fromBinary(ListThreadsResponseSchema, toBinary(ListThreadsResponseSchema, res)).threads).toEqual([]);
  });

  it('refuses what the reflective encoder refuses, with the same error', () => {
    for (const bad of [
      thread({ createdAt: new Date(Number.NaN) }),
      thread({ archivedAt: new Date(Number.NaN) }),
      thread({ historyMode: 'other' as never }),
      thread({ memoryMode: 'other' as never }),
      thread({ source: { kind: 'nope' } as never }),
      thread({
        tokenUsage: {
          inputTokens: 1.5,
          cachedInputTokens: 0,
          outputTokens: 0,
          reasoningOutputTokens: 0,
          totalTokens: 0,
        },
      }),
      thread({ sandboxPolicy: 10n as never }),
    ]) {
      let expected: unknown;
      try {
        reflective(bad);
      } catch (e) {
        expected = e;
      }
      expect(expected).toBeDefined();
      expect(() => storedThreadBytes(bad)).toThrow(expected as Error);
    }
  });
});

describe('threads read straight from bytes', () => {
  const strip = <T>(v: T): T =>
    JSON.parse(JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? `${x}n` : x)));

  it.each(THREADS)('%s: what fromBinary reads', (_name, t) => {
    const bytes = reflective(t);
    const viaReflection = fromBinary(StoredThreadSchema, bytes);
    const direct = storedThreadFromBytes(bytes);
    expect(storedThreadFromProto(direct)).toEqual(storedThreadFromProto(viaReflection));
    expect(strip(direct)).toEqual(strip({ ...viaReflection }));
  });

  it('a page read as raw fields (the answer decoded without fields) keeps its threads, order and cursors', () => {
    const threads = THREADS.map(([, t]) => t);
    const bytes = toBinary(
      ListThreadsResponseSchema,
      create(ListThreadsResponseSchema, {
        threads: threads.map(storedThreadToProto),
        nextCursor: 'néxt',
        backwardsCursor: 'back',
      }),
    );
    const page = threadPageFromFields(fromBinary(EmptySchema, bytes).$unknown);
    const viaReflection = fromBinary(ListThreadsResponseSchema, bytes);
    expect(page.nextCursor).toBe('néxt');
    expect(page.backwardsCursor).toBe('back');
    expect(page.threads.map((p) => storedThreadFromProto(p))).toEqual(
      viaReflection.threads.map((p) => storedThreadFromProto(p)),
    );
    const empty = threadPageFromFields(fromBinary(EmptySchema, new Uint8Array()).$unknown);
    expect(empty).toEqual({ threads: [] });
  });

  it('skips fields it does not know, and refuses a known field of the wrong wire type', () => {
    const t = thread({ name: 'n' });
    const known = reflective(t);
    // Field 99 (varint 7) and field 98 (bytes "ab") appended: a newer server's fields.
    const extra = Uint8Array.from([...known, 0x98, 0x06, 0x07, 0x92, 0x06, 0x02, 0x61, 0x62]);
    expect(storedThreadFromProto(storedThreadFromBytes(extra))).toEqual(
      storedThreadFromProto(storedThreadFromBytes(known)),
    );
    // Field 6 (name) as a varint.
    const bad = Uint8Array.from([...known, 0x30, 0x01]);
    expect(() => storedThreadFromBytes(bad)).toThrow(/malformed thread \(field 6\)/);
    const truncated = known.subarray(0, known.length - 3);
    const res = create(ListThreadsResponseSchema);
    res.$unknown = [
      { no: 1, wireType: WireType.LengthDelimited, data: Uint8Array.from([truncated.length + 5, ...truncated]) },
    ];
    expect(() => threadPageFromFields(res.$unknown)).toThrow(/malformed page of threads/);
  });
});

describe('history chunks written straight to bytes', () => {
  const lengths = (texts: string[]) => texts.map((t) => Buffer.byteLength(t, 'utf8'));

  it.each([
    ['one item', ['{"a":1}']],
    ['every text', TEXTS.filter((t) => !/[\ud800-\udfff]/.test(t) || /\ud83d\udc4b/.test(t))],
    ['a 200 KiB item', ['"' + 'q'.repeat(200 * 1024) + '"']],
  ])('%s: the bytes of the reflective encoder, item bytes exact', (_name, texts) => {
    const enc = new TextEncoder();
    const expected = toBinary(
      LoadHistoryResponseSchema,
      create(LoadHistoryResponseSchema, {
        chunk: create(HistoryChunkSchema, { itemsJson: texts.map((t) => enc.encode(t)) }),
      }),
    );
    const res = create(LoadHistoryResponseSchema);
    res.$unknown = [{ no: 1, wireType: WireType.LengthDelimited, data: historyChunkField(texts, lengths(texts)) }];
    const bytes = toBinary(LoadHistoryResponseSchema, res);
    expect(Buffer.from(bytes).equals(Buffer.from(expected))).toBe(true);
    const decoded = fromBinary(LoadHistoryResponseSchema, bytes);
    expect(decoded.chunk?.itemsJson.map((b) => new TextDecoder().decode(b))).toEqual(texts);
  });

  it('as the history part of a ReadThread answer', () => {
    const texts = ['{"x":"é"}', '{"y":2}'];
    const res = create(ReadThreadResponseSchema);
    res.$unknown = [{ no: 2, wireType: WireType.LengthDelimited, data: historyChunkField(texts, lengths(texts)) }];
    const decoded = fromBinary(ReadThreadResponseSchema, toBinary(ReadThreadResponseSchema, res));
    expect(decoded.part.case).toBe('history');
    const chunk = decoded.part.value as { itemsJson: Uint8Array[] };
    expect(chunk.itemsJson.map((b) => new TextDecoder().decode(b))).toEqual(texts);
  });
});

async function* gen<T>(values: T[], log: string[], failAt?: number): AsyncGenerator<T> {
  try {
    for (let i = 0; i < values.length; i++) {
      if (i === failAt) throw new Error(`failed at ${i}`);
      log.push(`read ${i}`);
      yield values[i]!;
    }
  } finally {
    log.push('closed');
  }
}

describe('history chunks and their read-ahead', () => {
  it('chunks keep every item, in order, under the byte and item limits', async () => {
    const texts = Array.from({ length: 50 }, (_, i) => `{"i":${i},"t":"${'é'.repeat(i % 7)}"}`);
    const chunks = [];
    for await (const c of readAhead(historyChunks(gen(texts, []), { maxBytes: 40, maxItems: 3 }, 5))) chunks.push(c);
    expect(chunks.flatMap((c) => c.texts)).toEqual(texts.slice(5));
    for (const c of chunks) {
      expect(c.texts.length).toBeLessThanOrEqual(3);
      expect(c.byteLengths).toEqual(c.texts.map((t) => Buffer.byteLength(t, 'utf8')));
      const bytes = c.byteLengths.reduce((a, b) => a + b, 0);
      if (c.texts.length > 1) expect(bytes).toBeLessThanOrEqual(40);
    }
  });

  it('reads one value ahead, no more', async () => {
    const log: string[] = [];
    const it = readAhead(gen([1, 2, 3, 4], log));
    expect((await it.next()).value).toBe(1);
    // The second value is being read while the first is sent.
    await new Promise((r) => setImmediate(r));
    expect(log).toEqual(['read 0', 'read 1']);
    expect((await it.next()).value).toBe(2);
    await new Promise((r) => setImmediate(r));
    expect(log).toEqual(['read 0', 'read 1', 'read 2']);
  });

  it('stopping early closes the source', async () => {
    const log: string[] = [];
    for await (const v of readAhead(gen([1, 2, 3, 4], log))) if (v === 2) break;
    expect(log.at(-1)).toBe('closed');
    expect(log).not.toContain('read 3');
  });

  it('a failure of the source reaches the reader after the values before it', async () => {
    const log: string[] = [];
    const seen: number[] = [];
    await expect(
      (async () => {
        for await (const v of readAhead(gen([1, 2, 3], log, 2))) seen.push(v);
      })(),
    ).rejects.toThrow('failed at 2');
    expect(seen).toEqual([1, 2]);
  });
});
