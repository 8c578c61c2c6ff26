import { sessionSourceToJson } from '@skein/thread-store-api';
import type { GitInfo, StoredThread, ThreadSearchResult, TokenUsage } from '@skein/thread-store-api';
import type { ConversationTurn } from './conversation.js';
import type { TranscriptEntry } from './transcript.js';

/**
 * The stable `--json` shapes (documented in the README). Field names are camelCase, times are
 * UTC ISO-8601 with milliseconds, `source` is the on-disk Codex form (`"cli"`, `{"custom":"x"}`),
 * absent values are `null`. New fields may be added; none is renamed or removed.
 */
export interface ThreadJson {
  id: string;
  sessionId: string;
  name: string | null;
  preview: string;
  modelProvider: string;
  model: string | null;
  reasoningEffort: string | null;
  source: unknown;
  threadSource: string | null;
  cwd: string;
  cliVersion: string;
  createdAt: string;
  updatedAt: string;
  recencyAt: string;
  archived: boolean;
  archivedAt: string | null;
  forkedFromId: string | null;
  parentThreadId: string | null;
  agentNickname: string | null;
  agentRole: string | null;
  agentPath: string | null;
  gitInfo: GitInfo | null;
  tokenUsage: TokenUsage | null;
  historyMode: string;
  memoryMode: string;
  /** Local stores only; `null` through `--endpoint`. */
  rolloutPath: string | null;
}

/** `skein threads list --json`. */
export interface ThreadPageJson {
  threads: ThreadJson[];
  nextCursor: string | null;
  backwardsCursor: string | null;
  /** How many threads match the filters across every page; null when the store cannot count. */
  total: number | null;
}

/** `skein threads search --json`. */
export interface SearchPageJson {
  results: { thread: ThreadJson; snippet: string }[];
  nextCursor: string | null;
  backwardsCursor: string | null;
}

/** `skein threads show --json`. */
export interface ThreadShowJson {
  thread: ThreadJson;
  /** User and agent messages (and turn notices), in order. */
  messages: TranscriptEntry[];
  /** Numbered turns with status, error and entries (reasoning and tools with `--full`). */
  turns: ConversationTurn[];
}

export function threadJson(t: StoredThread): ThreadJson {
  return {
    id: t.threadId,
    sessionId: t.sessionId,
    name: t.name,
    preview: t.preview,
    modelProvider: t.modelProvider,
    model: t.model,
    reasoningEffort: t.reasoningEffort,
    source: sessionSourceToJson(t.source),
    threadSource: t.threadSource,
    cwd: t.cwd,
    cliVersion: t.cliVersion,
    createdAt: t.createdAt.toISOString(),
    updatedAt: t.updatedAt.toISOString(),
    recencyAt: t.recencyAt.toISOString(),
    archived: t.archivedAt !== null,
    archivedAt: t.archivedAt?.toISOString() ?? null,
    forkedFromId: t.forkedFromId,
    parentThreadId: t.parentThreadId,
    agentNickname: t.agentNickname,
    agentRole: t.agentRole,
    agentPath: t.agentPath,
    gitInfo: t.gitInfo,
    tokenUsage: t.tokenUsage,
    historyMode: t.historyMode,
    memoryMode: t.memoryMode,
    rolloutPath: t.rolloutPath,
  };
}

export function searchResultJson(r: ThreadSearchResult): { thread: ThreadJson; snippet: string } {
  return { thread: threadJson(r.thread), snippet: r.snippet };
}
