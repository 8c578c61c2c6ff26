import {
  isEventMsg,
  isObject,
  isSessionMeta,
  isTurnContext,
  mergePatches,
  parseRolloutTime,
  sessionSourceFromJson,
  tokenUsageFromJson,
  userMessageText,
} from '@skein/thread-store-api';
import type { CreateThreadParams, RolloutItem, SessionSource, ThreadMetadataPatch } from '@skein/thread-store-api';

/** The default window inside which `updatedAt` touches with no new facts are coalesced. */
export const DEFAULT_TOUCH_WINDOW_MS = 5_000;

export interface TakenPatch {
  patch: ThreadMetadataPatch;
  generation: number;
}

const nonEmpty = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);

function agentFieldsFromSource(
  source: SessionSource,
): Pick<ThreadMetadataPatch, 'agentNickname' | 'agentRole' | 'agentPath'> {
  if (source.kind !== 'subagent' || source.subagent.kind !== 'thread_spawn') return {};
  const s = source.subagent;
  const out: Pick<ThreadMetadataPatch, 'agentNickname' | 'agentRole' | 'agentPath'> = {};
  if (s.agentNickname != null) out.agentNickname = s.agentNickname;
  if (s.agentRole != null) out.agentRole = s.agentRole;
  if (s.agentPath != null) out.agentPath = s.agentPath;
  return out;
}

/**
 * Turns what a live thread appends into metadata patches, the way Codex's `ThreadMetadataSync`
 * does. Every merge into the pending patch bumps `generation`; a patch is cleared only when the
 * generation that was applied is still the newest, so facts that arrive while an update is in
 * flight are never lost (the pending patch keeps everything since the last successful update, and
 * re-applying facts already written is harmless).
 */
export class ThreadMetadataSync {
  private cwdSeen = false;
  private previewSeen = false;
  private firstUserMessageSeen = false;
  private titleSeen = false;
  private pending: ThreadMetadataPatch | null = null;
  /** True when pending carries more than an `updatedAt` touch. */
  private pendingHasFacts = false;
  /** Create and resume patches wait for the first append (or an explicit persist). */
  private heldBack = false;
  private lastEmittedAt: number | null = null;
  generation = 0;
  appliedGeneration = 0;

  constructor(
    readonly threadId: string,
    private readonly now: () => Date,
    private readonly touchWindowMs: number,
  ) {}

  /** Stages the create patch, held back until history exists. */
  static forCreate(
    params: CreateThreadParams & { createdAt: Date },
    now: () => Date,
    touchWindowMs: number,
  ): ThreadMetadataSync {
    const sync = new ThreadMetadataSync(params.threadId, now, touchWindowMs);
    const patch: ThreadMetadataPatch = {
      modelProvider: params.metadata.modelProvider,
      createdAt: params.createdAt,
      updatedAt: params.createdAt,
      source: params.source,
      ...agentFieldsFromSource(params.source),
    };
    if (params.threadSource != null) patch.threadSource = params.threadSource;
    if (params.metadata.cwd !== '') {
      patch.cwd = params.metadata.cwd;
      sync.cwdSeen = true;
    }
    if (params.cliVersion) patch.cliVersion = params.cliVersion;
    if (params.gitInfo) patch.gitInfo = { ...params.gitInfo };
    if (params.metadata.memoryMode) patch.memoryMode = params.metadata.memoryMode;
    sync.merge(patch, true);
    sync.heldBack = true;
    return sync;
  }

  /** Observes an existing history; the derived patch (no `updatedAt`) waits for the first append. */
  static forResume(
    threadId: string,
    history: readonly RolloutItem[],
    now: () => Date,
    touchWindowMs: number,
  ): ThreadMetadataSync {
    const sync = new ThreadMetadataSync(threadId, now, touchWindowMs);
    let patch: ThreadMetadataPatch = {};
    for (const item of history) {
      const p = sync.contribution(item, false);
      if (p) patch = mergePatches(patch, p);
    }
    if (Object.keys(patch).length > 0) sync.merge(patch, true);
    sync.heldBack = true;
    return sync;
  }

  /** What one item says about the thread, or null when it carries no metadata. */
  private contribution(item: RolloutItem, live: boolean): ThreadMetadataPatch | null {
    if (isSessionMeta(item)) {
      const p = item.payload;
      if (p.id !== this.threadId) return null;
      const patch: ThreadMetadataPatch = {};
      const created = parseRolloutTime(p.timestamp);
      if (created) patch.createdAt = created;
      if (p.source !== undefined) {
        const source = sessionSourceFromJson(p.source);
        patch.source = source;
        Object.assign(patch, agentFieldsFromSource(source));
      }
      if (nonEmpty(p.thread_source)) patch.threadSource = p.thread_source as string;
      if (nonEmpty(p.agent_nickname)) patch.agentNickname = p.agent_nickname as string;
      if (nonEmpty(p.agent_role)) patch.agentRole = p.agent_role as string;
      if (nonEmpty(p.agent_path)) patch.agentPath = p.agent_path as string;
      if (isObject(p.git)) {
        patch.gitInfo = {
          sha: nonEmpty(p.git.commit_hash),
          branch: nonEmpty(p.git.branch),
          originUrl: nonEmpty(p.git.repository_url),
        };
      }
      if (p.memory_mode === 'enabled' || p.memory_mode === 'disabled') patch.memoryMode = p.memory_mode;
      if (nonEmpty(p.model_provider)) patch.modelProvider = p.model_provider as string;
      if (nonEmpty(p.cli_version)) patch.cliVersion = p.cli_version as string;
      if (nonEmpty(p.cwd)) {
        patch.cwd = p.cwd as string;
        this.cwdSeen = true;
      }
      return patch;
    }
    if (isTurnContext(item)) {
      const p = item.payload;
      const patch: ThreadMetadataPatch = {};
      if (!this.cwdSeen && nonEmpty(p.cwd)) {
        patch.cwd = p.cwd as string;
        this.cwdSeen = true;
      }
      if (nonEmpty(p.model)) patch.model = p.model as string;
      const collab =
        isObject(p.collaboration_mode) && isObject(p.collaboration_mode.settings)
          ? p.collaboration_mode.settings
          : null;
      const effort = nonEmpty(p.effort) ?? (collab ? nonEmpty(collab.reasoning_effort) : null);
      if (effort) patch.reasoningEffort = effort;
      if (p.approval_policy !== undefined && p.approval_policy !== null)
        patch.approvalMode =
          typeof p.approval_policy === 'string' ? p.approval_policy : JSON.stringify(p.approval_policy);
      if (p.sandbox_policy !== undefined) patch.sandboxPolicy = p.sandbox_policy;
      return Object.keys(patch).length > 0 ? patch : null;
    }
    const userText = userMessageText(item);
    if (userText !== undefined) {
      const patch: ThreadMetadataPatch = {};
      if (!this.firstUserMessageSeen) {
        this.firstUserMessageSeen = true;
        patch.firstUserMessage = userText;
        if (!this.previewSeen) {
          this.previewSeen = true;
          patch.preview = userText;
        }
      }
      if (!this.titleSeen && userText.trim() !== '') {
        this.titleSeen = true;
        patch.title = userText;
      }
      return Object.keys(patch).length > 0 ? patch : null;
    }
    if (isEventMsg(item, 'token_count')) {
      const usage = isObject(item.payload.info) ? tokenUsageFromJson(item.payload.info.total_token_usage) : null;
      return usage ? { tokenUsage: usage } : null;
    }
    if (isEventMsg(item, 'thread_goal_updated')) {
      const p = item.payload;
      const goal = isObject(p.goal) ? p.goal.objective : p.objective;
      if (this.previewSeen || typeof goal !== 'string' || goal.trim() === '') return null;
      this.previewSeen = true;
      return { preview: goal.trim() };
    }
    // Recency is product recency: only a turn that starts now moves it, never a replayed history.
    if (live && isEventMsg(item, 'task_started')) return { advanceRecencyAt: this.now() };
    return null;
  }

  private merge(patch: ThreadMetadataPatch, facts: boolean): void {
    this.pending = this.pending ? mergePatches(this.pending, patch) : patch;
    if (facts) this.pendingHasFacts = true;
    this.generation += 1;
  }

  /**
   * Observes appended (already policy-filtered) items. Returns true when the pending patch should
   * be written now; false when there is nothing to write or only a touch that is coalesced.
   */
  observeAppended(items: readonly RolloutItem[]): boolean {
    if (items.length === 0) return false;
    let patch: ThreadMetadataPatch = {};
    let facts = false;
    for (const item of items) {
      const p = this.contribution(item, true);
      if (p) {
        patch = mergePatches(patch, p);
        facts = true;
      }
    }
    patch.updatedAt = this.now();
    this.merge(patch, facts);
    this.heldBack = false;
    return this.shouldEmit();
  }

  /** True when the worker should write the pending patch now. */
  shouldEmit(): boolean {
    if (this.pending === null || this.heldBack) return false;
    if (this.pendingHasFacts || this.lastEmittedAt === null) return true;
    return this.now().getTime() - this.lastEmittedAt >= this.touchWindowMs;
  }

  hasPending(): boolean {
    return this.pending !== null;
  }

  isHeldBack(): boolean {
    return this.heldBack;
  }

  /** Snapshot of the pending patch; it stays pending until `markApplied`. */
  take(): TakenPatch | null {
    if (this.pending === null) return null;
    return { patch: { ...this.pending }, generation: this.generation };
  }

  markApplied(generation: number): void {
    if (generation > this.appliedGeneration) this.appliedGeneration = generation;
    if (this.pending !== null && 'updatedAt' in this.pending) this.lastEmittedAt = this.now().getTime();
    if (generation === this.generation) {
      this.pending = null;
      this.pendingHasFacts = false;
      this.heldBack = false;
    }
  }

  /** Drops whatever is pending (discard). */
  clear(): void {
    this.pending = null;
    this.pendingHasFacts = false;
    this.appliedGeneration = this.generation;
  }
}
