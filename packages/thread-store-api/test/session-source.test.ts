import { describe, expect, it } from 'vitest';
import {
  DEFAULT_LIST_SOURCES,
  SESSION_SOURCE_KINDS,
  SessionSources,
  isSessionSourceKind,
  sessionSourceFromJson,
  sessionSourceKey,
  sessionSourceKinds,
  sessionSourceToJson,
} from '../src/index.js';
import { sourceMatches } from '../src/session-source.js';
import type { SessionSource } from '../src/index.js';

const PARENT = '0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b';

/** Every variant with its on-disk JSON form. */
const VARIANTS: Array<[string, SessionSource, unknown]> = [
  ['cli', { kind: 'cli' }, 'cli'],
  ['vscode', { kind: 'vscode' }, 'vscode'],
  ['exec', { kind: 'exec' }, 'exec'],
  ['mcp (app server)', { kind: 'mcp' }, 'mcp'],
  ['custom', { kind: 'custom', name: 'atlas' }, { custom: 'atlas' }],
  ['internal', { kind: 'internal', name: 'guardian' }, { internal: 'guardian' }],
  ['subagent review', { kind: 'subagent', subagent: { kind: 'review' } }, { subagent: 'review' }],
  ['subagent compact', { kind: 'subagent', subagent: { kind: 'compact' } }, { subagent: 'compact' }],
  [
    'subagent memory consolidation',
    { kind: 'subagent', subagent: { kind: 'memory_consolidation' } },
    { subagent: 'memory_consolidation' },
  ],
  [
    'subagent other',
    { kind: 'subagent', subagent: { kind: 'other', name: 'helper' } },
    { subagent: { other: 'helper' } },
  ],
  [
    'thread_spawn, all fields',
    {
      kind: 'subagent',
      subagent: {
        kind: 'thread_spawn',
        parentThreadId: PARENT,
        depth: 2,
        agentPath: 'a/b',
        agentNickname: 'scout',
        agentRole: 'explorer',
      },
    },
    {
      subagent: {
        thread_spawn: {
          parent_thread_id: PARENT,
          depth: 2,
          agent_path: 'a/b',
          agent_nickname: 'scout',
          agent_role: 'explorer',
        },
      },
    },
  ],
  [
    'thread_spawn, minimal',
    { kind: 'subagent', subagent: { kind: 'thread_spawn', parentThreadId: PARENT, depth: 1 } },
    { subagent: { thread_spawn: { parent_thread_id: PARENT, depth: 1 } } },
  ],
  [
    'thread_spawn, null optional fields',
    {
      kind: 'subagent',
      subagent: {
        kind: 'thread_spawn',
        parentThreadId: PARENT,
        depth: 1,
        agentPath: null,
        agentNickname: null,
        agentRole: null,
      },
    },
    {
      subagent: {
        thread_spawn: { parent_thread_id: PARENT, depth: 1, agent_path: null, agent_nickname: null, agent_role: null },
      },
    },
  ],
  ['unknown', { kind: 'unknown' }, 'unknown'],
  ['unknown with an unrecognised string', { kind: 'unknown', raw: 'appServer2' }, 'appServer2'],
  ['unknown with an unrecognised object', { kind: 'unknown', raw: { robot: { id: 1 } } }, { robot: { id: 1 } }],
  [
    'unknown with a malformed subagent',
    { kind: 'unknown', raw: { subagent: { thread_spawn: { depth: 1 } } } },
    { subagent: { thread_spawn: { depth: 1 } } },
  ],
];

describe('session sources', () => {
  for (const [name, source, json] of VARIANTS) {
    it(`round-trips ${name} through its JSON form`, () => {
      expect(sessionSourceToJson(source)).toEqual(json);
      expect(sessionSourceFromJson(json)).toEqual(source);
      // Through real JSON text too, as on disk.
      expect(sessionSourceFromJson(JSON.parse(JSON.stringify(sessionSourceToJson(source))))).toEqual(source);
    });
  }

  it('never throws on odd input: anything unrecognised is unknown', () => {
    for (const v of [null, 42, true, [], ['cli'], { custom: 1 }, { custom: 'a', extra: 1 }, {}])
      expect(sessionSourceFromJson(v).kind).toBe('unknown');
    expect(sessionSourceFromJson(undefined)).toEqual({ kind: 'unknown' });
  });

  it('sessionSourceKey is the plain string for simple sources and compact JSON otherwise', () => {
    expect(sessionSourceKey(SessionSources.cli)).toBe('cli');
    expect(sessionSourceKey(SessionSources.custom('atlas'))).toBe('{"custom":"atlas"}');
    expect(sessionSourceKey(SessionSources.subagent({ kind: 'review' }))).toBe('{"subagent":"review"}');
  });

  it('sub-agent sources have the general and the specific kind', () => {
    expect(sessionSourceKinds(SessionSources.subagent({ kind: 'review' }))).toEqual(['subagent', 'subagent_review']);
    expect(sessionSourceKinds(SessionSources.subagent({ kind: 'compact' }))).toEqual(['subagent', 'subagent_compact']);
    expect(sessionSourceKinds(SessionSources.subagent({ kind: 'memory_consolidation' }))).toEqual([
      'subagent',
      'subagent_other',
    ]);
    expect(
      sessionSourceKinds(SessionSources.subagent({ kind: 'thread_spawn', parentThreadId: PARENT, depth: 1 })),
    ).toEqual(['subagent', 'subagent_thread_spawn']);
    expect(sessionSourceKinds(SessionSources.exec)).toEqual(['exec']);
    for (const k of SESSION_SOURCE_KINDS) expect(isSessionSourceKind(k)).toBe(true);
    expect(isSessionSourceKind('appServer')).toBe(false);
  });

  it('the default list shows cli, vscode and the atlas and chatgpt custom clients only', () => {
    const shown = (s: SessionSource): boolean => sourceMatches(s, undefined);
    expect(shown(SessionSources.cli)).toBe(true);
    expect(shown(SessionSources.vscode)).toBe(true);
    expect(shown(SessionSources.custom('atlas'))).toBe(true);
    expect(shown(SessionSources.custom('chatgpt'))).toBe(true);
    expect(shown(SessionSources.custom('other'))).toBe(false);
    expect(shown(SessionSources.exec)).toBe(false);
    expect(shown(SessionSources.mcp)).toBe(false);
    expect(shown(SessionSources.subagent({ kind: 'review' }))).toBe(false);
    expect(shown(SessionSources.internal('guardian'))).toBe(false);
    expect(sourceMatches(SessionSources.exec, [])).toBe(false);
    expect(DEFAULT_LIST_SOURCES).toHaveLength(4);
  });

  it('filters match by kind or by exact source', () => {
    const spawn = SessionSources.subagent({ kind: 'thread_spawn', parentThreadId: PARENT, depth: 1 });
    expect(sourceMatches(spawn, ['subagent'])).toBe(true);
    expect(sourceMatches(spawn, ['subagent_thread_spawn'])).toBe(true);
    expect(sourceMatches(spawn, ['subagent_review'])).toBe(false);
    expect(sourceMatches(SessionSources.custom('x'), ['custom'])).toBe(true);
    expect(sourceMatches(SessionSources.custom('x'), [SessionSources.custom('x')])).toBe(true);
    expect(sourceMatches(SessionSources.custom('x'), [SessionSources.custom('y')])).toBe(false);
    expect(sourceMatches(SessionSources.internal('guardian'), ['internal'])).toBe(true);
    expect(sourceMatches(SessionSources.internal('guardian'), ['cli', 'exec', 'subagent'])).toBe(false);
    expect(sourceMatches(SessionSources.mcp, ['mcp'])).toBe(true);
  });
});
