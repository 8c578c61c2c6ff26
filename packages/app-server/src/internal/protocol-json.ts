import type { SessionSource, StoredThread, StoredThreadItem, StoredTurn, TokenUsage } from '@skein/thread-store-api';
import type { SessionSource as WireSessionSource } from '../gen/protocol/v2/SessionSource.js';
import type { Thread } from '../gen/protocol/v2/Thread.js';
import type { ThreadItemEntry } from '../gen/protocol/v2/ThreadItemEntry.js';
import type { ThreadStatus } from '../gen/protocol/v2/ThreadStatus.js';
import type { TokenUsageBreakdown } from '../gen/protocol/v2/TokenUsageBreakdown.js';
import type { Turn } from '../gen/protocol/v2/Turn.js';
import type { ThreadItem } from '../gen/protocol/v2/ThreadItem.js';

/** Unix seconds, as the protocol's `createdAt` / `updatedAt` / `recencyAt` carry them. */
export function seconds(d: Date): number {
  return Math.floor(d.getTime() / 1000);
}

/** Skein's `SessionSource` in the protocol's JSON form (`mcp` is Codex's `appServer`). */
export function wireSource(s: SessionSource): WireSessionSource {
  switch (s.kind) {
    case 'cli':
    case 'vscode':
    case 'exec':
      return s.kind;
    case 'mcp':
      return 'appServer';
    case 'custom':
      return { custom: s.name };
    case 'subagent': {
      const a = s.subagent;
      switch (a.kind) {
        case 'review':
        case 'compact':
        case 'memory_consolidation':
          return { subAgent: a.kind };
        case 'other':
          return { subAgent: { other: a.name } };
        case 'thread_spawn':
          return {
            subAgent: {
              thread_spawn: {
                parent_thread_id: a.parentThreadId,
                depth: a.depth,
                agent_path: a.agentPath ?? null,
                agent_nickname: a.agentNickname ?? null,
                agent_role: a.agentRole ?? null,
              },
            },
          };
      }
      return 'unknown';
    }
    // The protocol has no form for Codex's internal threads; it reports them as unknown too.
    case 'internal':
    case 'unknown':
      return 'unknown';
  }
}

/** Facts of a thread that are not in its `StoredThread`: whether it is loaded here, its originator. */
export interface ThreadContext {
  status: ThreadStatus;
  ephemeral: boolean;
  /** Recorded in `session_meta.originator`; null when it could not be read. */
  originator: string | null;
  /** Set for a loaded thread; null otherwise (the protocol's "not loaded"). */
  canAcceptDirectInput: boolean | null;
  turns: Turn[];
}

/** A stored thread as the protocol's `Thread`. */
export function wireThread(t: StoredThread, ctx: ThreadContext): Thread {
  const loaded = ctx.status.type !== 'notLoaded';
  return {
    id: t.threadId,
    // Skein runs no tools, so a loaded thread has no execution environment to report.
    environments: loaded ? [] : null,
    extra: null,
    sessionId: t.sessionId,
    forkedFromId: t.forkedFromId,
    attachedToThreadId: null,
    parentThreadId: t.parentThreadId,
    preview: t.preview,
    ephemeral: ctx.ephemeral,
    section: null,
    sectionEnteredAt: null,
    projectId: null,
    historyMode: t.historyMode,
    modelProvider: t.modelProvider,
    model: t.model,
    reasoningEffort: (t.reasoningEffort as Thread['reasoningEffort']) ?? null,
    createdAt: seconds(t.createdAt),
    updatedAt: seconds(t.updatedAt),
    recencyAt: seconds(t.recencyAt),
    status: ctx.status,
    path: t.rolloutPath,
    cwd: t.cwd,
    cliVersion: t.cliVersion,
    originator: ctx.originator,
    source: wireSource(t.source),
    canAcceptDirectInput: ctx.canAcceptDirectInput,
    threadSource: (t.threadSource as Thread['threadSource']) ?? null,
    agentNickname: t.agentNickname,
    agentRole: t.agentRole,
    gitInfo: t.gitInfo,
    name: t.name,
    daybreakEnabled: null,
    turns: ctx.turns,
  };
}

/** A stored turn as the protocol's `Turn`. */
export function wireTurn(t: StoredTurn): Turn {
  let error: Turn['error'] = null;
  if (t.error) {
    const details = t.error.additionalDetails as { codex_error_info?: unknown } | null;
    error = {
      message: t.error.message,
      codexErrorInfo: (details?.codex_error_info as NonNullable<Turn['error']>['codexErrorInfo']) ?? null,
      additionalDetails: null,
      misalignment: null,
    };
  }
  return {
    id: t.turnId,
    rootTurnId: t.turnId,
    items: t.items.map((i) => wireItem(i.item)),
    itemsView: t.itemsView,
    status: t.status,
    error,
    startedAt: t.startedAt ? seconds(t.startedAt) : null,
    completedAt: t.completedAt ? seconds(t.completedAt) : null,
    durationMs: t.durationMs,
  };
}

function msField(item: Record<string, unknown>, key: string): number | null {
  const v = item[key];
  return typeof v === 'number' ? v : null;
}

/** An item's JSON; user and agent messages always carry their times (null when unrecorded), as in Codex. */
export function wireItem(stored: Record<string, unknown>): ThreadItem {
  if (stored.type !== 'userMessage' && stored.type !== 'agentMessage') return stored as unknown as ThreadItem;
  return {
    ...stored,
    startedAtMs: msField(stored, 'startedAtMs'),
    completedAtMs: msField(stored, 'completedAtMs'),
  } as unknown as ThreadItem;
}

/** A stored item as the protocol's `ThreadItemEntry`. */
export function wireItemEntry(i: StoredThreadItem): ThreadItemEntry {
  const item = i.item as Record<string, unknown>;
  return {
    turnId: i.turnId,
    item: wireItem(item),
    startedAtMs: msField(item, 'startedAtMs'),
    completedAtMs: msField(item, 'completedAtMs'),
  };
}

/** Token counts in the protocol's form (Skein records no cache writes: 0). */
export function wireUsage(u: TokenUsage | null): TokenUsageBreakdown {
  return {
    totalTokens: u?.totalTokens ?? 0,
    inputTokens: u?.inputTokens ?? 0,
    cachedInputTokens: u?.cachedInputTokens ?? 0,
    cacheWriteInputTokens: 0,
    outputTokens: u?.outputTokens ?? 0,
    reasoningOutputTokens: u?.reasoningOutputTokens ?? 0,
  };
}
