import { create } from '@bufbuild/protobuf';
import type { SessionSource as ApiSessionSource, SubAgentSource as ApiSubAgentSource } from '@skein/thread-store-api';
import { ThreadStoreError } from '@skein/thread-store-api';
import {
  SessionSourceKind,
  SessionSourceSchema,
  SubAgentKind,
  SubAgentSourceSchema,
  ThreadSpawnSourceSchema,
} from '../../gen/skein/threadstore/v1/types_pb.js';
import type { SessionSource, SubAgentSource } from '../../gen/skein/threadstore/v1/types_pb.js';
import { jsonBytes, parseJsonBytes } from './json-bytes.js';
import { nullableFromProto, nullableToProto } from './nullable.js';

function subAgentToProto(s: ApiSubAgentSource): SubAgentSource {
  switch (s.kind) {
    case 'review':
      return create(SubAgentSourceSchema, { kind: SubAgentKind.REVIEW });
    case 'compact':
      return create(SubAgentSourceSchema, { kind: SubAgentKind.COMPACT });
    case 'memory_consolidation':
      return create(SubAgentSourceSchema, { kind: SubAgentKind.MEMORY_CONSOLIDATION });
    case 'other':
      return create(SubAgentSourceSchema, { kind: SubAgentKind.OTHER, otherName: s.name });
    case 'thread_spawn': {
      const spawn = create(ThreadSpawnSourceSchema, { parentThreadId: s.parentThreadId, depth: s.depth });
      const path = nullableToProto(s.agentPath);
      const nick = nullableToProto(s.agentNickname);
      const role = nullableToProto(s.agentRole);
      if (path) spawn.agentPath = path;
      if (nick) spawn.agentNickname = nick;
      if (role) spawn.agentRole = role;
      return create(SubAgentSourceSchema, { kind: SubAgentKind.THREAD_SPAWN, threadSpawn: spawn });
    }
    default:
      throw ThreadStoreError.invalidRequest(
        `unknown sub-agent source kind ${JSON.stringify((s as { kind?: unknown }).kind)}`,
      );
  }
}

export function sessionSourceToProto(s: ApiSessionSource): SessionSource {
  if (typeof s !== 'object' || s === null) throw ThreadStoreError.invalidRequest('a session source must be an object');
  switch (s.kind) {
    case 'cli':
      return create(SessionSourceSchema, { kind: SessionSourceKind.CLI });
    case 'vscode':
      return create(SessionSourceSchema, { kind: SessionSourceKind.VSCODE });
    case 'exec':
      return create(SessionSourceSchema, { kind: SessionSourceKind.EXEC });
    case 'mcp':
      return create(SessionSourceSchema, { kind: SessionSourceKind.MCP });
    case 'custom':
      return create(SessionSourceSchema, { kind: SessionSourceKind.CUSTOM, name: s.name });
    case 'internal':
      return create(SessionSourceSchema, { kind: SessionSourceKind.INTERNAL, name: s.name });
    case 'subagent':
      return create(SessionSourceSchema, { kind: SessionSourceKind.SUBAGENT, subagent: subAgentToProto(s.subagent) });
    case 'unknown': {
      const out = create(SessionSourceSchema, { kind: SessionSourceKind.UNKNOWN });
      if (s.raw !== undefined) out.unknownRawJson = jsonBytes(s.raw, 'the raw value of an unknown session source');
      return out;
    }
    default:
      throw ThreadStoreError.invalidRequest(
        `unknown session source kind ${JSON.stringify((s as { kind?: unknown }).kind)}`,
      );
  }
}

function bad(what: string): ThreadStoreError {
  return ThreadStoreError.invalidRequest(`malformed session source on the wire: ${what}`);
}

function subAgentFromProto(s: SubAgentSource | undefined): ApiSubAgentSource {
  switch (s?.kind) {
    case SubAgentKind.REVIEW:
      return { kind: 'review' };
    case SubAgentKind.COMPACT:
      return { kind: 'compact' };
    case SubAgentKind.MEMORY_CONSOLIDATION:
      return { kind: 'memory_consolidation' };
    case SubAgentKind.OTHER:
      return { kind: 'other', name: s.otherName };
    case SubAgentKind.THREAD_SPAWN: {
      const t = s.threadSpawn;
      if (!t) throw bad('a thread_spawn sub-agent without its details');
      const out: {
        -readonly [K in keyof Extract<ApiSubAgentSource, { kind: 'thread_spawn' }>]: Extract<
          ApiSubAgentSource,
          { kind: 'thread_spawn' }
        >[K];
      } = {
        kind: 'thread_spawn',
        parentThreadId: t.parentThreadId,
        depth: t.depth,
      };
      const path = nullableFromProto(t.agentPath);
      const nick = nullableFromProto(t.agentNickname);
      const role = nullableFromProto(t.agentRole);
      if (path !== undefined) out.agentPath = path;
      if (nick !== undefined) out.agentNickname = nick;
      if (role !== undefined) out.agentRole = role;
      return out;
    }
    default:
      throw bad(`sub-agent kind ${String(s?.kind)}`);
  }
}

export function sessionSourceFromProto(s: SessionSource | undefined): ApiSessionSource {
  switch (s?.kind) {
    case SessionSourceKind.CLI:
      return { kind: 'cli' };
    case SessionSourceKind.VSCODE:
      return { kind: 'vscode' };
    case SessionSourceKind.EXEC:
      return { kind: 'exec' };
    case SessionSourceKind.MCP:
      return { kind: 'mcp' };
    case SessionSourceKind.CUSTOM:
      return { kind: 'custom', name: s.name };
    case SessionSourceKind.INTERNAL:
      return { kind: 'internal', name: s.name };
    case SessionSourceKind.SUBAGENT:
      return { kind: 'subagent', subagent: subAgentFromProto(s.subagent) };
    case SessionSourceKind.UNKNOWN:
      return s.unknownRawJson === undefined
        ? { kind: 'unknown' }
        : { kind: 'unknown', raw: parseJsonBytes(s.unknownRawJson, 'the raw value of an unknown session source') };
    default:
      throw bad(s === undefined ? 'missing' : `kind ${String(s.kind)}`);
  }
}
