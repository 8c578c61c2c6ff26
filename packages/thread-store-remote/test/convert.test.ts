import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import type { SessionSource, StoredThread, ThreadMetadataPatch } from '@skein/thread-store-api';
import { isThreadStoreError, newThreadId } from '@skein/thread-store-api';
import { describe, expect, it } from 'vitest';
import { ThreadMetadataPatchSchema } from '../src/gen/skein/threadstore/v1/patch_pb.js';
import {
  CreateThreadRequestSchema,
  ListThreadsRequestSchema,
} from '../src/gen/skein/threadstore/v1/thread_store_pb.js';
import { SessionSourceSchema, StoredThreadSchema } from '../src/gen/skein/threadstore/v1/types_pb.js';
import {
  createParamsFromProto,
  createParamsToProto,
  listParamsFromProto,
  listParamsToProto,
} from '../src/internal/convert/params.js';
import { patchFromProto, patchToProto } from '../src/internal/convert/patch.js';
import { sessionSourceFromProto, sessionSourceToProto } from '../src/internal/convert/session-source.js';
import { storedThreadFromProto, storedThreadToProto } from '../src/internal/convert/thread.js';

// Everything goes through the binary wire form, as it does between client and server.
const viaWire = {
  source: (s: SessionSource) =>
    sessionSourceFromProto(fromBinary(SessionSourceSchema, toBinary(SessionSourceSchema, sessionSourceToProto(s)))),
  thread: (t: StoredThread) =>
    storedThreadFromProto(fromBinary(StoredThreadSchema, toBinary(StoredThreadSchema, storedThreadToProto(t)))),
  patch: (p: ThreadMetadataPatch) =>
    patchFromProto(fromBinary(ThreadMetadataPatchSchema, toBinary(ThreadMetadataPatchSchema, patchToProto(p)))),
};

const SOURCES: SessionSource[] = [
  { kind: 'cli' },
  { kind: 'vscode' },
  { kind: 'exec' },
  { kind: 'mcp' },
  { kind: 'custom', name: 'atlas' },
  { kind: 'internal', name: 'guardian' },
  { kind: 'subagent', subagent: { kind: 'review' } },
  { kind: 'subagent', subagent: { kind: 'compact' } },
  { kind: 'subagent', subagent: { kind: 'memory_consolidation' } },
  { kind: 'subagent', subagent: { kind: 'other', name: 'x' } },
  { kind: 'subagent', subagent: { kind: 'thread_spawn', parentThreadId: newThreadId(), depth: 2 } },
  {
    kind: 'subagent',
    subagent: {
      kind: 'thread_spawn',
      parentThreadId: newThreadId(),
      depth: 1,
      agentPath: null,
      agentNickname: 'Ada',
      agentRole: '',
    },
  },
  { kind: 'unknown' },
  { kind: 'unknown', raw: 'future_source' },
  { kind: 'unknown', raw: { new_kind: { nested: [1, 2.5, null, true] } } },
];

function fullThread(): StoredThread {
  return {
    threadId: newThreadId(),
    sessionId: 'session-1',
    forkedFromId: newThreadId(),
    parentThreadId: newThreadId(),
    preview: 'héllo 👋',
    name: 'named',
    modelProvider: 'openai',
    model: 'gpt-5',
    reasoningEffort: 'high',
    createdAt: new Date(1_700_000_000_123),
    updatedAt: new Date(1_700_000_001_456),
    recencyAt: new Date(1_700_000_002_789),
    archivedAt: new Date(1_700_000_003_001),
    cwd: '/work/p',
    cliVersion: '0.169.0',
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
      cachedInputTokens: 2,
      outputTokens: 3,
      reasoningOutputTokens: 4,
      totalTokens: 2 ** 40,
    },
    firstUserMessage: 'first',
    historyMode: 'paginated',
    memoryMode: 'disabled',
    rolloutPath: null,
  };
}

describe('wire conversions are lossless', () => {
  it.each(SOURCES.map((s) => [JSON.stringify(s), s] as const))('session source %s', (_name, s) => {
    expect(viaWire.source(s)).toEqual(s);
  });

  it('keeps every StoredThread field, with milliseconds', () => {
    const t = fullThread();
    expect(viaWire.thread(t)).toStrictEqual(t);
  });

  it('keeps nulls and an undefined sandbox policy apart from null', () => {
    const t: StoredThread = {
      ...fullThread(),
      forkedFromId: null,
      parentThreadId: null,
      name: null,
      model: null,
      reasoningEffort: null,
      archivedAt: null,
      threadSource: null,
      agentNickname: null,
      agentRole: null,
      agentPath: null,
      gitInfo: null,
      approvalMode: null,
      sandboxPolicy: null,
      tokenUsage: null,
      firstUserMessage: null,
      preview: '',
      cwd: '',
    };
    expect(viaWire.thread(t)).toStrictEqual(t);
    expect(viaWire.thread({ ...t, sandboxPolicy: undefined }).sandboxPolicy).toBeUndefined();
    expect(viaWire.thread({ ...t, sandboxPolicy: 'read-only' }).sandboxPolicy).toBe('read-only');
  });

  it('never sends a rollout path (it names a file on the server)', () => {
    const t = { ...fullThread(), rolloutPath: '/srv/home/sessions/x.jsonl' };
    expect(viaWire.thread(t).rolloutPath).toBeNull();
  });

  it('keeps the three states of every patch field', () => {
    const set: ThreadMetadataPatch = {
      name: 'n',
      title: 't',
      preview: 'p',
      firstUserMessage: 'f',
      modelProvider: 'mp',
      model: 'm',
      reasoningEffort: 'low',
      createdAt: new Date(1),
      updatedAt: new Date(2),
      advanceRecencyAt: new Date(3),
      source: { kind: 'subagent', subagent: { kind: 'other', name: 'o' } },
      threadSource: 'ts',
      agentNickname: 'an',
      agentRole: 'ar',
      agentPath: 'ap',
      cwd: '/c',
      cliVersion: '1',
      approvalMode: 'never',
      sandboxPolicy: { a: 1 },
      tokenUsage: { inputTokens: 1, cachedInputTokens: 0, outputTokens: 1, reasoningOutputTokens: 0, totalTokens: 2 },
      memoryMode: 'enabled',
      historyMode: 'legacy',
      gitInfo: { sha: 's', branch: null },
    };
    expect(viaWire.patch(set)).toStrictEqual(set);
    const cleared = Object.fromEntries(Object.keys(set).map((k) => [k, null])) as ThreadMetadataPatch;
    expect(viaWire.patch(cleared)).toStrictEqual(cleared);
    expect(viaWire.patch({})).toStrictEqual({});
    expect(viaWire.patch({ name: undefined, gitInfo: {} })).toStrictEqual({ gitInfo: {} });
  });

  it('keeps create params, including explicit nulls and JSON values', () => {
    const params = {
      threadId: newThreadId(),
      sessionId: 's',
      forkedFromId: null,
      parentThreadId: newThreadId(),
      source: { kind: 'exec' } as SessionSource,
      threadSource: null,
      originator: 'skein',
      cliVersion: '1.2.3',
      baseInstructions: { text: 'be nice', unknown: [1] },
      dynamicTools: [{ name: 't' }],
      gitInfo: null,
      historyMode: 'legacy' as const,
      createdAt: new Date(1_700_000_000_001),
      metadata: { cwd: '/w', modelProvider: 'p', memoryMode: 'disabled' as const },
    };
    const wire = fromBinary(
      CreateThreadRequestSchema,
      toBinary(CreateThreadRequestSchema, createParamsToProto(params)),
    );
    expect(createParamsFromProto(wire)).toStrictEqual(params);
    const minimal = {
      threadId: newThreadId(),
      source: { kind: 'cli' } as SessionSource,
      metadata: { cwd: '', modelProvider: 'x' },
    };
    expect(createParamsFromProto(createParamsToProto(minimal))).toStrictEqual(minimal);
  });

  it('keeps list params: absent and empty provider lists differ', () => {
    for (const params of [
      {},
      { modelProviders: [] as string[], cwdFilters: [] as string[] },
      {
        pageSize: 7,
        cursor: 'sk1.abc',
        sortKey: 'recencyAt' as const,
        sortDirection: 'asc' as const,
        allowedSources: ['cli' as const, { kind: 'custom', name: 'atlas' } as SessionSource],
        modelProviders: ['a', 'b'],
        cwdFilters: ['/x'],
        archived: true,
        searchTerm: 'needle',
      },
      // A start with each of its forms: inclusive (the default), exclusive, with a thread id.
      { start: { at: new Date(1_768_039_202_500), inclusive: true } },
      { start: { at: new Date(0), inclusive: false } },
      { start: { at: new Date(-1), inclusive: false, threadId: newThreadId() } },
    ]) {
      const wire = fromBinary(
        ListThreadsRequestSchema,
        toBinary(ListThreadsRequestSchema, create(ListThreadsRequestSchema, listParamsToProto(params))),
      );
      expect(listParamsFromProto(wire)).toStrictEqual(params);
    }
  });

  it('refuses values the API does not allow before sending them', () => {
    const bad = [
      () => sessionSourceToProto({ kind: 'nope' } as unknown as SessionSource),
      () => storedThreadToProto({ ...fullThread(), createdAt: new Date(Number.NaN) }),
      () => storedThreadToProto({ ...fullThread(), tokenUsage: { ...fullThread().tokenUsage!, totalTokens: 1.5 } }),
      () => patchToProto({ sandboxPolicy: { big: 1n } }),
    ];
    for (const f of bad) {
      let caught: unknown;
      try {
        f();
      } catch (e) {
        caught = e;
      }
      expect(isThreadStoreError(caught, 'invalid_request')).toBe(true);
    }
  });
});
