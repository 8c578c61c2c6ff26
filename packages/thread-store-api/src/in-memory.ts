import { ThreadStoreError } from './errors.js';
import {
  dropPatchesReplacedByHistory,
  ThreadMetadataAccumulator,
  parseRolloutTime,
  segmentCreatedAt,
  storedThreadFromDerived,
} from './derive.js';
import {
  itemPageFromHistory,
  normalizeListItemsParams,
  normalizeListTurnsParams,
  turnPageFromHistory,
} from './history-paging.js';
import type { ItemPage, ListItemsParams, ListTurnsParams, TurnPage } from './history-types.js';
import { MAX_HISTORY_BASE_DEPTH, historyBaseOf, inheritedStep, requireHistoryBase } from './history-base.js';
import { copyPlainData, requireObject, validateCreateThreadParams, validateNewSegment } from './params.js';
import { findMessageSnippet } from './internal/snippet.js';
import { isoMillis, sessionMetaItemFor } from './internal/session-meta.js';
import {
  compareThreads,
  normalizeCountParams,
  normalizeListParams,
  paginateSorted,
  threadMatchesFilters,
} from './listing.js';
import type { NormalizedListParams } from './listing.js';
import { applyPatch, mergePatches, validatePatch } from './patch.js';
import type { ThreadMetadataPatch, UpdateThreadMetadataParams } from './patch.js';
import { persistedRolloutItems } from './persistence-policy.js';
import { isSessionMeta, rolloutItemProblem } from './rollout-item.js';
import type { HistoryMode, RolloutItem, SessionMetaItem } from './rollout-item.js';
import type { ThreadStore } from './store.js';
import { parseThreadId } from './thread-id.js';
import type { ThreadId } from './thread-id.js';
import type {
  AppendItemsParams,
  ArchiveThreadParams,
  CountThreadsParams,
  CreateThreadParams,
  DeleteThreadParams,
  ListSegmentsParams,
  ListThreadsParams,
  LoadHistoryParams,
  ReadThreadByRolloutPathParams,
  ReadThreadParams,
  ResumeThreadParams,
  SearchThreadsParams,
  StoredThread,
  StoredThreadWithHistory,
  ThreadPage,
  ThreadSearchPage,
  ThreadSegment,
  ThreadStoreCapabilities,
} from './types.js';

/**
 * One thread as it is durably stored: its history and what was patched on top of it.
 *
 * @internal
 */
export interface DurableThread {
  readonly threadId: ThreadId;
  /** The items of the thread's first rollout (`rollouts[0].history`). */
  readonly history: RolloutItem[];
  /** Its rollouts, oldest first: the first (rollout id = thread id), then later segments. */
  readonly rollouts: DurableRollout[];
  /** Derived from the thread's current history (its newest rollout, resolved). */
  derived: ThreadMetadataAccumulator;
  /** Every patch applied so far, merged; derived facts that arrive later remove their field. */
  patch: ThreadMetadataPatch;
  /** Time of the last durable write of history (updatedAt unless a patch set one). */
  writtenAt: Date;
  archivedAt: Date | null;
}

/**
 * One rollout of a thread: its own items, the first being its `session_meta`.
 *
 * @internal
 */
export interface DurableRollout {
  readonly rolloutId: ThreadId;
  readonly history: RolloutItem[];
}

/**
 * The "disk" of in-memory stores. Several `InMemoryThreadStore`s built on one storage behave like
 * processes sharing a home: they see each other's flushed threads, and a thread has at most one
 * live writer across all of them. A store built on the storage of a closed one is a reopen.
 */
export class InMemoryThreadStorage {
  /** @internal */
  readonly threads = new Map<string, DurableThread>();
  /** @internal The thread of each later segment's rollout id. */
  readonly segmentThreads = new Map<string, ThreadId>();
  /** @internal Which store holds the live writer of a thread id. */
  readonly writerOwners = new Map<string, object>();
}

/** A live writer: the buffer a session appends to until it flushes. */
interface LiveWriter {
  readonly threadId: ThreadId;
  /** Create parameters until the thread materializes; null once it exists on storage. */
  pendingCreate: { params: CreateThreadParams; createdAt: Date } | null;
  pending: RolloutItem[];
  /** A new segment the writer starts at its first flush (`ResumeThreadParams.segment`). */
  pendingSegment: { rolloutId: ThreadId; meta: SessionMetaItem } | null;
  /**
   * The persistence policy's format, as the durable stores pick it: `paginated` for a thread
   * whose session_meta says so (it keeps its `item_completed` events), else `legacy`.
   */
  mode: HistoryMode;
}

/** Options of `InMemoryThreadStore`. */
export interface InMemoryThreadStoreOptions {
  /** Provider of threads whose history names none, and the default `modelProviders` filter. */
  defaultModelProvider?: string;
  /** Clock for timestamps the store fills in (append times, archive times, write times). */
  now?: () => Date;
  /** Storage to share with other in-memory stores (defaults to a fresh one). */
  storage?: InMemoryThreadStorage;
}

const STORE_KIND = 'memory';

/** A thread's newest rollout (it always has its first). */
function newestRollout(rec: DurableThread): DurableRollout {
  return rec.rollouts[rec.rollouts.length - 1] as DurableRollout;
}

function clone<T>(v: T): T {
  return structuredClone(v);
}

/**
 * A complete `ThreadStore` kept in memory: live writers with unflushed buffers, the persistence
 * policy, metadata derived from history with patches on top, every list filter, sort and cursor,
 * content search, archive and delete. It follows the same semantics as the durable stores, so the
 * layers above can be tested without I/O.
 */
export class InMemoryThreadStore implements ThreadStore {
  readonly capabilities: ThreadStoreCapabilities = { localPaths: false, contentSearch: true };
  readonly defaultModelProvider: string;
  readonly storage: InMemoryThreadStorage;
  private readonly now: () => Date;
  private readonly writers = new Map<string, LiveWriter>();
  private closed = false;

  constructor(options: InMemoryThreadStoreOptions = {}) {
    this.defaultModelProvider = options.defaultModelProvider ?? 'openai';
    this.now = options.now ?? (() => new Date());
    this.storage = options.storage ?? new InMemoryThreadStorage();
  }

  // ---------------------------------------------------------------- live writers

  async createThread(params: CreateThreadParams): Promise<void> {
    this.assertOpen();
    const threadId = validateCreateThreadParams(params, 'the in-memory store');
    if (params.forkBase !== undefined)
      throw ThreadStoreError.unsupported('a fork by reference', 'the in-memory store copies history into forks');
    // The base is checked first, so the checks below and the reservation stay one synchronous step.
    const base = historyBaseOf(params.sessionMeta);
    if (base) await requireHistoryBase(this.rolloutHistory(base.threadId), base);
    this.assertNoWriter(threadId);
    if (this.storage.threads.has(threadId) || this.storage.segmentThreads.has(threadId))
      throw ThreadStoreError.conflict(`thread ${threadId} already exists; resume it instead of creating it`);
    this.storage.writerOwners.set(threadId, this);
    this.writers.set(threadId, {
      threadId,
      pendingCreate: {
        params: copyPlainData(params, 'createThread params'),
        createdAt: new Date((params.createdAt ?? this.now()).getTime()),
      },
      pending: [],
      pendingSegment: null,
      mode: params.sessionMeta?.payload.history_mode === 'paginated' ? 'paginated' : 'legacy',
    });
  }

  async resumeThread(params: ResumeThreadParams): Promise<void> {
    this.assertOpen();
    requireObject(params, 'resumeThread params');
    const threadId = parseThreadId(params.threadId);
    const rec = this.durable(threadId, params.includeArchived === true);
    const segment = params.segment === undefined ? null : await this.checkNewSegment(rec, params.segment);
    this.assertNoWriter(threadId);
    this.storage.writerOwners.set(threadId, this);
    this.writers.set(threadId, {
      threadId,
      pendingCreate: null,
      pending: [],
      pendingSegment: segment,
      mode: rec.derived.value.historyMode,
    });
  }

  async appendItems(params: AppendItemsParams): Promise<void> {
    this.assertOpen();
    requireObject(params, 'appendItems params');
    const threadId = parseThreadId(params.threadId);
    const writer = this.writer(threadId);
    if (!Array.isArray(params.items)) throw ThreadStoreError.invalidRequest('items must be an array of rollout items');
    params.items.forEach((item: unknown, i: number) => {
      const problem = rolloutItemProblem(item);
      if (problem !== undefined) throw ThreadStoreError.invalidRequest(`item ${i} is not a rollout item: ${problem}`);
    });
    const at = isoMillis(this.now());
    // Copy everything before buffering anything, so a bad item leaves the buffer untouched.
    const copies = persistedRolloutItems(params.items, writer.mode).map((item) =>
      copyPlainData(item, 'a rollout item'),
    );
    for (const copy of copies) {
      if (copy.timestamp === undefined) copy.timestamp = at;
      writer.pending.push(copy);
    }
  }

  async persistThread(threadId: ThreadId): Promise<void> {
    this.assertOpen();
    const writer = this.writer(parseThreadId(threadId));
    this.flushWriter(writer, true);
  }

  async flushThread(threadId: ThreadId): Promise<void> {
    this.assertOpen();
    const writer = this.writer(parseThreadId(threadId));
    this.flushWriter(writer, false);
  }

  async shutdownThread(threadId: ThreadId): Promise<void> {
    this.assertOpen();
    const writer = this.writer(parseThreadId(threadId));
    this.flushWriter(writer, false);
    this.release(writer.threadId);
  }

  async discardThread(threadId: ThreadId): Promise<void> {
    this.assertOpen();
    const id = parseThreadId(threadId);
    if (this.writers.has(id)) this.release(id);
  }

  // ---------------------------------------------------------------- reads

  loadHistory(params: LoadHistoryParams): AsyncIterable<RolloutItem> {
    // Validation runs on the first iteration step, as the interface promises.
    const run = async function* (this: InMemoryThreadStore): AsyncGenerator<RolloutItem> {
      this.assertOpen();
      requireObject(params, 'loadHistory params');
      const rec = this.durable(parseThreadId(params.threadId), params.includeArchived === true);
      const snapshot =
        params.rolloutId === undefined ? this.resolved(rec).slice() : this.ownRollout(rec, params.rolloutId).slice();
      for (const item of snapshot) yield clone(item);
    };
    return run.call(this);
  }

  async listSegments(params: ListSegmentsParams): Promise<ThreadSegment[]> {
    this.assertOpen();
    requireObject(params, 'listSegments params');
    const rec = this.durable(parseThreadId(params.threadId), params.includeArchived === true);
    return rec.rollouts.map((r) => ({ rolloutId: r.rolloutId, historyBase: historyBaseOf(r.history[0]) }));
  }

  async readThread(params: ReadThreadParams): Promise<StoredThreadWithHistory> {
    this.assertOpen();
    requireObject(params, 'readThread params');
    const rec = this.durable(parseThreadId(params.threadId), params.includeArchived === true);
    const thread: StoredThreadWithHistory = this.toStored(rec);
    if (params.includeHistory === true) {
      const snapshot = this.resolved(rec).slice();
      thread.history = (async function* () {
        for (const item of snapshot) yield clone(item);
      })();
    }
    return thread;
  }

  async readThreadByRolloutPath(params: ReadThreadByRolloutPathParams): Promise<StoredThreadWithHistory> {
    this.assertOpen();
    void params;
    throw ThreadStoreError.unsupported(
      'readThreadByRolloutPath',
      'the in-memory store has no rollout files; read the thread by its id with readThread',
    );
  }

  async listThreads(params: ListThreadsParams = {}): Promise<ThreadPage> {
    this.assertOpen();
    requireObject(params as unknown, 'listThreads params');
    const p = normalizeListParams(params, this.defaultModelProvider);
    const sorted = this.matching(p);
    return paginateSorted(sorted, (t) => t, p, STORE_KIND, params.cursor);
  }

  async countThreads(params: CountThreadsParams): Promise<number> {
    this.assertOpen();
    requireObject(params as unknown, 'countThreads params');
    return this.matching(normalizeCountParams(params, this.defaultModelProvider)).length;
  }

  async searchThreads(params: SearchThreadsParams): Promise<ThreadSearchPage> {
    this.assertOpen();
    requireObject(params, 'searchThreads params');
    const term = params.searchTerm;
    if (typeof term !== 'string' || term.trim() === '')
      throw ThreadStoreError.invalidRequest('searchTerm must be a non-empty string of text to find in messages');
    const listed = normalizeListParams({ ...params, searchTerm: term }, this.defaultModelProvider);
    // The cursor fingerprint marks content search, so a title-filter list cursor is not reused here.
    const p: NormalizedListParams = { ...listed, searchTerm: null, filters: `search:${listed.filters}` };
    const hits: Array<{ thread: StoredThread; snippet: string }> = [];
    for (const rec of this.storage.threads.values()) {
      const thread = this.toStored(rec);
      if (!threadMatchesFilters(thread, p)) continue;
      const snippet = findMessageSnippet(this.resolved(rec), term);
      if (snippet !== undefined) hits.push({ thread, snippet });
    }
    hits.sort((a, b) => compareThreads(a.thread, b.thread, p.sortKey, p.sortDirection));
    return paginateSorted(hits, (h) => h.thread, p, STORE_KIND, params.cursor);
  }

  async listTurns(params: ListTurnsParams): Promise<TurnPage> {
    this.assertOpen();
    const p = normalizeListTurnsParams(params);
    const rec = this.durable(p.threadId, p.includeArchived);
    return turnPageFromHistory(this.resolved(rec).slice(), p, STORE_KIND, this.storage.writerOwners.has(p.threadId));
  }

  async listItems(params: ListItemsParams): Promise<ItemPage> {
    this.assertOpen();
    const p = normalizeListItemsParams(params);
    const rec = this.durable(p.threadId, p.includeArchived);
    return itemPageFromHistory(this.resolved(rec).slice(), p, STORE_KIND);
  }

  // ---------------------------------------------------------------- mutations

  async updateThreadMetadata(params: UpdateThreadMetadataParams): Promise<StoredThread> {
    this.assertOpen();
    requireObject(params, 'updateThreadMetadata params');
    const threadId = parseThreadId(params.threadId);
    validatePatch(params.patch);
    const writer = this.writers.get(threadId);
    if (writer?.pendingCreate) this.flushWriter(writer, true);
    const rec = this.durable(threadId, params.includeArchived === true);
    const patch = copyPlainData(params.patch, 'the patch');
    const merged = mergePatches(rec.patch, patch);
    // Check the result before keeping it, so a patch is applied completely or not at all.
    const next = this.toStored({ ...rec, patch: merged });
    rec.patch = merged;
    return next;
  }

  async archiveThread(params: ArchiveThreadParams): Promise<void> {
    this.assertOpen();
    requireObject(params, 'archiveThread params');
    const threadId = parseThreadId(params.threadId);
    const rec = this.durable(threadId, true);
    if (rec.archivedAt !== null) return;
    this.assertNoWriter(threadId, 'archive');
    rec.archivedAt = this.now();
  }

  async unarchiveThread(params: ArchiveThreadParams): Promise<StoredThread> {
    this.assertOpen();
    requireObject(params, 'unarchiveThread params');
    const rec = this.durable(parseThreadId(params.threadId), true);
    rec.archivedAt = null;
    return this.toStored(rec);
  }

  async deleteThread(params: DeleteThreadParams): Promise<void> {
    this.assertOpen();
    requireObject(params, 'deleteThread params');
    const threadId = parseThreadId(params.threadId);
    const rec = this.durable(threadId, true);
    this.assertNoWriter(threadId, 'delete');
    this.storage.threads.delete(threadId);
    for (const r of rec.rollouts.slice(1)) this.storage.segmentThreads.delete(r.rolloutId);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    for (const writer of [...this.writers.values()]) {
      this.flushWriter(writer, false);
      this.release(writer.threadId);
    }
    this.closed = true;
  }

  // ---------------------------------------------------------------- internals

  private assertOpen(): void {
    if (this.closed) throw ThreadStoreError.invalidRequest('store is closed; open a new store to keep working');
  }

  private assertNoWriter(threadId: ThreadId, action?: string): void {
    const owner = this.storage.writerOwners.get(threadId);
    if (owner === undefined) return;
    const where = owner === this ? 'this store' : 'another store';
    throw ThreadStoreError.conflict(
      action
        ? `cannot ${action} thread ${threadId}: it has a live writer in ${where}; shut it down first`
        : `thread ${threadId} already has a live writer in ${where}; shut it down or discard it first`,
    );
  }

  private writer(threadId: ThreadId): LiveWriter {
    const w = this.writers.get(threadId);
    if (!w)
      throw new ThreadStoreError(
        'not_found',
        `thread ${threadId} has no live writer in this store; create or resume it first`,
      );
    return w;
  }

  private release(threadId: ThreadId): void {
    this.writers.delete(threadId);
    if (this.storage.writerOwners.get(threadId) === this) this.storage.writerOwners.delete(threadId);
  }

  /** The durable thread, or `not_found` (also for archived threads unless included). */
  private durable(threadId: ThreadId, includeArchived: boolean): DurableThread {
    const rec = this.storage.threads.get(threadId);
    if (!rec) throw ThreadStoreError.notFound(threadId);
    if (rec.archivedAt !== null && !includeArchived)
      throw new ThreadStoreError(
        'not_found',
        `thread ${threadId} is archived; pass includeArchived or unarchive it first`,
      );
    return rec;
  }

  /**
   * Checks a new segment (see `NewSegment`): a paginated thread, a base that is one of its
   * rollouts with the cut there, a rollout id nobody has.
   */
  private async checkNewSegment(
    rec: DurableThread,
    segment: unknown,
  ): Promise<{ rolloutId: ThreadId; meta: SessionMetaItem }> {
    const { rolloutId, base } = validateNewSegment(rec.threadId, segment);
    if (rec.derived.value.historyMode !== 'paginated')
      throw ThreadStoreError.invalidRequest(
        `thread ${rec.threadId} keeps a legacy history; only a paginated thread has segments`,
      );
    if (!rec.rollouts.some((r) => r.rolloutId === base.threadId))
      throw ThreadStoreError.invalidRequest(
        `segment.sessionMeta.payload.history_base.thread_id ${base.threadId} is not a rollout of thread ${rec.threadId}`,
      );
    await requireHistoryBase(this.rolloutHistory(base.threadId), base);
    if (this.storage.threads.has(rolloutId) || this.storage.segmentThreads.has(rolloutId))
      throw ThreadStoreError.conflict(`rollout id ${rolloutId} is already used in this store; pick a new one`);
    const newest = newestRollout(rec).rolloutId;
    if (rolloutId < newest)
      throw ThreadStoreError.invalidRequest(
        `segment.rolloutId ${rolloutId} must sort after the thread's newest rollout ${newest} (a UUIDv7 made now does)`,
      );
    const meta = copyPlainData((segment as { sessionMeta: SessionMetaItem }).sessionMeta, 'segment.sessionMeta');
    return { rolloutId, meta };
  }

  /** Makes buffered items durable; materializes the thread when it has items or `materialize`. */
  private flushWriter(writer: LiveWriter, materialize: boolean): void {
    if ((writer.pendingCreate || writer.pendingSegment) && !materialize && writer.pending.length === 0) return;
    const writtenAt = this.now();
    let rec = this.storage.threads.get(writer.threadId);
    if (writer.pendingCreate) {
      const { params, createdAt } = writer.pendingCreate;
      const meta = params.sessionMeta ?? sessionMetaItemFor(writer.threadId, params, createdAt, writtenAt);
      const history: RolloutItem[] = [];
      rec = {
        threadId: writer.threadId,
        history,
        rollouts: [{ rolloutId: writer.threadId, history }],
        derived: new ThreadMetadataAccumulator(),
        patch: {},
        writtenAt,
        archivedAt: null,
      };
      this.append(rec, [meta]);
      // A fork by reference describes itself as a copy would: its own session_meta, then what
      // it inherits (the base's session_meta lines are the base's, not the fork's).
      for (const item of this.inherited(meta, 0)) if (!isSessionMeta(item)) rec.derived.observe(item);
      this.storage.threads.set(writer.threadId, rec);
      writer.pendingCreate = null;
    }
    if (!rec) throw ThreadStoreError.notFound(writer.threadId);
    if (writer.pendingSegment) {
      const { rolloutId, meta } = writer.pendingSegment;
      if (this.storage.segmentThreads.has(rolloutId) || this.storage.threads.has(rolloutId))
        throw ThreadStoreError.conflict(`rollout id ${rolloutId} is already used in this store; pick a new one`);
      rec.rollouts.push({ rolloutId, history: [meta] });
      this.storage.segmentThreads.set(rolloutId, rec.threadId);
      writer.pendingSegment = null;
      // The thread now describes its new current history, created when the segment was (as
      // Codex reports a reverted thread); patches stay on top.
      rec.derived = new ThreadMetadataAccumulator();
      const current = this.resolved(rec);
      current.forEach((item, i) => {
        if (i === 0 || !isSessionMeta(item)) rec.derived.observe(item);
      });
      rec.derived.value.createdAt = segmentCreatedAt(meta) ?? rec.derived.value.createdAt;
    }
    if (writer.pending.length > 0) {
      this.append(rec, writer.pending);
      writer.pending = [];
    }
    rec.writtenAt = writtenAt;
    // A durable write is newer than any patched updatedAt.
    delete rec.patch.updatedAt;
  }

  private append(rec: DurableThread, items: readonly RolloutItem[]): void {
    const before = { ...rec.derived.value };
    const newest = newestRollout(rec).history;
    for (const item of items) {
      newest.push(item);
      rec.derived.observe(item);
    }
    dropPatchesReplacedByHistory(rec.patch, before, rec.derived.value, items);
  }

  /**
   * A thread's history as readers see it: for a fork by reference (a `history_base` in its first
   * item), the base's items up to the cut, then its own. A base that is gone inherits nothing.
   * The thread's own array when it inherits nothing: callers that keep it copy it.
   */
  private resolved(rec: DurableThread): readonly RolloutItem[] {
    return this.resolvedRollout(newestRollout(rec).history, 0);
  }

  /** One rollout's history as readers see it: what its `history_base` inherits, then its own items. */
  private resolvedRollout(own: RolloutItem[], depth: number): readonly RolloutItem[] {
    const inherited = this.inherited(own[0], depth);
    return inherited.length === 0 ? own : [...inherited, ...own];
  }

  /** A rollout's own items by its id (a thread's first rollout, or a later segment); null if none. */
  private rollout(rolloutId: string): RolloutItem[] | null {
    const first = this.storage.threads.get(rolloutId);
    if (first) return first.history;
    const threadId = this.storage.segmentThreads.get(rolloutId);
    const rec = threadId === undefined ? undefined : this.storage.threads.get(threadId);
    return rec?.rollouts.find((r) => r.rolloutId === rolloutId)?.history ?? null;
  }

  /** `rolloutId`'s own items when it is one of the thread's rollouts, else `not_found`. */
  private ownRollout(rec: DurableThread, rolloutId: unknown): RolloutItem[] {
    const id = parseThreadId(rolloutId, 'rolloutId');
    const r = rec.rollouts.find((x) => x.rolloutId === id);
    if (!r) throw new ThreadStoreError('not_found', `thread ${rec.threadId} has no rollout ${id}`);
    return r.history;
  }

  /** A rollout's resolved history as a stream (`not_found` when no rollout has that id). */
  private async *rolloutHistory(rolloutId: ThreadId): AsyncGenerator<RolloutItem> {
    const own = this.rollout(rolloutId);
    if (!own) throw ThreadStoreError.notFound(rolloutId);
    for (const item of this.resolvedRollout(own, 0).slice()) yield item;
  }

  private inherited(first: RolloutItem | undefined, depth: number): RolloutItem[] {
    const ref = historyBaseOf(first);
    const base = ref ? this.rollout(ref.threadId) : null;
    if (!ref || !base || depth >= MAX_HISTORY_BASE_DEPTH) return [];
    const out: RolloutItem[] = [];
    for (const item of this.resolvedRollout(base, depth + 1)) {
      const step = inheritedStep(item, ref.endOrdinalExclusive);
      if (step === 'stop') break;
      out.push(item);
      if (step === 'last') break;
    }
    return out;
  }

  private toStored(rec: DurableThread): StoredThread {
    const d = rec.derived.value;
    const base = storedThreadFromDerived(rec.threadId, d, {
      preview: rec.derived.preview,
      defaultModelProvider: this.defaultModelProvider,
      updatedAt: rec.writtenAt,
      createdAtFallback: parseRolloutTime(rec.history[0]?.timestamp) ?? rec.writtenAt,
      archivedAt: rec.archivedAt ? new Date(rec.archivedAt.getTime()) : null,
      rolloutPath: null,
    });
    return clone(applyPatch(base, rec.patch));
  }

  /** Every durable thread passing the filters, in listing order. */
  private matching(p: NormalizedListParams): StoredThread[] {
    const out: StoredThread[] = [];
    for (const rec of this.storage.threads.values()) {
      const t = this.toStored(rec);
      if (threadMatchesFilters(t, p)) out.push(t);
    }
    return out.sort((a, b) => compareThreads(a, b, p.sortKey, p.sortDirection));
  }
}
