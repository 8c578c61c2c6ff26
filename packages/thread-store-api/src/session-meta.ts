import { gitInfoToJson } from './derive.js';
import type { SessionMetaPayload } from './rollout-item.js';
import { sessionSourceToJson } from './session-source.js';
import type { CreateThreadParams } from './types.js';

/**
 * The `session_meta` payload a new thread starts with, built from its create parameters with
 * Codex's on-disk field names and in the field order Codex writes, so every store writes the same
 * first line and `deriveThreadMetadata` reads it back the same way.
 *
 * @internal
 */
export function sessionMetaPayloadFor(
  params: CreateThreadParams,
  createdAt: Date,
  defaults: { originator?: string; cliVersion?: string } = {},
): SessionMetaPayload {
  const id = params.threadId;
  const p: SessionMetaPayload = { session_id: params.sessionId ?? id, id };
  if (params.forkedFromId != null) p.forked_from_id = params.forkedFromId;
  p.timestamp = createdAt.toISOString();
  p.cwd = params.metadata.cwd;
  p.originator = params.originator ?? defaults.originator ?? 'skein';
  p.cli_version = params.cliVersion ?? defaults.cliVersion ?? '';
  p.source = sessionSourceToJson(params.source);
  if (params.threadSource != null) p.thread_source = params.threadSource;
  const src = params.source;
  const spawn = src.kind === 'subagent' && src.subagent.kind === 'thread_spawn' ? src.subagent : null;
  if (spawn) {
    if (spawn.agentNickname != null) p.agent_nickname = spawn.agentNickname;
    if (spawn.agentRole != null) p.agent_role = spawn.agentRole;
    if (spawn.agentPath != null) p.agent_path = spawn.agentPath;
  }
  const parent = params.parentThreadId ?? spawn?.parentThreadId ?? null;
  if (parent != null) p.parent_thread_id = parent;
  p.model_provider = params.metadata.modelProvider;
  if (params.baseInstructions !== undefined) p.base_instructions = params.baseInstructions;
  if (params.dynamicTools !== undefined) p.dynamic_tools = params.dynamicTools;
  if (params.metadata.memoryMode !== undefined) p.memory_mode = params.metadata.memoryMode;
  if (params.gitInfo != null) p.git = gitInfoToJson(params.gitInfo);
  return p;
}
