import { create } from '@bufbuild/protobuf';
import type {
  CreateThreadParams,
  ListStart,
  ListThreadsParams,
  NewSegment,
  ResumeThreadParams,
  SearchThreadsParams,
  SessionSourceFilter as ApiSourceFilter,
  ThreadId,
  ThreadPersistenceMetadata,
} from '@skein/thread-store-api';
import { parseThreadId, ThreadStoreError } from '@skein/thread-store-api';
import {
  CreateThreadRequestSchema,
  ListFiltersSchema,
  ListStartSchema,
  NewSegmentSchema,
  PartialPersistenceMetadataSchema,
  PersistenceMetadataSchema,
  ResumeThreadRequestSchema,
  SessionSourceFilterSchema,
  StringListSchema,
} from '../../gen/skein/threadstore/v1/thread_store_pb.js';
import type {
  CreateThreadRequest,
  ListFilters,
  ListStart as ListStartProto,
  ResumeThreadRequest,
  SessionSourceFilter,
} from '../../gen/skein/threadstore/v1/thread_store_pb.js';
import {
  historyModeFromProto,
  historyModeToProto,
  memoryModeFromProto,
  memoryModeToProto,
  sortDirectionFromProto,
  sortDirectionToProto,
  sortKeyFromProto,
  sortKeyToProto,
} from './enums.js';
import { jsonBytes, parseJsonBytes } from './json-bytes.js';
import { nullableFromProto, nullableToProto } from './nullable.js';
import { sessionSourceFromProto, sessionSourceToProto } from './session-source.js';
import { gitInfoFromProto, gitInfoToProto } from './thread.js';
import { dateOf, msOf } from './time.js';

function requireObject(v: unknown, what: string): void {
  if (typeof v !== 'object' || v === null) throw ThreadStoreError.invalidRequest(`${what} must be an object`);
}

export function createParamsToProto(p: CreateThreadParams): CreateThreadRequest {
  requireObject(p, 'createThread params');
  requireObject(p.metadata, 'createThread params.metadata');
  if (p.source === undefined) throw ThreadStoreError.invalidRequest('createThread needs a source');
  const meta = create(PersistenceMetadataSchema, { cwd: p.metadata.cwd, modelProvider: p.metadata.modelProvider });
  if (p.metadata.memoryMode !== undefined) meta.memoryMode = memoryModeToProto(p.metadata.memoryMode);
  const out = create(CreateThreadRequestSchema, {
    threadId: parseThreadId(p.threadId),
    source: sessionSourceToProto(p.source),
    metadata: meta,
  });
  if (p.sessionId !== undefined) out.sessionId = p.sessionId;
  const forked = nullableToProto(p.forkedFromId);
  const parent = nullableToProto(p.parentThreadId);
  const threadSource = nullableToProto(p.threadSource);
  if (forked) out.forkedFromId = forked;
  if (parent) out.parentThreadId = parent;
  if (threadSource) out.threadSource = threadSource;
  if (p.originator !== undefined) out.originator = p.originator;
  if (p.cliVersion !== undefined) out.cliVersion = p.cliVersion;
  if (p.baseInstructions !== undefined) out.baseInstructionsJson = jsonBytes(p.baseInstructions, 'baseInstructions');
  if (p.dynamicTools !== undefined) out.dynamicToolsJson = jsonBytes(p.dynamicTools, 'dynamicTools');
  if (p.gitInfo === null) out.gitInfoNull = true;
  else if (p.gitInfo !== undefined) out.gitInfo = gitInfoToProto(p.gitInfo);
  if (p.historyMode !== undefined) out.historyMode = historyModeToProto(p.historyMode);
  if (p.createdAt !== undefined) out.createdAtMs = msOf(p.createdAt, 'createdAt');
  if (p.sessionMeta !== undefined) out.sessionMetaJson = jsonBytes(p.sessionMeta, 'sessionMeta');
  return out;
}

export function createParamsFromProto(r: CreateThreadRequest): CreateThreadParams {
  if (!r.metadata) throw ThreadStoreError.invalidRequest('CreateThread needs metadata');
  const metadata: ThreadPersistenceMetadata = { cwd: r.metadata.cwd, modelProvider: r.metadata.modelProvider };
  if (r.metadata.memoryMode !== undefined) metadata.memoryMode = memoryModeFromProto(r.metadata.memoryMode);
  const out: CreateThreadParams = {
    threadId: parseThreadId(r.threadId),
    source: sessionSourceFromProto(r.source),
    metadata,
  };
  if (r.sessionId !== undefined) out.sessionId = r.sessionId;
  const forked = nullableFromProto(r.forkedFromId);
  const parent = nullableFromProto(r.parentThreadId);
  const threadSource = nullableFromProto(r.threadSource);
  if (forked !== undefined) out.forkedFromId = forked === null ? null : parseThreadId(forked, 'forkedFromId');
  if (parent !== undefined) out.parentThreadId = parent === null ? null : parseThreadId(parent, 'parentThreadId');
  if (threadSource !== undefined) out.threadSource = threadSource;
  if (r.originator !== undefined) out.originator = r.originator;
  if (r.cliVersion !== undefined) out.cliVersion = r.cliVersion;
  if (r.baseInstructionsJson !== undefined)
    out.baseInstructions = parseJsonBytes(r.baseInstructionsJson, 'baseInstructions');
  if (r.dynamicToolsJson !== undefined) {
    const tools = parseJsonBytes(r.dynamicToolsJson, 'dynamicTools');
    if (!Array.isArray(tools)) throw ThreadStoreError.invalidRequest('dynamicTools must be a JSON array');
    out.dynamicTools = tools;
  }
  if (r.gitInfoNull) out.gitInfo = null;
  else if (r.gitInfo) out.gitInfo = gitInfoFromProto(r.gitInfo);
  if (r.historyMode !== undefined) out.historyMode = historyModeFromProto(r.historyMode);
  if (r.createdAtMs !== undefined) out.createdAt = dateOf(r.createdAtMs);
  if (r.sessionMetaJson !== undefined)
    out.sessionMeta = parseJsonBytes(r.sessionMetaJson, 'sessionMeta') as NonNullable<
      CreateThreadParams['sessionMeta']
    >;
  return out;
}

export function resumeParamsToProto(p: ResumeThreadParams): ResumeThreadRequest {
  requireObject(p, 'resumeThread params');
  const out = create(ResumeThreadRequestSchema, { threadId: parseThreadId(p.threadId) });
  if (p.includeArchived !== undefined) out.includeArchived = p.includeArchived;
  if (p.metadata !== undefined) {
    const m = create(PartialPersistenceMetadataSchema);
    if (p.metadata.cwd !== undefined) m.cwd = p.metadata.cwd;
    if (p.metadata.modelProvider !== undefined) m.modelProvider = p.metadata.modelProvider;
    if (p.metadata.memoryMode !== undefined) m.memoryMode = memoryModeToProto(p.metadata.memoryMode);
    out.metadata = m;
  }
  if (p.segment !== undefined) out.segment = newSegmentToProto(p.segment);
  return out;
}

/**
 * A new segment on the wire: its rollout id and its `session_meta` as JSON. What needs the thread
 * (the base rollout, the cut, a new rollout id) is the server's store's to check.
 */
function newSegmentToProto(segment: NewSegment): NonNullable<ResumeThreadRequest['segment']> {
  requireObject(segment, 'resumeThread segment');
  const rolloutId = parseThreadId(segment.rolloutId, 'segment.rolloutId');
  requireObject(segment.sessionMeta, 'segment.sessionMeta');
  return create(NewSegmentSchema, {
    rolloutId,
    sessionMetaJson: jsonBytes(segment.sessionMeta, 'segment.sessionMeta'),
  });
}

export function resumeParamsFromProto(r: ResumeThreadRequest): ResumeThreadParams {
  const out: ResumeThreadParams = { threadId: parseThreadId(r.threadId) };
  if (r.includeArchived !== undefined) out.includeArchived = r.includeArchived;
  if (r.metadata) {
    const m: Partial<ThreadPersistenceMetadata> = {};
    if (r.metadata.cwd !== undefined) m.cwd = r.metadata.cwd;
    if (r.metadata.modelProvider !== undefined) m.modelProvider = r.metadata.modelProvider;
    if (r.metadata.memoryMode !== undefined) m.memoryMode = memoryModeFromProto(r.metadata.memoryMode);
    out.metadata = m;
  }
  if (r.segment) {
    const sessionMeta = parseJsonBytes(r.segment.sessionMetaJson, 'segment.sessionMeta');
    if (typeof sessionMeta !== 'object' || sessionMeta === null || Array.isArray(sessionMeta))
      throw ThreadStoreError.invalidRequest('segment.sessionMeta must be a session_meta item object');
    out.segment = {
      rolloutId: parseThreadId(r.segment.rolloutId, 'segment.rolloutId'),
      sessionMeta: sessionMeta as NewSegment['sessionMeta'],
    };
  }
  return out;
}

function sourceFilterToProto(f: ApiSourceFilter): SessionSourceFilter {
  if (typeof f === 'string') return create(SessionSourceFilterSchema, { filter: { case: 'kind', value: f } });
  return create(SessionSourceFilterSchema, { filter: { case: 'source', value: sessionSourceToProto(f) } });
}

function sourceFilterFromProto(f: SessionSourceFilter): ApiSourceFilter {
  switch (f.filter.case) {
    case 'kind':
      return f.filter.value as ApiSourceFilter;
    case 'source':
      return sessionSourceFromProto(f.filter.value);
    default:
      throw ThreadStoreError.invalidRequest('an allowedSources entry is empty');
  }
}

function listFiltersToProto(p: Omit<ListThreadsParams, 'searchTerm'>): ListFilters {
  const out = create(ListFiltersSchema, {
    sortKey: sortKeyToProto(p.sortKey),
    sortDirection: sortDirectionToProto(p.sortDirection),
    archived: p.archived === true,
  });
  if (p.pageSize !== undefined) out.pageSize = p.pageSize;
  if (p.cursor != null) out.cursor = p.cursor;
  if (p.allowedSources != null) out.allowedSources = p.allowedSources.map(sourceFilterToProto);
  if (p.modelProviders != null) out.modelProviders = create(StringListSchema, { values: [...p.modelProviders] });
  if (p.cwdFilters != null) out.cwdFilters = create(StringListSchema, { values: [...p.cwdFilters] });
  if (p.start != null) out.start = listStartToProto(p.start);
  return out;
}

/** A listing's start on the wire; the server checks the values (a bad date or id is invalid_request there). */
function listStartToProto(start: ListStart): ListStartProto {
  if (typeof start !== 'object' || start === null)
    throw ThreadStoreError.invalidRequest('start must be an object like { at: Date }');
  if (start.inclusive != null && typeof start.inclusive !== 'boolean')
    throw ThreadStoreError.invalidRequest(`start.inclusive must be a boolean, got ${typeof start.inclusive}`);
  if (start.threadId != null && typeof start.threadId !== 'string')
    throw ThreadStoreError.invalidRequest(`start.threadId must be a thread id string, got ${typeof start.threadId}`);
  const out = create(ListStartSchema, { atMs: msOf(start.at, 'start.at'), exclusive: start.inclusive === false });
  if (start.threadId != null) out.threadId = start.threadId;
  return out;
}

function listFiltersFromProto(f: ListFilters | undefined): Omit<ListThreadsParams, 'searchTerm'> {
  const out: ListThreadsParams = {};
  if (f === undefined) return out;
  if (f.pageSize !== undefined) out.pageSize = f.pageSize;
  if (f.cursor !== undefined) out.cursor = f.cursor;
  const sortKey = sortKeyFromProto(f.sortKey);
  const sortDirection = sortDirectionFromProto(f.sortDirection);
  if (sortKey) out.sortKey = sortKey;
  if (sortDirection) out.sortDirection = sortDirection;
  if (f.allowedSources.length > 0) out.allowedSources = f.allowedSources.map(sourceFilterFromProto);
  if (f.modelProviders) out.modelProviders = f.modelProviders.values;
  if (f.cwdFilters) out.cwdFilters = f.cwdFilters.values;
  if (f.archived) out.archived = true;
  if (f.start) {
    const start: ListStart = { at: dateOf(f.start.atMs), inclusive: !f.start.exclusive };
    if (f.start.threadId !== undefined) start.threadId = f.start.threadId as ThreadId;
    out.start = start;
  }
  return out;
}

export function listParamsToProto(p: ListThreadsParams): { filters: ListFilters; searchTerm?: string } {
  const out: { filters: ListFilters; searchTerm?: string } = { filters: listFiltersToProto(p) };
  if (p.searchTerm != null) out.searchTerm = p.searchTerm;
  return out;
}

export function listParamsFromProto(r: {
  filters?: ListFilters | undefined;
  searchTerm?: string | undefined;
}): ListThreadsParams {
  const out: ListThreadsParams = listFiltersFromProto(r.filters);
  if (r.searchTerm !== undefined) out.searchTerm = r.searchTerm;
  return out;
}

export function searchParamsToProto(p: SearchThreadsParams): { filters: ListFilters; searchTerm: string } {
  if (typeof p.searchTerm !== 'string')
    throw ThreadStoreError.invalidRequest('searchThreads needs a searchTerm string');
  return { filters: listFiltersToProto(p), searchTerm: p.searchTerm };
}

export function searchParamsFromProto(r: {
  filters?: ListFilters | undefined;
  searchTerm: string;
}): SearchThreadsParams {
  return { ...listFiltersFromProto(r.filters), searchTerm: r.searchTerm };
}
