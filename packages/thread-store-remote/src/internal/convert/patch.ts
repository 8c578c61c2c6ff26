import { create } from '@bufbuild/protobuf';
import type {
  Clearable,
  GitInfoPatch as ApiGitInfoPatch,
  ThreadMetadataPatch as ApiPatch,
} from '@skein/thread-store-api';
import {
  GitInfoFieldsPatchSchema,
  GitInfoPatchSchema,
  HistoryModePatchSchema,
  MemoryModePatchSchema,
  SessionSourcePatchSchema,
  StringPatchSchema,
  ThreadMetadataPatchSchema,
  TimestampPatchSchema,
  TokenUsagePatchSchema,
} from '../../gen/skein/threadstore/v1/patch_pb.js';
import type { StringPatch, ThreadMetadataPatch, TimestampPatch } from '../../gen/skein/threadstore/v1/patch_pb.js';
import { historyModeFromProto, historyModeToProto, memoryModeFromProto, memoryModeToProto } from './enums.js';
import { jsonBytes, parseJsonBytes } from './json-bytes.js';
import { sessionSourceFromProto, sessionSourceToProto } from './session-source.js';
import { tokenUsageFromProto, tokenUsageToProto } from './thread.js';
import { dateOf, msOf } from './time.js';

// Each patch field keeps its three states on the wire: absent message = leave, `clear` = null,
// `set` = value. `null` for a field that cannot be cleared still travels as `clear`, so the
// store gives its own `invalid_request` for it.

type Op<T> = { case: 'set'; value: T } | { case: 'clear'; value: true };

function op<T, U>(v: Clearable<T>, map: (x: T) => U): Op<U> | undefined {
  if (v === undefined) return undefined;
  if (v === null) return { case: 'clear', value: true };
  return { case: 'set', value: map(v) };
}

function back<T, U>(
  o: { case: 'set'; value: T } | { case: 'clear'; value: boolean } | { case: undefined; value?: undefined } | undefined,
  map: (x: T) => U,
): U | null | undefined {
  if (o === undefined || o.case === undefined) return undefined;
  if (o.case === 'clear') return null;
  return map(o.value);
}

const STRING_KEYS = [
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
const TIME_KEYS = ['createdAt', 'updatedAt', 'advanceRecencyAt'] as const;

function strPatch(v: Clearable<string>): StringPatch | undefined {
  const o = op(v, (x) => x);
  return o && create(StringPatchSchema, { op: o });
}

function strBack(p: StringPatch | undefined): string | null | undefined {
  return back(p?.op, (x: string) => x);
}

function gitToProto(g: Clearable<ApiGitInfoPatch>) {
  const o = op(g, (x) => {
    const f = create(GitInfoFieldsPatchSchema);
    const sha = strPatch(x.sha);
    const branch = strPatch(x.branch);
    const origin = strPatch(x.originUrl);
    if (sha) f.sha = sha;
    if (branch) f.branch = branch;
    if (origin) f.originUrl = origin;
    return f;
  });
  return o && create(GitInfoPatchSchema, { op: o });
}

/** Encodes a patch already checked by `validatePatch`. */
export function patchToProto(patch: ApiPatch): ThreadMetadataPatch {
  const out = create(ThreadMetadataPatchSchema);
  for (const key of STRING_KEYS) {
    const p = strPatch(patch[key]);
    if (p) out[key] = p;
  }
  for (const key of TIME_KEYS) {
    const o = op(patch[key], (d: Date) => msOf(d, key));
    if (o) out[key] = create(TimestampPatchSchema, { op: o.case === 'set' ? { case: 'setMs', value: o.value } : o });
  }
  const source = op(patch.source, sessionSourceToProto);
  if (source) out.source = create(SessionSourcePatchSchema, { op: source });
  if (patch.sandboxPolicy !== undefined)
    out.sandboxPolicyJson = jsonBytes(patch.sandboxPolicy, 'patch field "sandboxPolicy"');
  const usage = op(patch.tokenUsage, tokenUsageToProto);
  if (usage) out.tokenUsage = create(TokenUsagePatchSchema, { op: usage });
  const memory = op(patch.memoryMode, memoryModeToProto);
  if (memory) out.memoryMode = create(MemoryModePatchSchema, { op: memory });
  const history = op(patch.historyMode, historyModeToProto);
  if (history) out.historyMode = create(HistoryModePatchSchema, { op: history });
  const git = gitToProto(patch.gitInfo);
  if (git) out.gitInfo = git;
  return out;
}

function timeBack(p: TimestampPatch | undefined): Date | null | undefined {
  const o = p?.op;
  if (o === undefined || o.case === undefined) return undefined;
  if (o.case === 'clear') return null;
  return dateOf(o.value);
}

/** Decodes a patch; only the fields present on the wire appear in the result. */
export function patchFromProto(p: ThreadMetadataPatch | undefined): ApiPatch {
  const out: Record<string, unknown> = {};
  if (p === undefined) return out;
  for (const key of STRING_KEYS) {
    const v = strBack(p[key]);
    if (v !== undefined) out[key] = v;
  }
  for (const key of TIME_KEYS) {
    const v = timeBack(p[key]);
    if (v !== undefined) out[key] = v;
  }
  const source = back(p.source?.op, sessionSourceFromProto);
  if (source !== undefined) out.source = source;
  if (p.sandboxPolicyJson !== undefined)
    out.sandboxPolicy = parseJsonBytes(p.sandboxPolicyJson, 'patch field "sandboxPolicy"');
  const usage = back(p.tokenUsage?.op, tokenUsageFromProto);
  if (usage !== undefined) out.tokenUsage = usage;
  const memory = back(p.memoryMode?.op, memoryModeFromProto);
  if (memory !== undefined) out.memoryMode = memory;
  const history = back(p.historyMode?.op, historyModeFromProto);
  if (history !== undefined) out.historyMode = history;
  const git = back(p.gitInfo?.op, (f) => {
    const g: ApiGitInfoPatch = {};
    const sha = strBack(f.sha);
    const branch = strBack(f.branch);
    const origin = strBack(f.originUrl);
    if (sha !== undefined) g.sha = sha;
    if (branch !== undefined) g.branch = branch;
    if (origin !== undefined) g.originUrl = origin;
    return g;
  });
  if (git !== undefined) out.gitInfo = git;
  return out as ApiPatch;
}
