import {
  applyGitPatch,
  gitInfoToJson,
  isObject,
  sessionSourceFromJson,
  sessionSourceToJson,
  tokenUsageFromJson,
  tokenUsageToJson,
  validatePatch,
} from '@skein/thread-store-api';
import type { GitInfoPatch, RolloutItem, StoredThread, ThreadMetadataPatch } from '@skein/thread-store-api';

/**
 * Metadata patches that are not names are made durable in the rollout itself: Skein appends a
 * `session_meta` line — the same line type Codex appends for git and memory-mode updates — that
 * carries the patch under this extra key. Codex parses such a line cleanly (unknown fields are
 * ignored, and a later `session_meta` only contributes git and memory mode), and Skein reads the
 * key back and leaves the line out of the history it returns.
 */
export const SKEIN_PATCH_KEY = 'skein_metadata_patch';

/**
 * In a paginated rollout a later `session_meta` line makes Codex 0.169 rebuild the model context
 * from that point (a resume then sends the model none of the earlier turns), and a last record
 * without an ordinal stops Codex from resuming at all. There the patch goes on a line of its own
 * type, without an ordinal: Codex skips a line type it does not know, in its reader, its
 * projection and its ordinal scan.
 */
export const SKEIN_PATCH_LINE_TYPE = 'skein_metadata_patch';

const DATE_KEYS = ['createdAt', 'updatedAt', 'advanceRecencyAt'] as const;

/** The JSON form of a validated patch (dates as ISO strings, source in its on-disk form). */
export function patchToJson(patch: ThreadMetadataPatch): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === undefined) continue;
    if ((DATE_KEYS as readonly string[]).includes(k)) out[k] = v === null ? null : (v as Date).toISOString();
    else if (k === 'source')
      out[k] = v === null ? null : sessionSourceToJson(v as Parameters<typeof sessionSourceToJson>[0]);
    else if (k === 'tokenUsage')
      out[k] = v === null ? null : tokenUsageToJson(v as Parameters<typeof tokenUsageToJson>[0]);
    else if (k === 'gitInfo') {
      if (v === null) out[k] = null;
      else {
        const g = v as GitInfoPatch;
        const o: Record<string, unknown> = {};
        if (g.sha !== undefined) o.sha = g.sha;
        if (g.branch !== undefined) o.branch = g.branch;
        if (g.originUrl !== undefined) o.originUrl = g.originUrl;
        out[k] = o;
      }
    } else out[k] = v;
  }
  return out;
}

/** Reads a patch back; null when it is damaged (the line is then ignored). */
export function patchFromJson(v: unknown): ThreadMetadataPatch | null {
  if (!isObject(v)) return null;
  const out: Record<string, unknown> = {};
  for (const [k, raw] of Object.entries(v)) {
    if ((DATE_KEYS as readonly string[]).includes(k)) {
      if (raw === null) out[k] = null;
      else if (typeof raw === 'string') out[k] = new Date(raw);
      else return null;
    } else if (k === 'source') out[k] = raw === null ? null : sessionSourceFromJson(raw);
    else if (k === 'tokenUsage') out[k] = raw === null ? null : tokenUsageFromJson(raw);
    else if (k === 'gitInfo') {
      if (raw === null) out[k] = null;
      else if (!isObject(raw)) return null;
      else {
        const g: GitInfoPatch = {};
        for (const f of ['sha', 'branch', 'originUrl'] as const) {
          const x = raw[f];
          if (x === null || typeof x === 'string') g[f] = x;
        }
        out[k] = g;
      }
    } else out[k] = raw;
  }
  try {
    validatePatch(out as ThreadMetadataPatch);
  } catch {
    return null;
  }
  return out as ThreadMetadataPatch;
}

/**
 * The line that records `patch` (all but `updatedAt`, which is the file's mtime) for a thread
 * whose rollout starts with `first`: in a paginated rollout a line of its own type holding the
 * whole patch; in a legacy one a `session_meta` line like the first (without what only a first
 * line says), with git info and memory mode in Codex's own `git` / `memory_mode` fields and the
 * rest under `SKEIN_PATCH_KEY`.
 */
export function patchLineItem(
  first: RolloutItem | null,
  thread: StoredThread,
  patch: ThreadMetadataPatch,
): { item: Record<string, unknown>; paginated: boolean } {
  const meta = first && first.type === 'session_meta' && isObject(first.payload) ? first.payload : null;
  const payload: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(meta ?? { id: thread.threadId, timestamp: thread.createdAt.toISOString() })) {
    if (FIRST_LINE_ONLY.has(k)) continue;
    payload[k] = v;
  }
  payload.id = thread.threadId;
  const { gitInfo, memoryMode, updatedAt: _mtime, ...recorded } = patch;
  const gitAndMemory: ThreadMetadataPatch = {};
  if (gitInfo !== undefined) gitAndMemory.gitInfo = gitInfo;
  if (memoryMode !== undefined) gitAndMemory.memoryMode = memoryMode;
  if (gitInfo !== undefined) {
    const g = applyGitPatch(thread.gitInfo, gitInfo);
    payload.git = g ? gitInfoToJson(g) : {};
  }
  if (memoryMode != null) payload.memory_mode = memoryMode;
  payload[SKEIN_PATCH_KEY] = patchToJson(recorded);
  const paginated = thread.historyMode === 'paginated';
  const item: Record<string, unknown> = paginated
    ? { type: SKEIN_PATCH_LINE_TYPE, payload: { [SKEIN_PATCH_KEY]: patchToJson({ ...recorded, ...gitAndMemory }) } }
    : { type: 'session_meta', payload };
  return { item, paginated };
}

/** Fields of a first `session_meta` that a patch line does not repeat. */
const FIRST_LINE_ONLY = new Set([
  'git',
  'memory_mode',
  'base_instructions',
  'dynamic_tools',
  'history_base',
  'history_mode',
  SKEIN_PATCH_KEY,
]);
