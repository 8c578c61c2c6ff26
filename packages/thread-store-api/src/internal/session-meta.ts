import { sessionSourceToJson } from '../session-source.js';
import type { SessionMetaItem, SessionMetaPayload } from '../rollout-item.js';
import { gitInfoToJson } from '../derive.js';
import type { CreateThreadParams } from '../types.js';
import type { ThreadId } from '../thread-id.js';

/** UTC ISO-8601 with milliseconds, the form every rollout timestamp takes. */
export function isoMillis(d: Date): string {
  return d.toISOString();
}

/**
 * The `session_meta` line a thread starts with, built from its create parameters with Codex's
 * on-disk field names, so the same derivation reads it back whichever store wrote it.
 */
export function sessionMetaItemFor(
  threadId: ThreadId,
  params: CreateThreadParams,
  createdAt: Date,
  writtenAt: Date,
): SessionMetaItem {
  const payload: SessionMetaPayload = {
    id: threadId,
    session_id: params.sessionId ?? threadId,
    timestamp: isoMillis(createdAt),
    cwd: params.metadata.cwd,
    originator: params.originator ?? 'skein',
    cli_version: params.cliVersion ?? '',
    source: sessionSourceToJson(params.source),
    model_provider: params.metadata.modelProvider,
  };
  if (params.baseInstructions !== undefined) payload.base_instructions = params.baseInstructions;
  if (params.forkedFromId != null) payload.forked_from_id = params.forkedFromId;
  if (params.parentThreadId != null) payload.parent_thread_id = params.parentThreadId;
  if (params.threadSource != null) payload.thread_source = params.threadSource;
  const src = params.source;
  if (src.kind === 'subagent' && src.subagent.kind === 'thread_spawn') {
    const s = src.subagent;
    if (params.parentThreadId == null) payload.parent_thread_id = s.parentThreadId;
    if (s.agentNickname != null) payload.agent_nickname = s.agentNickname;
    if (s.agentRole != null) payload.agent_role = s.agentRole;
    if (s.agentPath != null) payload.agent_path = s.agentPath;
  }
  if (params.dynamicTools !== undefined) payload.dynamic_tools = params.dynamicTools;
  if (params.metadata.memoryMode !== undefined) payload.memory_mode = params.metadata.memoryMode;
  if (params.gitInfo != null) payload.git = gitInfoToJson(params.gitInfo);
  return { timestamp: isoMillis(writtenAt), type: 'session_meta', payload };
}
