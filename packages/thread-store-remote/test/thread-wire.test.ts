import { create, fromBinary, isFieldSet, toBinary } from '@bufbuild/protobuf';
import type { DescMessage, Message } from '@bufbuild/protobuf';
import { EmptySchema } from '@bufbuild/protobuf/wkt';
import { WireType } from '@bufbuild/protobuf/wire';
import type { StoredThread } from '@skein/thread-store-api';
import { newThreadId } from '@skein/thread-store-api';
import { describe, expect, it } from 'vitest';
import { ListThreadsResponseSchema } from '../src/gen/skein/threadstore/v1/thread_store_pb.js';
import { GitInfoSchema, StoredThreadSchema, TokenUsageSchema } from '../src/gen/skein/threadstore/v1/types_pb.js';
import { storedThreadFromProto, storedThreadToProto } from '../src/internal/convert/thread.js';
import {
  storedThreadBytes,
  storedThreadFields,
  storedThreadFromBytes,
  threadPageFromFields,
} from '../src/internal/convert/thread-wire.js';

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

describe('the hand-written codec knows every field of the schema', () => {
  // A field added to types.proto must be added to thread-wire.ts too: the fixture with every
  // field set must set it (this test), and then its bytes must match (the tests above).
  const unset = (schema: DescMessage, msg: Message): string[] =>
    schema.fields.filter((f) => !isFieldSet(msg, f)).map((f) => `${schema.typeName}.${f.name}`);

  it('the "every field set" thread sets every field of StoredThread, GitInfo and TokenUsage', () => {
    const t = THREADS.find(([name]) => name === 'every field set')![1];
    const full = storedThreadToProto({
      ...t,
      gitInfo: { sha: 'abc', branch: 'main', originUrl: 'https://x/y.git' },
      tokenUsage: { ...t.tokenUsage!, cachedInputTokens: 2 },
    });
    expect(
      Buffer.from(storedThreadBytes(storedThreadFromProto(full))).equals(
        Buffer.from(toBinary(StoredThreadSchema, full)),
      ),
    ).toBe(true);
    expect([
      ...unset(StoredThreadSchema, full),
      ...unset(GitInfoSchema, full.gitInfo!),
      ...unset(TokenUsageSchema, full.tokenUsage!),
    ]).toEqual([]);
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
