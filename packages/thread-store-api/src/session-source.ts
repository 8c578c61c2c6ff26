/**
 * Where a thread came from. Round-trips the JSON forms Codex writes in `session_meta.source`:
 * `"cli"`, `"vscode"`, `"exec"`, `"mcp"` (app server), `{"custom":name}`, `{"internal":name}`,
 * `{"subagent":"review"|"compact"|"memory_consolidation"|{"other":name}|{"thread_spawn":{…}}}`
 * and `"unknown"`. Anything unrecognised becomes `unknown` and keeps its raw JSON.
 */
export type SubAgentSource =
  | { readonly kind: 'review' }
  | { readonly kind: 'compact' }
  | { readonly kind: 'memory_consolidation' }
  | { readonly kind: 'other'; readonly name: string }
  | {
      readonly kind: 'thread_spawn';
      readonly parentThreadId: string;
      readonly depth: number;
      readonly agentPath?: string | null;
      readonly agentNickname?: string | null;
      readonly agentRole?: string | null;
    };

/** Where a thread came from (`session_meta.source`); see `SessionSources` for the common values. */
export type SessionSource =
  | { readonly kind: 'cli' }
  | { readonly kind: 'vscode' }
  | { readonly kind: 'exec' }
  | { readonly kind: 'mcp' }
  | { readonly kind: 'custom'; readonly name: string }
  | { readonly kind: 'internal'; readonly name: string }
  | { readonly kind: 'subagent'; readonly subagent: SubAgentSource }
  | { readonly kind: 'unknown'; readonly raw?: unknown };

/**
 * Kinds usable in list filters, after Codex's `sourceKinds`: `subagent` matches every sub-agent
 * form, the `subagent_*` kinds one form each.
 */
export const SESSION_SOURCE_KINDS = [
  'cli',
  'vscode',
  'exec',
  'mcp',
  'custom',
  'internal',
  'subagent',
  'subagent_review',
  'subagent_compact',
  'subagent_thread_spawn',
  'subagent_other',
  'unknown',
] as const;
/** One of `SESSION_SOURCE_KINDS`: the coarse kind of a source, for list filters. */
export type SessionSourceKind = (typeof SESSION_SOURCE_KINDS)[number];

/** A list filter entry: a kind, or an exact source. */
export type SessionSourceFilter = SessionSourceKind | SessionSource;

/**
 * Ready-made `SessionSource` values and constructors, e.g. `SessionSources.exec` or
 * `SessionSources.custom('my-tool')`.
 */
export const SessionSources = {
  cli: { kind: 'cli' } as SessionSource,
  vscode: { kind: 'vscode' } as SessionSource,
  exec: { kind: 'exec' } as SessionSource,
  mcp: { kind: 'mcp' } as SessionSource,
  unknown: { kind: 'unknown' } as SessionSource,
  /** A source named by the client (`{"custom": name}`). */
  custom: (name: string): SessionSource => ({ kind: 'custom', name }),
  /** A thread Codex starts for itself (`{"internal": name}`). */
  internal: (name: string): SessionSource => ({ kind: 'internal', name }),
  /** A sub-agent's thread. */
  subagent: (subagent: SubAgentSource): SessionSource => ({ kind: 'subagent', subagent }),
} as const;

/**
 * The sources a listing shows when the caller names none: the interactive ones, as in Codex
 * (`cli`, `vscode`, and the `atlas` and `chatgpt` custom clients).
 */
export const DEFAULT_LIST_SOURCES: readonly SessionSourceFilter[] = [
  'cli',
  'vscode',
  { kind: 'custom', name: 'atlas' },
  { kind: 'custom', name: 'chatgpt' },
];

const SIMPLE = new Set(['cli', 'vscode', 'exec', 'mcp', 'unknown']);

function optString(v: unknown): string | null | undefined {
  if (v === undefined) return undefined;
  if (v === null) return null;
  return typeof v === 'string' ? v : undefined;
}

function subAgentFromJson(v: unknown): SubAgentSource | undefined {
  if (v === 'review' || v === 'compact' || v === 'memory_consolidation') return { kind: v };
  if (typeof v !== 'object' || v === null) return undefined;
  const o = v as Record<string, unknown>;
  if (typeof o.other === 'string') return { kind: 'other', name: o.other };
  const spawn = o.thread_spawn;
  if (typeof spawn === 'object' && spawn !== null) {
    const s = spawn as Record<string, unknown>;
    if (typeof s.parent_thread_id !== 'string' || typeof s.depth !== 'number') return undefined;
    const out: {
      -readonly [K in keyof Extract<SubAgentSource, { kind: 'thread_spawn' }>]: Extract<
        SubAgentSource,
        { kind: 'thread_spawn' }
      >[K];
    } = {
      kind: 'thread_spawn',
      parentThreadId: s.parent_thread_id,
      depth: s.depth,
    };
    const path = optString(s.agent_path);
    const nick = optString(s.agent_nickname);
    const role = optString(s.agent_role);
    if (path !== undefined) out.agentPath = path;
    if (nick !== undefined) out.agentNickname = nick;
    if (role !== undefined) out.agentRole = role;
    return out;
  }
  return undefined;
}

/**
 * Parses the on-disk JSON form. Never throws: unrecognised input is `unknown` with its raw value.
 *
 * @internal
 */
export function sessionSourceFromJson(v: unknown): SessionSource {
  if (typeof v === 'string') {
    if (SIMPLE.has(v)) return { kind: v as 'cli' | 'vscode' | 'exec' | 'mcp' | 'unknown' };
    return { kind: 'unknown', raw: v };
  }
  if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o);
    if (keys.length === 1) {
      if (typeof o.custom === 'string') return { kind: 'custom', name: o.custom };
      if (typeof o.internal === 'string') return { kind: 'internal', name: o.internal };
      if ('subagent' in o) {
        const sub = subAgentFromJson(o.subagent);
        if (sub) return { kind: 'subagent', subagent: sub };
      }
    }
  }
  return v === undefined ? { kind: 'unknown' } : { kind: 'unknown', raw: v };
}

function subAgentToJson(s: SubAgentSource): unknown {
  switch (s.kind) {
    case 'review':
    case 'compact':
    case 'memory_consolidation':
      return s.kind;
    case 'other':
      return { other: s.name };
    case 'thread_spawn': {
      const spawn: Record<string, unknown> = { parent_thread_id: s.parentThreadId, depth: s.depth };
      if (s.agentPath !== undefined) spawn.agent_path = s.agentPath;
      if (s.agentNickname !== undefined) spawn.agent_nickname = s.agentNickname;
      if (s.agentRole !== undefined) spawn.agent_role = s.agentRole;
      return { thread_spawn: spawn };
    }
  }
}

/**
 * The on-disk JSON form (the inverse of `sessionSourceFromJson`).
 *
 * @internal
 */
export function sessionSourceToJson(s: SessionSource): unknown {
  switch (s.kind) {
    case 'cli':
    case 'vscode':
    case 'exec':
    case 'mcp':
      return s.kind;
    case 'custom':
      return { custom: s.name };
    case 'internal':
      return { internal: s.name };
    case 'subagent':
      return { subagent: subAgentToJson(s.subagent) };
    case 'unknown':
      return s.raw === undefined ? 'unknown' : s.raw;
  }
}

/**
 * A stable string for a source: the plain string for simple sources, compact JSON otherwise.
 *
 * @internal
 */
export function sessionSourceKey(s: SessionSource): string {
  const json = sessionSourceToJson(s);
  return typeof json === 'string' ? json : JSON.stringify(json);
}

/** @internal */
export function sessionSourceKinds(s: SessionSource): SessionSourceKind[] {
  switch (s.kind) {
    case 'subagent': {
      const k = s.subagent.kind;
      const specific: SessionSourceKind =
        k === 'review'
          ? 'subagent_review'
          : k === 'compact'
            ? 'subagent_compact'
            : k === 'thread_spawn'
              ? 'subagent_thread_spawn'
              : 'subagent_other';
      return ['subagent', specific];
    }
    default:
      return [s.kind];
  }
}

/** True when `v` is one of `SESSION_SOURCE_KINDS`. */
export function isSessionSourceKind(v: unknown): v is SessionSourceKind {
  return typeof v === 'string' && (SESSION_SOURCE_KINDS as readonly string[]).includes(v);
}

/**
 * Whether a source passes a list of filters (`undefined` or `[]` means the default list).
 *
 * @internal
 */
export function sourceMatches(source: SessionSource, filters: readonly SessionSourceFilter[] | undefined): boolean {
  const list = filters === undefined || filters.length === 0 ? DEFAULT_LIST_SOURCES : filters;
  const kinds = sessionSourceKinds(source);
  const key = sessionSourceKey(source);
  // Internal threads (guardian, memory consolidation) match only the `internal` kind itself.
  return list.some((f) => (typeof f === 'string' ? kinds.includes(f) : sessionSourceKey(f) === key));
}
