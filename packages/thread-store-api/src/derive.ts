import { isEventMsg, isObject, isSessionMeta, isTurnContext, userMessageText } from './rollout-item.js';
import type { HistoryMode, MemoryMode, RolloutItem } from './rollout-item.js';
import { sessionSourceFromJson } from './session-source.js';
import type { SessionSource } from './session-source.js';
import type { ThreadId } from './thread-id.js';
import type { ThreadMetadataPatch } from './patch.js';
import type { GitInfo, StoredThread, TokenUsage } from './types.js';

/**
 * What a thread's history says about it, derived the way Codex derives its index rows: the first
 * `session_meta` is canonical; model, effort and policies come from the latest `turn_context`;
 * preview and first user message from the first user message event; token usage from the latest
 * `token_count`; recency from the latest turn start. Every store that keeps history uses this, so
 * a thread reads the same whichever store holds it.
 *
 * @internal
 */
export interface DerivedThreadMetadata {
  threadId: string | null;
  sessionId: string | null;
  createdAt: Date | null;
  source: SessionSource | null;
  modelProvider: string | null;
  cwd: string | null;
  cliVersion: string | null;
  originator: string | null;
  forkedFromId: string | null;
  parentThreadId: string | null;
  threadSource: string | null;
  agentNickname: string | null;
  agentRole: string | null;
  agentPath: string | null;
  gitInfo: GitInfo | null;
  memoryMode: MemoryMode | null;
  historyMode: HistoryMode;
  preview: string | null;
  firstUserMessage: string | null;
  model: string | null;
  reasoningEffort: string | null;
  approvalMode: string | null;
  sandboxPolicy: unknown;
  tokenUsage: TokenUsage | null;
  /** Timestamp of the latest turn start. */
  lastTurnStartedAt: Date | null;
  /** Latest line timestamp. */
  lastItemAt: Date | null;
  /** Latest `thread_name_updated` name in the rollout (null clears). */
  name: string | null | undefined;
  /** Thread-goal objective, used as preview when no user message exists. */
  goalPreview: string | null;
}

/** @internal */
export function emptyDerivedMetadata(): DerivedThreadMetadata {
  return {
    threadId: null,
    sessionId: null,
    createdAt: null,
    source: null,
    modelProvider: null,
    cwd: null,
    cliVersion: null,
    originator: null,
    forkedFromId: null,
    parentThreadId: null,
    threadSource: null,
    agentNickname: null,
    agentRole: null,
    agentPath: null,
    gitInfo: null,
    memoryMode: null,
    historyMode: 'legacy',
    preview: null,
    firstUserMessage: null,
    model: null,
    reasoningEffort: null,
    approvalMode: null,
    sandboxPolicy: null,
    tokenUsage: null,
    lastTurnStartedAt: null,
    lastItemAt: null,
    name: undefined,
    goalPreview: null,
  };
}

/**
 * When a segment (see `ThreadSegment`) was started: its `session_meta`'s time. A thread with
 * segments is described as created then, as Codex 0.169 reports a reverted thread.
 *
 * @internal
 */
export function segmentCreatedAt(meta: RolloutItem): Date | null {
  const p = meta.payload as { timestamp?: unknown } | undefined;
  return parseRolloutTime(p?.timestamp) ?? parseRolloutTime(meta.timestamp);
}

/**
 * Parses an RFC 3339 time, or Codex's file-name form `YYYY-MM-DDThh-mm-ss`.
 *
 * @internal
 */
export function parseRolloutTime(value: unknown): Date | null {
  if (typeof value !== 'string' || value === '') return null;
  let d = new Date(value);
  if (Number.isNaN(d.getTime())) {
    const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2})-(\d{2})-(\d{2})$/.exec(value);
    if (!m) return null;
    d = new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`);
    if (Number.isNaN(d.getTime())) return null;
  }
  return d;
}

const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);

function gitFromJson(v: unknown): GitInfo | null {
  if (!isObject(v)) return null;
  const g: GitInfo = { sha: str(v.commit_hash), branch: str(v.branch), originUrl: str(v.repository_url) };
  return g.sha === null && g.branch === null && g.originUrl === null ? null : g;
}

function num(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}

/** @internal */
export function tokenUsageFromJson(v: unknown): TokenUsage | null {
  if (!isObject(v)) return null;
  return {
    inputTokens: num(v.input_tokens),
    cachedInputTokens: num(v.cached_input_tokens),
    outputTokens: num(v.output_tokens),
    reasoningOutputTokens: num(v.reasoning_output_tokens),
    totalTokens: num(v.total_tokens),
  };
}

/** @internal */
export function tokenUsageToJson(u: TokenUsage): Record<string, number> {
  return {
    input_tokens: u.inputTokens,
    cached_input_tokens: u.cachedInputTokens,
    output_tokens: u.outputTokens,
    reasoning_output_tokens: u.reasoningOutputTokens,
    total_tokens: u.totalTokens,
  };
}

/** @internal */
export function gitInfoToJson(g: GitInfo): Record<string, string> {
  const out: Record<string, string> = {};
  if (g.sha !== null) out.commit_hash = g.sha;
  if (g.branch !== null) out.branch = g.branch;
  if (g.originUrl !== null) out.repository_url = g.originUrl;
  return out;
}

function policyString(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (v === undefined || v === null) return null;
  return JSON.stringify(v);
}

/**
 * Folds rollout items into derived metadata, one item at a time (usable on streams and tails).
 *
 * @internal
 */
export class ThreadMetadataAccumulator {
  readonly value: DerivedThreadMetadata;
  private metaSeen = false;
  private cwdFromMeta = false;

  constructor(initial?: DerivedThreadMetadata) {
    this.value = initial ? { ...initial } : emptyDerivedMetadata();
    this.metaSeen = this.value.threadId !== null;
    this.cwdFromMeta = this.value.cwd !== null;
  }

  observe(item: RolloutItem): void {
    const v = this.value;
    const at = parseRolloutTime(item.timestamp);
    if (at && (v.lastItemAt === null || at.getTime() > v.lastItemAt.getTime())) v.lastItemAt = at;

    if (isSessionMeta(item)) {
      const p = item.payload;
      if (!this.metaSeen) {
        this.metaSeen = true;
        v.threadId = p.id;
        v.sessionId = str(p.session_id) ?? p.id;
        v.createdAt = parseRolloutTime(p.timestamp) ?? at;
        // Codex treats a missing source as vscode.
        v.source = p.source === undefined ? { kind: 'vscode' } : sessionSourceFromJson(p.source);
        v.modelProvider = str(p.model_provider);
        v.cwd = str(p.cwd);
        this.cwdFromMeta = v.cwd !== null;
        v.cliVersion = str(p.cli_version);
        v.originator = str(p.originator);
        v.forkedFromId = str(p.forked_from_id);
        v.parentThreadId = str(p.parent_thread_id);
        v.threadSource = str(p.thread_source);
        const spawn =
          v.source.kind === 'subagent' && v.source.subagent.kind === 'thread_spawn' ? v.source.subagent : null;
        v.agentNickname = str(p.agent_nickname) ?? spawn?.agentNickname ?? null;
        v.agentRole = str(p.agent_role) ?? spawn?.agentRole ?? null;
        v.agentPath = str(p.agent_path) ?? spawn?.agentPath ?? null;
        if (v.parentThreadId === null && spawn) v.parentThreadId = spawn.parentThreadId;
        v.gitInfo = gitFromJson(p.git);
        v.memoryMode = p.memory_mode === 'disabled' || p.memory_mode === 'enabled' ? p.memory_mode : null;
        v.historyMode = p.history_mode === 'paginated' ? 'paginated' : 'legacy';
      } else if (p.id === v.threadId) {
        // A later session_meta of the same thread records a git or memory-mode update.
        if ('git' in p) v.gitInfo = gitFromJson(p.git);
        if (p.memory_mode === 'disabled' || p.memory_mode === 'enabled') v.memoryMode = p.memory_mode;
      }
      return;
    }

    if (isTurnContext(item)) {
      const p = item.payload;
      if (!this.cwdFromMeta && v.cwd === null) v.cwd = str(p.cwd);
      if (str(p.model)) v.model = str(p.model);
      const collab =
        isObject(p.collaboration_mode) && isObject(p.collaboration_mode.settings)
          ? p.collaboration_mode.settings
          : null;
      const effort = str(p.effort) ?? (collab ? str(collab.reasoning_effort) : null);
      if (effort) v.reasoningEffort = effort;
      if (p.approval_policy !== undefined) v.approvalMode = policyString(p.approval_policy);
      if (p.sandbox_policy !== undefined) v.sandboxPolicy = p.sandbox_policy;
      return;
    }

    const userText = userMessageText(item);
    if (userText !== undefined) {
      if (v.firstUserMessage === null) {
        v.firstUserMessage = userText;
        v.preview = userText;
      }
      return;
    }

    if (isEventMsg(item)) {
      const p = item.payload;
      switch (p.type) {
        case 'task_started':
          if (at) v.lastTurnStartedAt = at;
          break;
        case 'token_count': {
          const usage = isObject(p.info) ? tokenUsageFromJson(p.info.total_token_usage) : null;
          if (usage) v.tokenUsage = usage;
          break;
        }
        case 'thread_goal_updated': {
          const goal = isObject(p.goal) ? p.goal.objective : p.objective;
          if (v.goalPreview === null && typeof goal === 'string' && goal.trim() !== '') v.goalPreview = goal.trim();
          break;
        }
        case 'thread_name_updated': {
          const name = p.thread_name;
          v.name = typeof name === 'string' && name.trim() !== '' ? name : null;
          break;
        }
        default:
          break;
      }
    }
  }

  /** The preview a listing shows: the first user message, else a thread goal, else `''`. */
  get preview(): string {
    return this.value.preview ?? this.value.goalPreview ?? '';
  }
}

/**
 * Derives metadata from a whole history.
 *
 * @internal
 */
export function deriveThreadMetadata(items: Iterable<RolloutItem>): DerivedThreadMetadata {
  const acc = new ThreadMetadataAccumulator();
  for (const item of items) acc.observe(item);
  if (acc.value.preview === null && acc.value.goalPreview !== null) acc.value.preview = acc.value.goalPreview;
  return acc.value;
}

/**
 * What a store knows about a thread besides its history.
 *
 * @internal
 */
export interface StoredThreadFacts {
  /** The preview to show (usually the accumulator's `preview`). */
  preview: string;
  defaultModelProvider: string;
  /** The time of the last durable write. */
  updatedAt: Date;
  /** Creation time when the history carries none. */
  createdAtFallback: Date;
  archivedAt: Date | null;
  rolloutPath: string | null;
}

/**
 * The StoredThread summary of derived history metadata, before any patch: every store builds its
 * threads this way, so the same history reads the same from each. A history with no
 * `session_meta` source counts as `vscode`, as in Codex; recency is never before creation.
 *
 * @internal
 */
export function storedThreadFromDerived(
  threadId: ThreadId,
  d: DerivedThreadMetadata,
  f: StoredThreadFacts,
): StoredThread {
  const createdAt = d.createdAt ?? f.createdAtFallback;
  const turn = d.lastTurnStartedAt;
  const recencyAt = turn && turn.getTime() > createdAt.getTime() ? turn : createdAt;
  return {
    threadId,
    sessionId: d.sessionId ?? threadId,
    forkedFromId: (d.forkedFromId?.toLowerCase() ?? null) as ThreadId | null,
    parentThreadId: (d.parentThreadId?.toLowerCase() ?? null) as ThreadId | null,
    preview: f.preview,
    name: d.name ?? null,
    modelProvider: d.modelProvider ?? f.defaultModelProvider,
    model: d.model,
    reasoningEffort: d.reasoningEffort,
    createdAt: new Date(createdAt.getTime()),
    updatedAt: new Date(f.updatedAt.getTime()),
    recencyAt: new Date(recencyAt.getTime()),
    archivedAt: f.archivedAt,
    cwd: d.cwd ?? '',
    cliVersion: d.cliVersion ?? '',
    source: d.source ?? { kind: 'vscode' },
    threadSource: d.threadSource,
    agentNickname: d.agentNickname,
    agentRole: d.agentRole,
    agentPath: d.agentPath,
    gitInfo: d.gitInfo,
    approvalMode: d.approvalMode,
    sandboxPolicy: d.sandboxPolicy ?? null,
    tokenUsage: d.tokenUsage,
    firstUserMessage: d.firstUserMessage,
    historyMode: d.historyMode,
    memoryMode: d.memoryMode ?? 'enabled',
    rolloutPath: f.rolloutPath,
  };
}

/** The derived fields a patch can also set; a later history fact for one replaces the patch. */
const DERIVED_TO_PATCH: ReadonlyArray<[keyof DerivedThreadMetadata, keyof ThreadMetadataPatch]> = [
  ['preview', 'preview'],
  ['firstUserMessage', 'firstUserMessage'],
  ['model', 'model'],
  ['reasoningEffort', 'reasoningEffort'],
  ['approvalMode', 'approvalMode'],
  ['sandboxPolicy', 'sandboxPolicy'],
  ['tokenUsage', 'tokenUsage'],
  ['gitInfo', 'gitInfo'],
  ['memoryMode', 'memoryMode'],
  ['name', 'name'],
];

/**
 * Removes from a merged patch the fields that newly appended history now decides: a derived
 * fact that changed between `before` and `after`, and the name when the items rename the thread.
 * Stores that keep patches beside derived metadata call it on every append.
 *
 * @internal
 */
export function dropPatchesReplacedByHistory(
  patch: ThreadMetadataPatch,
  before: DerivedThreadMetadata,
  after: DerivedThreadMetadata,
  items: readonly RolloutItem[],
): void {
  for (const [field, key] of DERIVED_TO_PATCH) {
    if (!Object.is(before[field], after[field])) delete patch[key];
  }
  // The name a history event sets replaces an older patched name.
  if (items.some((i) => isEventMsg(i, 'thread_name_updated'))) delete patch.name;
}
