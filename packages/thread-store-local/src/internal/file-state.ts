import {
  applyPatch,
  emptyDerivedMetadata,
  isObject,
  agentMessageText,
  userMessageText,
  ThreadMetadataAccumulator,
  storedThreadFromDerived,
  TurnList,
  TurnProjector,
} from '@skein/thread-store-api';
import type {
  ByteRange,
  DerivedThreadMetadata,
  RolloutItem,
  StoredThread,
  ThreadMetadataPatch,
  TurnProjectionState,
  TurnSink,
} from '@skein/thread-store-api';
import type { HistoryBase } from './reader.js';
import { isHistoryItem, parseLine } from './reader.js';
import { patchFromJson, patchToJson, SKEIN_PATCH_LINE_TYPE } from './patch-line.js';
import type { NameEntry } from './session-index.js';

/**
 * What indexing one rollout file has found so far. Stored in the index so that appended data is
 * read from where the last pass stopped (the accumulator continues from this state).
 */
export interface FileState {
  derived: DerivedThreadMetadata;
  /** Metadata patch lines, in file order (JSON form). */
  patches: Record<string, unknown>[];
  /**
   * Timestamp (epoch ms) of the last patch line that set or cleared the name: a
   * session_index.jsonl entry wins over it only when it is at least as new.
   */
  patchNameAtMs?: number | null;
  lastOrdinal: number | null;
  badLines: number;
  blankLines: number;
  historyBase: HistoryBase | null;
  lines: number;
  /** Where the turn projection stopped (see turn-index.ts); absent in a state saved before turns were indexed. */
  turns?: TurnProjectionState;
  /**
   * Bytes that must still be in the file for a tail read to be valid: the first bytes and the
   * bytes just before the indexed offset (base64). A file rewritten in place fails the check and
   * is indexed again from the start.
   */
  fingerprint?: string;
}

export function emptyFileState(): FileState {
  return {
    derived: emptyDerivedMetadata(),
    patches: [],
    lastOrdinal: null,
    badLines: 0,
    blankLines: 0,
    historyBase: null,
    lines: 0,
  };
}

export function stateToJson(s: FileState): string {
  return JSON.stringify(s, function (this: Record<string, unknown>, key: string, value: unknown) {
    const raw = this[key];
    if (raw instanceof Date) return { $date: raw.getTime() };
    return value;
  });
}

export function stateFromJson(text: string): FileState {
  return JSON.parse(text, (_key, value: unknown) => {
    if (isObject(value) && typeof value.$date === 'number' && Object.keys(value).length === 1)
      return new Date(value.$date);
    return value;
  }) as FileState;
}

export interface MessageText {
  role: 'user' | 'agent';
  text: string;
}

/** Folds lines into a file's state; collects message text for content search. */
export class FileScanner {
  readonly state: FileState;
  private readonly acc: ThreadMetadataAccumulator;
  private readonly turns: TurnProjector;
  readonly messages: MessageText[] = [];

  /** `turnSink` receives the turns that finish in this pass (see turn-index.ts). */
  constructor(initial: FileState, turnSink: TurnSink = new TurnList()) {
    this.state = { ...initial, patches: [...initial.patches] };
    this.acc = new ThreadMetadataAccumulator(initial.derived);
    const turnOpts: { state?: TurnProjectionState } = {};
    if (initial.turns) turnOpts.state = initial.turns;
    this.turns = new TurnProjector(turnSink, turnOpts);
  }

  /** Consumes one line (`range`: its bytes in the file); returns false for a bad line. */
  line(text: string, range?: ByteRange): boolean {
    const skipped = irrelevantLineTime(text);
    if (skipped !== null) {
      // Only its time matters (lastItemAt): no JSON.parse of the bulk of a rollout.
      this.state.lines += 1;
      this.acc.observe({ timestamp: skipped, type: 'skipped_by_index', payload: {} } as RolloutItem);
      this.turns.skip(range);
      return true;
    }
    return this.parsedLine(text, range);
  }

  /** The full path: parse and observe (also used by tests to check the shortcut). */
  parsedLine(text: string, range?: ByteRange): boolean {
    const p = parseLine(text);
    if (p.kind === 'blank') {
      this.state.blankLines += 1;
      return true;
    }
    if (p.kind === 'bad') {
      this.state.badLines += 1;
      return false;
    }
    this.state.lines += 1;
    const item = p.item;
    if (typeof item.ordinal === 'number') this.state.lastOrdinal = item.ordinal;
    if (p.kind === 'patch') {
      if (p.patch) {
        this.state.patches.push(patchToJson(p.patch));
        if (p.patch.name !== undefined) {
          const at = typeof item.timestamp === 'string' ? Date.parse(item.timestamp) : NaN;
          this.state.patchNameAtMs = Number.isNaN(at) ? 0 : at;
        }
      }
      // The line is still a session_meta of this thread: Codex reads git and memory mode from it.
      this.acc.observe(item);
      return true;
    }
    if (this.state.lines === 1 && item.type === 'session_meta' && isObject(item.payload)) {
      const hb = item.payload.history_base;
      if (isObject(hb) && typeof hb.thread_id === 'string' && typeof hb.end_byte_offset === 'number')
        this.state.historyBase = { threadId: hb.thread_id.toLowerCase(), endByteOffset: hb.end_byte_offset };
    }
    this.observe(item);
    if (isHistoryItem(item)) this.turns.observe(item, range);
    return true;
  }

  private observe(item: RolloutItem): void {
    this.acc.observe(item);
    const u = userMessageText(item);
    if (u !== undefined) {
      this.messages.push({ role: 'user', text: u });
      return;
    }
    const a = agentMessageText(item);
    if (a !== undefined && a.trim() !== '') this.messages.push({ role: 'agent', text: a });
  }

  finish(): FileState {
    this.state.derived = this.acc.value;
    this.state.turns = this.turns.state;
    return this.state;
  }
}

/**
 * The `event_msg` payload types that ThreadMetadataAccumulator (derive.ts) or the content index
 * (userMessageText / agentMessageText) look at. Keep in step with derive.ts; the test
 * "the line shortcut derives the same state" compares both paths.
 */
const RELEVANT_EVENTS = new Set([
  'user_message',
  'agent_message',
  'item_completed',
  'task_started',
  'token_count',
  'thread_goal_updated',
  'thread_name_updated',
  // Turns and their items (TurnProjector).
  'task_complete',
  'turn_aborted',
  'agent_reasoning',
  'agent_reasoning_raw_content',
  'context_compacted',
  'entered_review_mode',
  'exited_review_mode',
  'web_search_end',
  'image_generation_end',
  'thread_rolled_back',
]);

const HEAD = '{"timestamp":"';
const TYPE_KEY = '","type":"';
const PAYLOAD_KEY = '","payload":';
const EVENT_TYPE_KEY = '","payload":{"type":"';

/**
 * For a line in Codex's exact shape (`{"timestamp":"…","type":"…","payload":…}`) whose content
 * cannot change the metadata or the content index — response items, unknown line types, event
 * messages of other kinds — its timestamp; otherwise null and the line is parsed. Looks only at
 * the line's prefix: most of a rollout's bytes are response items, and JSON.parse of them was the
 * largest cost of indexing. Lines with an `ordinal` (paginated rollouts) are always parsed.
 */
export function irrelevantLineTime(text: string): string | null {
  if (!text.startsWith(HEAD)) return null;
  const tsEnd = text.indexOf('"', HEAD.length);
  if (tsEnd < 0 || tsEnd - HEAD.length > 64 || !text.startsWith(TYPE_KEY, tsEnd)) return null;
  const ts = text.slice(HEAD.length, tsEnd);
  if (ts.includes('\\')) return null;
  const typeStart = tsEnd + TYPE_KEY.length;
  const typeEnd = text.indexOf('"', typeStart);
  if (typeEnd < 0 || typeEnd - typeStart > 64) return null;
  const type = text.slice(typeStart, typeEnd);
  if (
    type === 'session_meta' ||
    type === 'turn_context' ||
    type === 'compacted' ||
    type === SKEIN_PATCH_LINE_TYPE ||
    type.includes('\\')
  )
    return null;
  if (type === 'event_msg') {
    if (!text.startsWith(EVENT_TYPE_KEY, typeEnd)) return null;
    const ptStart = typeEnd + EVENT_TYPE_KEY.length;
    const ptEnd = text.indexOf('"', ptStart);
    if (ptEnd < 0 || ptEnd - ptStart > 64) return null;
    const pt = text.slice(ptStart, ptEnd);
    if (RELEVANT_EVENTS.has(pt) || pt.includes('\\')) return null;
  } else if (!text.startsWith(PAYLOAD_KEY, typeEnd)) return null;
  // A torn or cut line is left to the parser (it counts it as bad).
  if (text.charCodeAt(text.length - 1) !== 0x7d) return null;
  // Raw `"ordinal":` can only be a key: inside a JSON string its quotes would be escaped.
  if (text.includes('"ordinal":')) return null;
  // Ghost snapshots are not history (they take no turn position): let the parser see them.
  if (text.includes('"ghost_snapshot"')) return null;
  return ts;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The id a file's thread is known by: `session_meta.id` wins over the file name (as in Codex),
 * but only when it is a UUID — an id from file content never reaches a path or a lock otherwise.
 */
export function fileThreadId(metaId: string | null, fileNameId: string): string {
  return metaId !== null && UUID.test(metaId) ? metaId.toLowerCase() : fileNameId.toLowerCase();
}

export interface FileFacts {
  /** Absolute `.jsonl` path. */
  rolloutPath: string;
  fileNameThreadId: string;
  fileNameTime: Date | null;
  archived: boolean;
  mtimeMs: number;
  ctimeMs: number;
}

/**
 * The StoredThread a rollout file describes: derived history metadata (Codex's rules), the
 * file's mtime as updatedAt, the patches recorded in the file, then the name from
 * session_index.jsonl when it is newer than the file's last name patch.
 */
export function buildThread(
  state: FileState,
  facts: FileFacts,
  opts: { defaultModelProvider: string; indexName: NameEntry | undefined; parentPreview: string | null },
): StoredThread {
  const d = state.derived;
  const threadId = fileThreadId(d.threadId, facts.fileNameThreadId);
  const updatedAt = new Date(Math.floor(facts.mtimeMs));
  let preview = d.preview ?? d.goalPreview ?? '';
  if (state.historyBase && opts.parentPreview) preview = opts.parentPreview;
  let t = storedThreadFromDerived(threadId as StoredThread['threadId'], d, {
    preview,
    defaultModelProvider: opts.defaultModelProvider,
    updatedAt,
    createdAtFallback: facts.fileNameTime ?? updatedAt,
    archivedAt: facts.archived ? new Date(Math.floor(facts.ctimeMs)) : null,
    rolloutPath: facts.rolloutPath,
  });
  for (const raw of state.patches) {
    const patch: ThreadMetadataPatch | null = patchFromJson(raw);
    if (patch) t = applyPatch(t, patch);
  }
  // The newer of the name index entry and the file's last name patch wins (a tie goes to the
  // index: Skein stamps a patch and its index mirror alike). A patch whose mirror never reached
  // the index (a crash between the two writes) is therefore still read whole.
  const entry = opts.indexName;
  if (entry && entry.atMs >= (state.patchNameAtMs ?? -1)) t.name = entry.name;
  // updatedAt lives in the file's mtime (a patched updatedAt is written there).
  t.updatedAt = updatedAt;
  t.archivedAt = facts.archived ? (t.archivedAt ?? new Date(Math.floor(facts.ctimeMs))) : null;
  t.rolloutPath = facts.rolloutPath;
  if (t.recencyAt.getTime() < t.createdAt.getTime()) t.recencyAt = t.createdAt;
  return t;
}

const THREAD_DATES = ['createdAt', 'updatedAt', 'recencyAt', 'archivedAt'] as const;

/** Thread rows are parsed on every listing: dates become epoch ms, parsed without a reviver. */
export function threadToJson(t: StoredThread): string {
  const o: Record<string, unknown> = { ...t };
  for (const k of THREAD_DATES) o[k] = t[k] === null ? null : t[k].getTime();
  return JSON.stringify(o);
}

export function threadFromJson(text: string): StoredThread {
  const o = JSON.parse(text) as Record<string, unknown>;
  for (const k of THREAD_DATES) o[k] = typeof o[k] === 'number' ? new Date(o[k]) : null;
  return o as unknown as StoredThread;
}
