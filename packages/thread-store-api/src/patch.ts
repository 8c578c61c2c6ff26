import { ThreadStoreError } from './errors.js';
import { checkThreadDate } from './limits.js';
import type { HistoryMode, MemoryMode } from './rollout-item.js';
import type { SessionSource } from './session-source.js';
import type { GitInfo, StoredThread, TokenUsage } from './types.js';

/**
 * A field of a patch: `undefined` (or absent) leaves the value, `null` clears it, a value sets it.
 */
export type Clearable<T> = T | null | undefined;

/** A patch of `GitInfo`: each field follows the `Clearable` rule. */
export interface GitInfoPatch {
  sha?: Clearable<string>;
  branch?: Clearable<string>;
  originUrl?: Clearable<string>;
}

/**
 * The literal metadata patch that `updateThreadMetadata` applies. Fields whose StoredThread value
 * cannot be null (`modelProvider`, `createdAt`, `updatedAt`, `source`, `historyMode`,
 * `memoryMode`) reject `null`; `preview`, `cwd` and `cliVersion` clear to `''`.
 */
export interface ThreadMetadataPatch {
  name?: Clearable<string>;
  /** Derived title (first user message); a title equal to the first message is not a name. */
  title?: Clearable<string>;
  preview?: Clearable<string>;
  firstUserMessage?: Clearable<string>;
  modelProvider?: Clearable<string>;
  model?: Clearable<string>;
  reasoningEffort?: Clearable<string>;
  createdAt?: Clearable<Date>;
  updatedAt?: Clearable<Date>;
  /** Monotonic: recencyAt becomes max(current, value). */
  advanceRecencyAt?: Clearable<Date>;
  source?: Clearable<SessionSource>;
  threadSource?: Clearable<string>;
  agentNickname?: Clearable<string>;
  agentRole?: Clearable<string>;
  agentPath?: Clearable<string>;
  cwd?: Clearable<string>;
  cliVersion?: Clearable<string>;
  approvalMode?: Clearable<string>;
  sandboxPolicy?: unknown;
  tokenUsage?: Clearable<TokenUsage>;
  memoryMode?: Clearable<MemoryMode>;
  historyMode?: Clearable<HistoryMode>;
  /** Merged field by field into the current git info. */
  gitInfo?: Clearable<GitInfoPatch>;
}

/** Arguments of `ThreadStore.updateThreadMetadata`. */
export interface UpdateThreadMetadataParams {
  threadId: import('./thread-id.js').ThreadId;
  patch: ThreadMetadataPatch;
  includeArchived?: boolean;
}

const NOT_NULLABLE = ['modelProvider', 'createdAt', 'updatedAt', 'source', 'historyMode', 'memoryMode'] as const;
const DATE_FIELDS = ['createdAt', 'updatedAt', 'advanceRecencyAt'] as const;
const STRING_FIELDS = [
  'name',
  'title',
  'preview',
  'firstUserMessage',
  'modelProvider',
  'model',
  'reasoningEffort',
  'threadSource',
  'agentNickname',
  'agentRole',
  'agentPath',
  'cwd',
  'cliVersion',
  'approvalMode',
] as const;
const PATCH_KEYS = new Set<string>([
  ...STRING_FIELDS,
  ...DATE_FIELDS,
  'source',
  'sandboxPolicy',
  'tokenUsage',
  'memoryMode',
  'historyMode',
  'gitInfo',
]);

/** @internal */
export function isEmptyPatch(patch: ThreadMetadataPatch): boolean {
  return Object.values(patch).every((v) => v === undefined);
}

/**
 * Checks a patch's shape; throws `invalid_request` saying which field is wrong.
 *
 * @internal
 */
export function validatePatch(patch: ThreadMetadataPatch): void {
  if (typeof patch !== 'object' || patch === null) throw ThreadStoreError.invalidRequest('patch must be an object');
  for (const key of Object.keys(patch)) {
    if (!PATCH_KEYS.has(key)) throw ThreadStoreError.invalidRequest(`unknown patch field "${key}"`);
  }
  for (const key of NOT_NULLABLE) {
    if (patch[key] === null) throw ThreadStoreError.invalidRequest(`patch field "${key}" cannot be cleared`);
  }
  for (const key of STRING_FIELDS) {
    const v = patch[key];
    if (v !== undefined && v !== null && typeof v !== 'string')
      throw ThreadStoreError.invalidRequest(`patch field "${key}" must be a string or null`);
  }
  for (const key of DATE_FIELDS) {
    const v = patch[key];
    if (v !== undefined && v !== null && (!(v instanceof Date) || Number.isNaN(v.getTime())))
      throw ThreadStoreError.invalidRequest(`patch field "${key}" must be a valid Date or null`);
    if (v != null) checkThreadDate(v, `patch field "${key}"`);
  }
  if (patch.modelProvider === '') throw ThreadStoreError.invalidRequest('patch field "modelProvider" cannot be empty');
  if (patch.memoryMode != null && patch.memoryMode !== 'enabled' && patch.memoryMode !== 'disabled')
    throw ThreadStoreError.invalidRequest('patch field "memoryMode" must be "enabled" or "disabled"');
  if (patch.historyMode != null && patch.historyMode !== 'legacy' && patch.historyMode !== 'paginated')
    throw ThreadStoreError.invalidRequest('patch field "historyMode" must be "legacy" or "paginated"');
  if (patch.name != null && patch.name.trim() === '')
    throw ThreadStoreError.invalidRequest('a thread name cannot be empty; use null to clear it');
}

function mergeGit(a: Clearable<GitInfoPatch>, b: Clearable<GitInfoPatch>): Clearable<GitInfoPatch> {
  if (b === undefined) return a;
  if (b === null || a === undefined || a === null) return b;
  const out: GitInfoPatch = { ...a };
  if (b.sha !== undefined) out.sha = b.sha;
  if (b.branch !== undefined) out.branch = b.branch;
  if (b.originUrl !== undefined) out.originUrl = b.originUrl;
  return out;
}

/**
 * Combines two patches: fields present in `next` win, git merges per field, recency takes the max.
 *
 * @internal
 */
export function mergePatches(base: ThreadMetadataPatch, next: ThreadMetadataPatch): ThreadMetadataPatch {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(next)) {
    if (v !== undefined) out[k] = v;
  }
  const git = mergeGit(base.gitInfo, next.gitInfo);
  if (git !== undefined) out.gitInfo = git;
  const a = base.advanceRecencyAt;
  const b = next.advanceRecencyAt;
  if (a instanceof Date && b instanceof Date) out.advanceRecencyAt = a.getTime() >= b.getTime() ? a : b;
  // Recency only moves forward: a later `null` cannot take back an earlier advance.
  else if (a instanceof Date && b === null) out.advanceRecencyAt = a;
  return out as ThreadMetadataPatch;
}

/**
 * Git info after applying a patch; null when every field ends up empty.
 *
 * @internal
 */
export function applyGitPatch(current: GitInfo | null, patch: Clearable<GitInfoPatch>): GitInfo | null {
  if (patch === undefined) return current;
  if (patch === null) return null;
  const next: GitInfo = {
    sha: patch.sha === undefined ? (current?.sha ?? null) : patch.sha,
    branch: patch.branch === undefined ? (current?.branch ?? null) : patch.branch,
    originUrl: patch.originUrl === undefined ? (current?.originUrl ?? null) : patch.originUrl,
  };
  return next.sha === null && next.branch === null && next.originUrl === null ? null : next;
}

/**
 * The thread after applying a validated patch. `title` and `advanceRecencyAt` follow their rules:
 * a title distinct from the first user message becomes the name when no name is set; recency
 * only moves forward.
 *
 * @internal
 */
export function applyPatch(thread: StoredThread, patch: ThreadMetadataPatch): StoredThread {
  const t: StoredThread = { ...thread };
  const str = (v: Clearable<string>, cur: string | null): string | null => (v === undefined ? cur : v);
  t.name = str(patch.name, t.name);
  t.preview = str(patch.preview, t.preview) ?? '';
  t.firstUserMessage = str(patch.firstUserMessage, t.firstUserMessage);
  if (patch.modelProvider != null) t.modelProvider = patch.modelProvider;
  t.model = str(patch.model, t.model);
  t.reasoningEffort = str(patch.reasoningEffort, t.reasoningEffort);
  if (patch.createdAt != null) t.createdAt = new Date(patch.createdAt.getTime());
  if (patch.updatedAt != null) t.updatedAt = new Date(patch.updatedAt.getTime());
  if (patch.advanceRecencyAt != null && patch.advanceRecencyAt.getTime() > t.recencyAt.getTime())
    t.recencyAt = new Date(patch.advanceRecencyAt.getTime());
  if (patch.source != null) t.source = patch.source;
  t.threadSource = str(patch.threadSource, t.threadSource);
  t.agentNickname = str(patch.agentNickname, t.agentNickname);
  t.agentRole = str(patch.agentRole, t.agentRole);
  t.agentPath = str(patch.agentPath, t.agentPath);
  t.cwd = str(patch.cwd, t.cwd) ?? '';
  t.cliVersion = str(patch.cliVersion, t.cliVersion) ?? '';
  t.approvalMode = str(patch.approvalMode, t.approvalMode);
  if (patch.sandboxPolicy !== undefined) t.sandboxPolicy = patch.sandboxPolicy;
  if (patch.tokenUsage !== undefined) t.tokenUsage = patch.tokenUsage;
  if (patch.memoryMode != null) t.memoryMode = patch.memoryMode;
  if (patch.historyMode != null) t.historyMode = patch.historyMode;
  t.gitInfo = applyGitPatch(t.gitInfo, patch.gitInfo);
  if (patch.title != null && patch.name === undefined && t.name === null) {
    const title = patch.title.trim();
    const first = (t.firstUserMessage ?? '').trim();
    if (title !== '' && title !== first && title !== t.preview.trim()) t.name = title;
  }
  return t;
}
