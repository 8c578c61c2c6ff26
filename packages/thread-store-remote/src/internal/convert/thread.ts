import { create } from '@bufbuild/protobuf';
import type {
  GitInfo as ApiGitInfo,
  StoredThread as ApiStoredThread,
  TokenUsage as ApiTokenUsage,
} from '@skein/thread-store-api';
import { parseThreadId, ThreadStoreError } from '@skein/thread-store-api';
import { GitInfoSchema, StoredThreadSchema, TokenUsageSchema } from '../../gen/skein/threadstore/v1/types_pb.js';
import type { GitInfo, StoredThread, TokenUsage } from '../../gen/skein/threadstore/v1/types_pb.js';
import { historyModeFromProto, historyModeToProto, memoryModeFromProto, memoryModeToProto } from './enums.js';
import { jsonBytes, parseJsonBytes } from './json-bytes.js';
import { nullOf, optOf } from './nullable.js';
import { sessionSourceFromProto, sessionSourceToProto } from './session-source.js';
import { dateOf, int64Of, msOf } from './time.js';

export function gitInfoToProto(g: ApiGitInfo): GitInfo {
  const out = create(GitInfoSchema);
  if (g.sha != null) out.sha = g.sha;
  if (g.branch != null) out.branch = g.branch;
  if (g.originUrl != null) out.originUrl = g.originUrl;
  return out;
}

export function gitInfoFromProto(g: GitInfo): ApiGitInfo {
  return { sha: nullOf(g.sha), branch: nullOf(g.branch), originUrl: nullOf(g.originUrl) };
}

export function tokenUsageToProto(u: ApiTokenUsage): TokenUsage {
  return create(TokenUsageSchema, {
    inputTokens: int64Of(u.inputTokens, 'tokenUsage.inputTokens'),
    cachedInputTokens: int64Of(u.cachedInputTokens, 'tokenUsage.cachedInputTokens'),
    outputTokens: int64Of(u.outputTokens, 'tokenUsage.outputTokens'),
    reasoningOutputTokens: int64Of(u.reasoningOutputTokens, 'tokenUsage.reasoningOutputTokens'),
    totalTokens: int64Of(u.totalTokens, 'tokenUsage.totalTokens'),
  });
}

export function tokenUsageFromProto(u: TokenUsage): ApiTokenUsage {
  return {
    inputTokens: Number(u.inputTokens),
    cachedInputTokens: Number(u.cachedInputTokens),
    outputTokens: Number(u.outputTokens),
    reasoningOutputTokens: Number(u.reasoningOutputTokens),
    totalTokens: Number(u.totalTokens),
  };
}

/** Server side: every field but `rolloutPath`, which names a file on the server's machine. */
export function storedThreadToProto(t: ApiStoredThread): StoredThread {
  const out = create(StoredThreadSchema, {
    threadId: t.threadId,
    sessionId: t.sessionId,
    preview: t.preview,
    modelProvider: t.modelProvider,
    createdAtMs: msOf(t.createdAt, 'createdAt'),
    updatedAtMs: msOf(t.updatedAt, 'updatedAt'),
    recencyAtMs: msOf(t.recencyAt, 'recencyAt'),
    cwd: t.cwd,
    cliVersion: t.cliVersion,
    source: sessionSourceToProto(t.source),
    historyMode: historyModeToProto(t.historyMode),
    memoryMode: memoryModeToProto(t.memoryMode),
  });
  const opt = optOf;
  const set = <K extends keyof StoredThread>(k: K, v: StoredThread[K] | undefined): void => {
    if (v !== undefined) out[k] = v;
  };
  set('forkedFromId', opt(t.forkedFromId));
  set('parentThreadId', opt(t.parentThreadId));
  set('name', opt(t.name));
  set('model', opt(t.model));
  set('reasoningEffort', opt(t.reasoningEffort));
  if (t.archivedAt !== null) out.archivedAtMs = msOf(t.archivedAt, 'archivedAt');
  set('threadSource', opt(t.threadSource));
  set('agentNickname', opt(t.agentNickname));
  set('agentRole', opt(t.agentRole));
  set('agentPath', opt(t.agentPath));
  if (t.gitInfo !== null) out.gitInfo = gitInfoToProto(t.gitInfo);
  set('approvalMode', opt(t.approvalMode));
  if (t.sandboxPolicy !== undefined) out.sandboxPolicyJson = jsonBytes(t.sandboxPolicy, 'sandboxPolicy');
  if (t.tokenUsage !== null) out.tokenUsage = tokenUsageToProto(t.tokenUsage);
  set('firstUserMessage', opt(t.firstUserMessage));
  return out;
}

/** Client side: `rolloutPath` is always null, since the rollout file is not on this machine. */
export function storedThreadFromProto(t: StoredThread | undefined): ApiStoredThread {
  if (t === undefined) throw ThreadStoreError.internal('the remote thread store sent a response without its thread');
  return {
    threadId: parseThreadId(t.threadId),
    sessionId: t.sessionId,
    forkedFromId: t.forkedFromId === undefined ? null : parseThreadId(t.forkedFromId),
    parentThreadId: t.parentThreadId === undefined ? null : parseThreadId(t.parentThreadId),
    preview: t.preview,
    name: nullOf(t.name),
    modelProvider: t.modelProvider,
    model: nullOf(t.model),
    reasoningEffort: nullOf(t.reasoningEffort),
    createdAt: dateOf(t.createdAtMs),
    updatedAt: dateOf(t.updatedAtMs),
    recencyAt: dateOf(t.recencyAtMs),
    archivedAt: t.archivedAtMs === undefined ? null : dateOf(t.archivedAtMs),
    cwd: t.cwd,
    cliVersion: t.cliVersion,
    source: sessionSourceFromProto(t.source),
    threadSource: nullOf(t.threadSource),
    agentNickname: nullOf(t.agentNickname),
    agentRole: nullOf(t.agentRole),
    agentPath: nullOf(t.agentPath),
    gitInfo: t.gitInfo === undefined ? null : gitInfoFromProto(t.gitInfo),
    approvalMode: nullOf(t.approvalMode),
    sandboxPolicy: t.sandboxPolicyJson === undefined ? undefined : parseJsonBytes(t.sandboxPolicyJson, 'sandboxPolicy'),
    tokenUsage: t.tokenUsage === undefined ? null : tokenUsageFromProto(t.tokenUsage),
    firstUserMessage: nullOf(t.firstUserMessage),
    historyMode: historyModeFromProto(t.historyMode),
    memoryMode: memoryModeFromProto(t.memoryMode),
    rolloutPath: null,
  };
}
