import { gitInfoToJson, sessionSourceToJson } from '@skein/thread-store-api';
import type { CreateThreadParams } from '@skein/thread-store-api';

export const SKEIN_ORIGINATOR = 'skein';
export const SKEIN_CLI_VERSION = '0.1.0';

/** The `session_meta` payload of a new thread, in the field order Codex writes. */
export function sessionMetaPayload(
  params: CreateThreadParams,
  createdAt: Date,
  defaults: { originator: string; cliVersion: string },
): Record<string, unknown> {
  const p: Record<string, unknown> = {};
  const id = params.threadId;
  p.session_id = params.sessionId ?? id;
  p.id = id;
  if (params.forkedFromId) p.forked_from_id = params.forkedFromId;
  p.timestamp = createdAt.toISOString();
  p.cwd = params.metadata.cwd;
  p.originator = params.originator ?? defaults.originator;
  p.cli_version = params.cliVersion ?? defaults.cliVersion;
  p.source = sessionSourceToJson(params.source);
  if (params.threadSource != null) p.thread_source = params.threadSource;
  if (params.source.kind === 'subagent' && params.source.subagent.kind === 'thread_spawn') {
    const s = params.source.subagent;
    if (s.agentNickname != null) p.agent_nickname = s.agentNickname;
    if (s.agentRole != null) p.agent_role = s.agentRole;
    if (s.agentPath != null) p.agent_path = s.agentPath;
  }
  if (params.parentThreadId) p.parent_thread_id = params.parentThreadId;
  p.model_provider = params.metadata.modelProvider;
  if (params.baseInstructions !== undefined) p.base_instructions = params.baseInstructions;
  if (params.dynamicTools !== undefined) p.dynamic_tools = params.dynamicTools;
  if (params.metadata.memoryMode !== undefined) p.memory_mode = params.metadata.memoryMode;
  if (params.gitInfo) p.git = gitInfoToJson(params.gitInfo);
  return p;
}

/** Serializes a rollout line with `timestamp` first, as Codex does. */
export function serializeLine(item: Record<string, unknown>, timestamp: string): string {
  const { timestamp: _t, ...rest } = item;
  return JSON.stringify({ timestamp, ...rest });
}
