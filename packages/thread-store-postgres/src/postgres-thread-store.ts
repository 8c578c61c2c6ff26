import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { Pool, PoolClient, QueryResult, QueryResultRow } from 'pg';
import {
  copyPlainData,
  historyBaseOf,
  itemPageFromHistory,
  normalizeListItemsParams,
  normalizeListTurnsParams,
  turnPageFromHistory,
  mergePatches,
  normalizeCountParams,
  normalizeListParams,
  parseThreadId,
  persistedRolloutItems,
  requireObject,
  requireHistoryBase,
  inheritedPrefix,
  isSessionMeta,
  segmentCreatedAt,
  rolloutItemProblem,
  sessionMetaPayloadFor,
  ThreadStoreError,
  validateCreateThreadParams,
  validateNewSegment,
  validatePatch,
} from '@skein/thread-store-api';
import type {
  AppendItemsParams,
  HistoryBase,
  ArchiveThreadParams,
  CreateThreadParams,
  DeleteThreadParams,
  HistoryMode,
  ItemPage,
  ListItemsParams,
  ListSegmentsParams,
  ListTurnsParams,
  CountThreadsParams,
  ListThreadsParams,
  LoadHistoryParams,
  NormalizedListParams,
  ReadThreadByRolloutPathParams,
  ReadThreadParams,
  ResumeThreadParams,
  RolloutItem,
  SearchThreadsParams,
  StoredThread,
  StoredThreadWithHistory,
  ThreadId,
  ThreadPage,
  ThreadSearchPage,
  ThreadSegment,
  ThreadStore,
  ThreadStoreCapabilities,
  TurnPage,
  TurnProjectionState,
  UpdateThreadMetadataParams,
} from '@skein/thread-store-api';
import { isConnectionError, toStoreError } from './internal/errors.js';
import {
  archivedNotFound,
  inheritedItems,
  resolvedHistory,
  rolloutHistory,
  streamHistory,
} from './internal/history.js';
import { currentRolloutId, findRollout, respanReaders, segmentBase, writeThreadSpans } from './internal/spans.js';
import type { HistorySource } from './internal/history.js';
import { acquireLease, fenceLease, hasLiveLease, lostLease, releaseLease, renewLeases } from './internal/leases.js';
import type { Lease } from './internal/leases.js';
import { contentFilter, firstOwnMatchesSql, linesSql, spanMatchesSql } from './internal/content-sql.js';
import { Params, filterSql, pageQuery } from './internal/list-sql.js';
import type { PageRow } from './internal/list-sql.js';
import { LATEST_SCHEMA_VERSION, migrate } from './internal/migrations.js';
import { snippetOf } from './internal/snippet.js';
import { projectAppend, reindexThread } from './internal/turn-index.js';
import { indexedItemPage, indexedTurnPage, turnSegments } from './internal/turn-pages.js';
import type { TurnSegment } from './internal/turn-pages.js';
import {
  appendToState,
  emptyState,
  messageSearchText,
  messageText,
  stateFromJson,
  storedThreadOf,
  threadColumns,
  threadFromJson,
} from './internal/thread-state.js';
import { withoutNul } from './internal/text.js';
import type { ThreadState } from './internal/thread-state.js';

/** Options of {@link PostgresThreadStore.open}: the database, the tenant, pool and lease settings. */
export interface PostgresThreadStoreOptions {
  /** `postgres://user@host:port/database?…` (libpq URL form). */
  connectionString: string;
  /** Every key starts with the tenant: one database holds many tenants (default `default`). */
  tenant?: string;
  /** Provider assumed for threads that record none, and the default provider filter of listings. */
  defaultModelProvider?: string;
  /** Connections in the pool (default 10). */
  poolSize?: number;
  /** Server-side limit per statement, ms (default 30000); a statement over it is `unavailable`. */
  statementTimeoutMs?: number;
  /** How long to wait for a connection, ms (default 10000). */
  connectTimeoutMs?: number;
  /** How long a writer's lease lasts without renewal, ms (default 30000). */
  leaseDurationMs?: number;
  /** How often live writers renew their leases, ms (default a third of the lease duration). */
  leaseRenewIntervalMs?: number;
  /**
   * `true` (default): apply pending schema migrations at open. `false`: only check that the
   * schema is current (for servers that must not change it; run `skein db migrate` first).
   */
  migrate?: boolean;
  /** `session_meta.originator` of new threads when the caller gives none (default `skein`). */
  originator?: string;
  /** `session_meta.cli_version` of new threads when the caller gives none. */
  cliVersion?: string;
  /** Clock for the times the store fills in (item timestamps, write and archive times). */
  now?: () => Date;
}

/** A live writer: items appended since the last flush, and the lease that fences its writes. */
interface Writer {
  readonly threadId: ThreadId;
  readonly lease: Lease;
  /** Until the thread is materialized: what creates it (the first item is built once). */
  pendingCreate: { params: CreateThreadParams; createdAt: Date; meta?: RolloutItem } | null;
  /** Until a new segment is materialized: its rollout id, first line and base (see resumeThread). */
  pendingSegment: { rolloutId: ThreadId; meta: RolloutItem; base: HistoryBase } | null;
  pending: RolloutItem[];
  /** Items of the thread already committed (the next item's seq). */
  durableCount: number;
  /** Set when a renewal found the lease taken: every later write is a conflict. */
  lost: boolean;
  /**
   * The persistence policy's format: `paginated` for a thread whose session_meta says so (one
   * moved here from a paginated rollout, which keeps its `item_completed` events), else `legacy`.
   */
  mode: HistoryMode;
  /**
   * Paginated threads: the ordinal the next line gets (every line of a paginated rollout has one,
   * one above the last; Codex's projection skips a line without). Null for legacy threads.
   */
  nextOrdinal: number | null;
}

interface ThreadRow {
  item_count: string;
  state: string;
  archived: boolean;
  thread: string;
  turn_state: string | null;
  turn_seq: string | null;
  live_seq: string;
}

const STORE_KIND = 'postgres';
/** Item rows per INSERT and its byte budget: big enough to amortise round trips. */
const INSERT_ROWS = 2000;
const INSERT_BYTES = 8 * 1024 * 1024;

function positive(v: number | undefined, fallback: number, what: string): number {
  if (v === undefined) return fallback;
  if (!Number.isInteger(v) || v <= 0) throw ThreadStoreError.invalidRequest(`${what} must be a positive integer`);
  return v;
}

/**
 * A ThreadStore on PostgreSQL. Stateless apart from its live writers, so any number of servers
 * can share one database: history is rows of JSON text, listings and search are indexed queries,
 * and the one live writer per thread is a lease with a fencing token (see internal/leases.ts).
 */
export class PostgresThreadStore implements ThreadStore {
  readonly capabilities: ThreadStoreCapabilities = { localPaths: false, contentSearch: true };
  readonly tenant: string;
  readonly defaultModelProvider: string;
  /** Resolves once the schema is checked (and migrated); every call waits for it. */
  readonly ready: Promise<void>;
  private readonly pool: Pool;
  private readonly owner = randomUUID();
  private readonly leaseDurationMs: number;
  private readonly now: () => Date;
  private readonly originator: string;
  private readonly cliVersion: string;
  private readonly writers = new Map<string, Writer>();
  private readonly threadOps = new Map<string, Promise<unknown>>();
  private readonly renewTimer: NodeJS.Timeout;
  private readonly watched = new WeakSet<PoolClient>();
  private closed = false;
  /** How history readers reach this store's rows. */
  private readonly historySource: HistorySource;

  constructor(options: PostgresThreadStoreOptions) {
    requireObject(options, 'PostgresThreadStore options');
    if (typeof options.connectionString !== 'string' || options.connectionString === '')
      throw ThreadStoreError.invalidRequest('connectionString must be a postgres:// URL');
    const tenant = options.tenant ?? 'default';
    if (typeof tenant !== 'string' || tenant === '' || tenant.includes('\u0000'))
      throw ThreadStoreError.invalidRequest('tenant must be a non-empty string');
    this.tenant = tenant;
    this.historySource = {
      connect: (first) => this.connect(first),
      read: (text, values) => this.read(text, values),
      query: (text, values) => this.read(text, values),
      tenant,
    };
    this.defaultModelProvider = options.defaultModelProvider ?? 'openai';
    this.leaseDurationMs = positive(options.leaseDurationMs, 30_000, 'leaseDurationMs');
    const renewEvery = positive(
      options.leaseRenewIntervalMs,
      Math.max(1, Math.floor(this.leaseDurationMs / 3)),
      'leaseRenewIntervalMs',
    );
    this.now = options.now ?? (() => new Date());
    this.originator = options.originator ?? 'skein';
    this.cliVersion = options.cliVersion ?? '';
    this.pool = new pg.Pool({
      connectionString: options.connectionString,
      max: positive(options.poolSize, 10, 'poolSize'),
      connectionTimeoutMillis: positive(options.connectTimeoutMs, 10_000, 'connectTimeoutMs'),
      statement_timeout: positive(options.statementTimeoutMs, 30_000, 'statementTimeoutMs'),
      // flush resolves once items are committed: make sure no session setting weakens that.
      options: '-c synchronous_commit=on',
      application_name: 'skein',
    });
    // An idle connection the server closed (restart, pg_terminate_backend) reports here; the
    // pool drops it and the next call opens a new one.
    this.pool.on('error', () => undefined);
    this.ready = this.init(options.migrate !== false);
    // Callers that never call a method still see a failed open when they close.
    this.ready.catch(() => undefined);
    this.renewTimer = setInterval(() => void this.renewAll(), renewEvery);
    this.renewTimer.unref();
  }

  /** Opens a store and waits until its schema is ready. */
  static async open(options: PostgresThreadStoreOptions): Promise<PostgresThreadStore> {
    const store = new PostgresThreadStore(options);
    try {
      await store.ready;
    } catch (e) {
      await store.close().catch(() => undefined);
      throw e;
    }
    return store;
  }

  private async init(apply: boolean): Promise<void> {
    try {
      if (apply) {
        await migrate(this.pool);
        return;
      }
      const r = await this.pool
        .query<{ v: number | null }>('SELECT max(version) AS v FROM skein_schema_migrations')
        .catch((e: unknown) => {
          if ((e as { code?: unknown }).code === '42P01') return { rows: [{ v: 0 }] };
          throw e;
        });
      const v = r.rows[0]?.v ?? 0;
      if (v !== LATEST_SCHEMA_VERSION)
        throw ThreadStoreError.unsupported(
          `a database at schema version ${v}`,
          v > LATEST_SCHEMA_VERSION
            ? `this Skein knows schema versions up to ${LATEST_SCHEMA_VERSION}; upgrade Skein`
            : `this Skein needs schema version ${LATEST_SCHEMA_VERSION}; run \`skein db migrate\``,
        );
    } catch (e) {
      throw toStoreError(e, 'opening the PostgreSQL store');
    }
  }

  // ---------------------------------------------------------------- plumbing

  private async guard<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    this.assertOpen();
    await this.ready;
    try {
      return await fn();
    } catch (e) {
      throw toStoreError(e, operation);
    }
  }

  private assertOpen(): void {
    if (this.closed) throw ThreadStoreError.invalidRequest('store is closed; open a new store to keep working');
  }

  /** Runs operations on one thread's writer one after another. */
  private serial<T>(threadId: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.threadOps.get(threadId) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.threadOps.set(threadId, tail);
    void tail.then(() => {
      if (this.threadOps.get(threadId) === tail) this.threadOps.delete(threadId);
    });
    return run;
  }

  /**
   * A pooled connection that answers. A connection the server closed while it sat idle in the
   * pool (restart, pg_terminate_backend) fails its first statement before anything ran; it is
   * dropped and one fresh connection is tried, so only calls that were in flight see the outage.
   */
  private async connect(first: string): Promise<PoolClient> {
    for (let attempt = 0; ; attempt += 1) {
      const client = await this.pool.connect();
      // A connection that dies between two statements of a checked-out client reports here (the
      // pool listens only to idle ones); the next statement fails and the client is dropped.
      if (!this.watched.has(client)) {
        this.watched.add(client);
        client.on('error', () => undefined);
      }
      try {
        await client.query(first);
        return client;
      } catch (e) {
        client.release(e instanceof Error ? e : true);
        if (attempt > 0 || !isConnectionError(e)) throw e;
      }
    }
  }

  /** A read-only statement on the pool, retried once on a connection that was already dead. */
  private async read<R extends QueryResultRow>(text: string, values: unknown[]): Promise<QueryResult<R>> {
    try {
      return await this.pool.query<R>(text, values);
    } catch (e) {
      if (!isConnectionError(e)) throw e;
      return this.pool.query<R>(text, values);
    }
  }

  /** One transaction on one pooled connection; a broken connection is dropped, not reused. */
  private tx<T>(fn: (db: PoolClient) => Promise<T>): Promise<T> {
    return this.session('BEGIN', 'COMMIT', fn);
  }

  /** `fn` on one pooled connection between `begin` and `end` (ROLLBACK when it fails). */
  private async session<T>(begin: string, end: 'COMMIT' | 'ROLLBACK', fn: (db: PoolClient) => Promise<T>): Promise<T> {
    const client = await this.connect(begin);
    try {
      const out = await fn(client);
      await client.query(end);
      client.release();
      return out;
    } catch (e) {
      try {
        await client.query('ROLLBACK');
        client.release();
      } catch (rollbackError) {
        client.release(rollbackError instanceof Error ? rollbackError : true);
      }
      throw e;
    }
  }

  private async lockThread(db: PoolClient, threadId: string, lock = 'FOR UPDATE'): Promise<ThreadRow | undefined> {
    const r = await db.query<ThreadRow>(
      `SELECT item_count, state, archived, thread, turn_state, turn_seq, live_seq FROM skein_threads WHERE tenant = $1 AND thread_id = $2 ${lock}`,
      [this.tenant, threadId],
    );
    return r.rows[0];
  }

  /** Writes the thread row; `extra`: more columns to set with it (the turn index's state). */
  private async writeThreadRow(
    db: PoolClient,
    threadId: ThreadId,
    s: ThreadState,
    itemCount: number,
    insert: boolean,
    extra: Record<string, unknown> = {},
  ) {
    const t = storedThreadOf(threadId, s, this.defaultModelProvider);
    const cols = { ...threadColumns(t, s), item_count: itemCount, ...extra };
    const names = Object.keys(cols);
    const values = Object.values(cols);
    if (insert) {
      await db.query(
        `INSERT INTO skein_threads (tenant, thread_id, ${names.join(', ')})
         VALUES ($1, $2, ${names.map((_, i) => `$${i + 3}`).join(', ')})`,
        [this.tenant, threadId, ...values],
      );
    } else {
      await db.query(
        `UPDATE skein_threads SET ${names.map((n, i) => `${n} = $${i + 3}`).join(', ')}
         WHERE tenant = $1 AND thread_id = $2`,
        [this.tenant, threadId, ...values],
      );
    }
    return t;
  }

  /** The ordinal of a paginated thread's last line that has one (-1 when none has). */
  private async lastOrdinal(db: PoolClient, threadId: string): Promise<number> {
    const { rows } = await db.query<{ line: string }>(
      'SELECT line FROM skein_items WHERE tenant = $1 AND thread_id = $2 ORDER BY seq DESC LIMIT 1000',
      [this.tenant, threadId],
    );
    for (const { line } of rows) {
      try {
        const ordinal = ordinalOf(JSON.parse(line) as RolloutItem);
        if (ordinal >= 0) return ordinal;
      } catch {
        // Not a line a reader parses; Codex skips it too.
      }
    }
    return -1;
  }

  private async insertItems(db: PoolClient, threadId: string, firstSeq: number, items: readonly RolloutItem[]) {
    let seqs: number[] = [];
    let lines: string[] = [];
    let messages: (string | null)[] = [];
    let bytes = 0;
    const send = async (): Promise<void> => {
      if (seqs.length === 0) return;
      await db.query(
        `INSERT INTO skein_items (tenant, thread_id, seq, line, message_lc)
         SELECT $1, $2, x.seq, x.line, x.message_lc
         FROM unnest($3::bigint[], $4::text[], $5::text[]) AS x(seq, line, message_lc)`,
        [this.tenant, threadId, seqs, lines, messages],
      );
      seqs = [];
      lines = [];
      messages = [];
      bytes = 0;
    };
    for (const [i, item] of items.entries()) {
      const line = JSON.stringify(item);
      seqs.push(firstSeq + i);
      lines.push(line);
      messages.push(messageSearchText(item));
      bytes += line.length;
      if (seqs.length >= INSERT_ROWS || bytes >= INSERT_BYTES) await send();
    }
    await send();
  }

  // ---------------------------------------------------------------- live writers

  async createThread(params: CreateThreadParams): Promise<void> {
    this.assertOpen();
    const threadId = validateCreateThreadParams(params);
    if (params.forkBase !== undefined)
      throw ThreadStoreError.unsupported('a fork by reference', 'the PostgreSQL store copies history into forks');
    const copy = copyPlainData(params, 'createThread params');
    const createdAt = new Date((params.createdAt ?? this.now()).getTime());
    return this.guard('createThread', async () => {
      this.assertNoLocalWriter(threadId);
      const base = historyBaseOf(copy.sessionMeta);
      // history_base names a rollout: a thread's first rollout (its id) or a later segment.
      if (base) await requireHistoryBase(rolloutHistory(this.historySource, base.threadId), base);
      const lease = await this.tx(async (db) => {
        const l = await acquireLease(db, this.tenant, threadId, this.owner, this.leaseDurationMs);
        if (!l) throw liveWriterConflict(threadId);
        if (await this.lockThread(db, threadId, 'FOR SHARE'))
          throw ThreadStoreError.conflict(`thread ${threadId} already exists; resume it instead of creating it`);
        if (await this.isSegmentId(db, threadId))
          throw ThreadStoreError.conflict(`${threadId} is already the id of a rollout of another thread`);
        return l;
      });
      this.addWriter({
        threadId,
        lease,
        pendingCreate: { params: copy, createdAt },
        pendingSegment: null,
        pending: [],
        durableCount: 0,
        lost: false,
        mode: copy.sessionMeta?.payload.history_mode === 'paginated' ? 'paginated' : 'legacy',
        nextOrdinal: copy.sessionMeta?.payload.history_mode === 'paginated' ? ordinalOf(copy.sessionMeta) + 1 : null,
      });
    });
  }

  async resumeThread(params: ResumeThreadParams): Promise<void> {
    this.assertOpen();
    requireObject(params, 'resumeThread params');
    const threadId = parseThreadId(params.threadId);
    const newSegment = params.segment === undefined ? null : validateNewSegment(threadId, params.segment);
    const segmentMeta = newSegment ? copyPlainData(params.segment?.sessionMeta, 'segment.sessionMeta') : null;
    return this.guard('resumeThread', async () => {
      if (newSegment) await this.checkNewSegment(threadId, newSegment, params.includeArchived === true);
      const { lease, count, mode, nextOrdinal } = await this.tx(async (db) => {
        // The thread row first (shared lock): an archive or delete racing with this resume
        // either finishes before (and this sees it) or waits and then sees this lease.
        const row = await this.lockThread(db, threadId, 'FOR SHARE');
        if (!row) throw ThreadStoreError.notFound(threadId);
        if (row.archived && params.includeArchived !== true) throw archivedNotFound(threadId);
        if (this.writers.has(threadId)) throw liveWriterConflict(threadId, 'this store');
        if (newSegment) await this.checkSegmentIdIsNew(db, newSegment.rolloutId);
        const l = await acquireLease(db, this.tenant, threadId, this.owner, this.leaseDurationMs);
        if (!l) throw liveWriterConflict(threadId);
        // The newest rollout is the one with the greatest id, as in a Codex home; checked under the
        // lease, so no segment can be written between this check and this writer's.
        const newest = newSegment ? await currentRolloutId(db, this.tenant, threadId) : null;
        if (newSegment && newest !== null && newSegment.rolloutId < newest)
          throw ThreadStoreError.invalidRequest(
            `segment.rolloutId ${newSegment.rolloutId} must sort after the thread's newest rollout ${newest} (a UUIDv7 made now does)`,
          );
        const mode: HistoryMode = threadFromJson(row.thread).historyMode === 'paginated' ? 'paginated' : 'legacy';
        // A new segment's own lines are numbered on from its session_meta, past the cut.
        const nextOrdinal = newSegment
          ? Math.max(ordinalOf(segmentMeta ?? undefined) + 1, newSegment.base.endOrdinalExclusive)
          : mode === 'paginated'
            ? (await this.lastOrdinal(db, threadId)) + 1
            : null;
        return { lease: l, count: Number(row.item_count), mode, nextOrdinal };
      });
      this.addWriter({
        threadId,
        lease,
        pendingCreate: null,
        pendingSegment:
          newSegment && segmentMeta
            ? { rolloutId: newSegment.rolloutId, meta: segmentMeta, base: newSegment.base }
            : null,
        pending: [],
        durableCount: count,
        lost: false,
        mode,
        nextOrdinal,
      });
    });
  }

  /**
   * What a new segment needs of the thread's history: a paginated thread and a base that is one
   * of its rollouts, whose history holds the cut (invalid_request otherwise). The rollout id is
   * checked in resumeThread's transaction, under the lease: new in the tenant (conflict) and
   * sorting after the thread's newest rollout (invalid_request).
   */
  private async checkNewSegment(
    threadId: ThreadId,
    seg: { rolloutId: ThreadId; base: HistoryBase },
    includeArchived: boolean,
  ): Promise<void> {
    const t = await this.read<{ thread: string; archived: boolean }>(
      'SELECT thread, archived FROM skein_threads WHERE tenant = $1 AND thread_id = $2',
      [this.tenant, threadId],
    );
    const row = t.rows[0];
    if (!row) throw ThreadStoreError.notFound(threadId);
    if (row.archived && !includeArchived) throw archivedNotFound(threadId);
    if (threadFromJson(row.thread).historyMode !== 'paginated')
      throw ThreadStoreError.invalidRequest(
        `thread ${threadId} is not paginated: only a paginated thread gets new segments`,
      );
    const base = await findRollout(this.historySource, this.tenant, seg.base.threadId);
    if (!base || base.threadId !== threadId)
      throw ThreadStoreError.invalidRequest(
        `segment.sessionMeta.payload.history_base.thread_id ${seg.base.threadId} is not a rollout of thread ${threadId}`,
      );
    await requireHistoryBase(rolloutHistory(this.historySource, seg.base.threadId), seg.base);
  }

  private async checkSegmentIdIsNew(db: Pick<HistorySource, 'query'>, rolloutId: ThreadId): Promise<void> {
    const r = await db.query<{ one: number }>(
      `SELECT 1 AS one FROM skein_threads WHERE tenant = $1 AND thread_id = $2
       UNION ALL SELECT 1 FROM skein_segments WHERE tenant = $1 AND rollout_id = $2`,
      [this.tenant, rolloutId],
    );
    if (r.rows.length > 0)
      throw ThreadStoreError.conflict(
        `${rolloutId} is already the id of a thread or rollout; a new segment needs a new id`,
      );
  }

  private async isSegmentId(db: PoolClient, id: string): Promise<boolean> {
    const r = await db.query('SELECT 1 FROM skein_segments WHERE tenant = $1 AND rollout_id = $2', [this.tenant, id]);
    return r.rows.length > 0;
  }

  private addWriter(w: Writer): void {
    if (this.writers.has(w.threadId)) {
      // Two calls of this store raced past the local check; the database let one lease through.
      throw liveWriterConflict(w.threadId, 'this store');
    }
    this.writers.set(w.threadId, w);
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
    if (writer.lost) throw lostLease(threadId);
    const at = this.now().toISOString();
    // Copy everything before buffering anything, so a bad item leaves the buffer untouched.
    const copies = persistedRolloutItems(params.items, writer.mode).map((item) =>
      copyPlainData(item, 'a rollout item'),
    );
    for (const copy of copies) {
      const given = ordinalOf(copy);
      if (writer.nextOrdinal === null || given >= 0) {
        // Kept as written (a line moved from a rollout keeps its bytes); its ordinal moves the next on.
        if (writer.nextOrdinal !== null) writer.nextOrdinal = Math.max(writer.nextOrdinal, given + 1);
        if (copy.timestamp === undefined) copy.timestamp = at;
        writer.pending.push(copy);
        continue;
      }
      // A paginated line without an ordinal gets the next one, in Codex's key order.
      const { timestamp, ...rest } = copy;
      writer.pending.push({ timestamp: timestamp ?? at, ordinal: writer.nextOrdinal++, ...rest });
    }
    return Promise.resolve();
  }

  async persistThread(threadId: ThreadId): Promise<void> {
    this.assertOpen();
    const w = this.writer(parseThreadId(threadId));
    return this.guard('persistThread', () => this.serial(w.threadId, () => this.flushWriter(w, true)));
  }

  async flushThread(threadId: ThreadId): Promise<void> {
    this.assertOpen();
    const w = this.writer(parseThreadId(threadId));
    return this.guard('flushThread', () => this.serial(w.threadId, () => this.flushWriter(w, false)));
  }

  async shutdownThread(threadId: ThreadId): Promise<void> {
    this.assertOpen();
    const w = this.writer(parseThreadId(threadId));
    return this.guard('shutdownThread', () =>
      this.serial(w.threadId, async () => {
        try {
          await this.flushWriter(w, false);
        } catch (e) {
          // A writer that lost its lease is closed all the same: nothing more can go through it.
          if (w.lost) await this.release(w);
          throw e;
        }
        await this.release(w);
      }),
    );
  }

  async discardThread(threadId: ThreadId): Promise<void> {
    this.assertOpen();
    const id = parseThreadId(threadId);
    const w = this.writers.get(id);
    if (!w) return;
    return this.guard('discardThread', () => this.serial(id, () => this.release(w)));
  }

  private writer(threadId: ThreadId): Writer {
    const w = this.writers.get(threadId);
    if (!w)
      throw new ThreadStoreError(
        'not_found',
        `thread ${threadId} has no live writer in this store; create or resume it first`,
      );
    return w;
  }

  private assertNoLocalWriter(threadId: ThreadId): void {
    if (this.writers.has(threadId)) throw liveWriterConflict(threadId, 'this store');
  }

  private async release(w: Writer): Promise<void> {
    if (this.writers.get(w.threadId) === w) this.writers.delete(w.threadId);
    w.pending = [];
    if (w.lost) return;
    await releaseLease(this.pool, this.tenant, w.threadId, w.lease);
  }

  /**
   * Commits the writer's buffered items (and, the first time, the thread itself) in one
   * transaction fenced by the lease. Idempotent: when a commit's outcome was lost with the
   * connection, the retry finds the items there (item_count moved by exactly this batch) and
   * only clears the buffer.
   */
  private async flushWriter(w: Writer, materialize: boolean): Promise<void> {
    if (w.lost) throw lostLease(w.threadId);
    if ((w.pendingCreate || w.pendingSegment) && !materialize && w.pending.length === 0) return;
    const writtenAt = this.now();
    const head: RolloutItem[] = [];
    if (w.pendingCreate) {
      const { params, createdAt } = w.pendingCreate;
      w.pendingCreate.meta ??= params.sessionMeta ?? {
        timestamp: writtenAt.toISOString(),
        type: 'session_meta',
        payload: sessionMetaPayloadFor({ ...params, threadId: w.threadId }, createdAt, {
          originator: this.originator,
          cliVersion: this.cliVersion,
        }),
      };
      head.push(w.pendingCreate.meta);
    }
    if (w.pendingSegment) head.push(w.pendingSegment.meta);
    const n = w.pending.length;
    const items = [...head, ...w.pending.slice(0, n)];
    if (items.length === 0) return;
    if (w.pendingSegment) {
      await this.materializeSegment(w, w.pendingSegment, items, writtenAt);
      w.durableCount += items.length;
      w.pending.splice(0, n);
      w.pendingSegment = null;
      return;
    }
    const creating = w.pendingCreate !== null;
    // A fork by reference is described as its copy would be (its inherited items after its meta).
    const inherited = creating ? await inheritedItems(this.historySource, head[0]) : [];
    await this.tx(async (db) => {
      await this.fence(db, w);
      const row = await this.lockThread(db, w.threadId);
      const count = row ? Number(row.item_count) : 0;
      if (row && count === w.durableCount + items.length) return; // committed by a lost attempt
      // The turn index goes on from the state it left (kept on the thread row with the rows it
      // has seen), or is built again from all rows when it missed some.
      const turnState = creating ? null : row?.turn_state;
      const indexed = creating || (turnState != null && Number(row?.turn_seq) === count);
      const turns = indexed
        ? await projectAppend(
            db,
            this.tenant,
            w.threadId,
            turnState == null ? null : (JSON.parse(turnState) as TurnProjectionState),
            w.durableCount,
            items,
          )
        : null;
      const turnColumns = turns ? { turn_state: JSON.stringify(turns.state), turn_seq: count + items.length } : {};
      if (creating) {
        if (row) throw ThreadStoreError.conflict(`thread ${w.threadId} was created by another writer`);
        const described = inherited.length === 0 ? items : [...head, ...inherited, ...w.pending.slice(0, n)];
        const s = appendToState(emptyState(writtenAt), described, writtenAt);
        await this.writeThreadRow(db, w.threadId, s, items.length, true, turnColumns);
      } else {
        if (!row) throw ThreadStoreError.notFound(w.threadId);
        if (count !== w.durableCount)
          throw ThreadStoreError.conflict(`thread ${w.threadId} was written by another writer meanwhile`);
        const s = appendToState(stateFromJson(row.state), items, writtenAt);
        await this.writeThreadRow(db, w.threadId, s, count + items.length, false, turnColumns);
      }
      await this.insertItems(db, w.threadId, w.durableCount, items);
      if (creating && historyBaseOf(head[0])) {
        await this.recordHistoryBase(db, w.threadId, head[0]);
        await writeThreadSpans(db, this.tenant, w.threadId);
      }
      if (turns) await turns.write(db);
      // A thread with segments is read from its streamed history (see turn-pages.ts).
      else if (Number(row?.live_seq ?? 0) === 0) await reindexThread(db, this.tenant, w.threadId);
    });
    w.durableCount += items.length;
    w.pending.splice(0, n);
    w.pendingCreate = null;
  }

  /** Checks the writer's lease inside a write transaction; a writer that lost it stays lost. */
  private async fence(db: PoolClient, w: Writer): Promise<void> {
    try {
      await fenceLease(db, this.tenant, w.threadId, w.lease, this.leaseDurationMs);
    } catch (e) {
      w.lost = true;
      throw e;
    }
  }

  /**
   * Commits a new segment (see resumeThread): its row, its first line and the items buffered
   * after it, continuing the thread's seq numbering, in one transaction fenced by the lease. The
   * thread row then describes the thread as its new history does (the base's history up to the
   * cut, then the segment), keeping its metadata patches, and reads as created when the segment
   * was; its turn index goes (a thread with segments is read from its streamed history) and its
   * spans are written.
   */
  private async materializeSegment(
    w: Writer,
    seg: NonNullable<Writer['pendingSegment']>,
    items: readonly RolloutItem[],
    writtenAt: Date,
  ): Promise<void> {
    // The description is folded a batch at a time, never holding the whole history: the thread's
    // first session_meta, then the new history's other lines (later session_metas describe
    // rollouts, not the thread).
    const first = await this.read<{ line: string }>(
      'SELECT line FROM skein_items WHERE tenant = $1 AND thread_id = $2 AND seq = 0',
      [this.tenant, w.threadId],
    );
    let described = emptyState(writtenAt);
    let batch: RolloutItem[] = first.rows[0] ? [JSON.parse(first.rows[0].line) as RolloutItem] : [];
    for await (const item of inheritedPrefix(
      rolloutHistory(this.historySource, seg.base.threadId),
      seg.base.endOrdinalExclusive,
    )) {
      if (!isSessionMeta(item)) batch.push(item);
      if (batch.length >= 512) {
        described = appendToState(described, batch, writtenAt);
        batch = [];
      }
    }
    described = appendToState(described, [...batch, ...items.filter((item) => !isSessionMeta(item))], writtenAt);
    // Created when the segment was, as Codex 0.169 reports a reverted thread.
    const segAt = segmentCreatedAt(seg.meta);
    if (segAt) described = { ...described, derived: { ...described.derived, createdAt: segAt } };
    await this.tx(async (db) => {
      await this.fence(db, w);
      const row = await this.lockThread(db, w.threadId);
      if (!row) throw ThreadStoreError.notFound(w.threadId);
      const count = Number(row.item_count);
      // Committed by an attempt whose outcome was lost with its connection.
      if (count === w.durableCount + items.length && (await this.isSegmentId(db, seg.rolloutId))) return;
      if (count !== w.durableCount)
        throw ThreadStoreError.conflict(`thread ${w.threadId} was written by another writer meanwhile`);
      await this.checkSegmentIdIsNew(db, seg.rolloutId);
      const old = stateFromJson(row.state);
      const patch = { ...old.patch };
      delete patch.updatedAt;
      const s: ThreadState = { ...described, patch, archivedAt: old.archivedAt, firstItemAt: old.firstItemAt };
      await this.writeThreadRow(db, w.threadId, s, count + items.length, false, {
        live_seq: count,
        turn_state: null,
        turn_seq: null,
      });
      try {
        await db.query(
          `INSERT INTO skein_segments (tenant, rollout_id, thread_id, first_seq, base_rollout_id, base_end_ordinal, base_end_byte_offset)
           VALUES ($1, $2, $3, $4, $5, $6, $7)`,
          [
            this.tenant,
            seg.rolloutId,
            w.threadId,
            count,
            seg.base.threadId,
            seg.base.endOrdinalExclusive,
            seg.base.endByteOffset,
          ],
        );
      } catch (e) {
        // Another thread's new segment took the id meanwhile.
        if ((e as { code?: unknown }).code === '23505')
          throw ThreadStoreError.conflict(
            `rollout id ${seg.rolloutId} was taken meanwhile; a new segment needs a new id`,
          );
        throw e;
      }
      // Spans of other threads that read the thread's rows to their end (a base whose cut was not
      // there) end where the new segment starts, as a rollout's rows do.
      await db.query(
        'UPDATE skein_spans SET hi_seq = $3 WHERE tenant = $1 AND src_thread_id = $2 AND hi_seq IS NULL AND thread_id <> $2',
        [this.tenant, w.threadId, count],
      );
      await this.insertItems(db, w.threadId, count, items);
      await db.query('DELETE FROM skein_turns WHERE tenant = $1 AND thread_id = $2', [this.tenant, w.threadId]);
      await writeThreadSpans(db, this.tenant, w.threadId);
    });
  }

  /**
   * Puts a fork by reference's base on its thread row (what content search follows): the base,
   * the end ordinal as given, and how many of the base's own rows fall before the cut.
   */
  private async recordHistoryBase(db: PoolClient, threadId: ThreadId, first: RolloutItem | undefined): Promise<void> {
    const ref = historyBaseOf(first);
    if (!ref) return;
    await db.query(
      `UPDATE skein_threads SET base_thread_id = $3, base_end_ordinal = $4, base_end_seq = skein_base_end_seq($1, $3, $4)
       WHERE tenant = $1 AND thread_id = $2`,
      [this.tenant, threadId, ref.threadId, ref.endOrdinalExclusive],
    );
  }

  private async renewAll(): Promise<void> {
    if (this.closed) return;
    const live = [...this.writers.values()].filter((w) => !w.lost);
    if (live.length === 0) return;
    try {
      const lost = await renewLeases(
        this.pool,
        this.tenant,
        live.map((w) => ({ threadId: w.threadId, token: w.lease.token })),
        this.leaseDurationMs,
      );
      for (const w of live) if (lost.has(w.threadId)) w.lost = true;
    } catch {
      // The database is unreachable: the next tick tries again; flushes fence themselves.
    }
  }

  // ---------------------------------------------------------------- reads

  loadHistory(params: LoadHistoryParams): AsyncIterable<RolloutItem> {
    const run = async function* (this: PostgresThreadStore): AsyncGenerator<RolloutItem> {
      this.assertOpen();
      requireObject(params, 'loadHistory params');
      const threadId = parseThreadId(params.threadId);
      const rolloutId = params.rolloutId === undefined ? undefined : parseThreadId(params.rolloutId, 'rolloutId');
      await this.ready;
      try {
        if (rolloutId === undefined)
          yield* resolvedHistory(this.historySource, threadId, params.includeArchived === true);
        else {
          // One rollout's own rows, nothing inherited; the thread's check comes with them.
          const r = await findRollout(this.historySource, this.tenant, rolloutId);
          if (!r || r.threadId !== threadId)
            throw new ThreadStoreError('not_found', `thread ${threadId} has no rollout ${rolloutId}`);
          yield* streamHistory(
            this.historySource.connect,
            this.tenant,
            threadId,
            params.includeArchived === true,
            r.firstSeq,
          );
        }
      } catch (e) {
        throw toStoreError(e, 'loadHistory');
      }
    };
    return run.call(this);
  }

  /** The thread's rollouts, oldest first: its first rollout (the thread id), then its segments. */
  async listSegments(params: ListSegmentsParams): Promise<ThreadSegment[]> {
    this.assertOpen();
    requireObject(params, 'listSegments params');
    const threadId = parseThreadId(params.threadId);
    return this.guard('listSegments', () =>
      this.session('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY', 'ROLLBACK', async (db) => {
        const t = await db.query<{ archived: boolean; line: string | null }>(
          `SELECT t.archived, i.line FROM skein_threads t
           LEFT JOIN skein_items i ON i.tenant = t.tenant AND i.thread_id = t.thread_id AND i.seq = 0
           WHERE t.tenant = $1 AND t.thread_id = $2`,
          [this.tenant, threadId],
        );
        const row = t.rows[0];
        if (!row) throw ThreadStoreError.notFound(threadId);
        if (row.archived && params.includeArchived !== true) throw archivedNotFound(threadId);
        const first = row.line === null ? null : historyBaseOf(JSON.parse(row.line) as RolloutItem);
        const segs = await db.query<{
          rollout_id: string;
          base_rollout_id: string;
          base_end_ordinal: string;
          base_end_byte_offset: string;
        }>(
          `SELECT rollout_id, base_rollout_id, base_end_ordinal, base_end_byte_offset FROM skein_segments
           WHERE tenant = $1 AND thread_id = $2 ORDER BY first_seq`,
          [this.tenant, threadId],
        );
        return [
          { rolloutId: threadId, historyBase: first },
          ...segs.rows.map((g) => ({
            rolloutId: g.rollout_id as ThreadId,
            historyBase: segmentBase({
              rolloutId: g.rollout_id,
              threadId,
              firstSeq: 0,
              base: {
                rolloutId: g.base_rollout_id,
                endOrdinalExclusive: Number(g.base_end_ordinal),
                endByteOffset: Number(g.base_end_byte_offset),
              },
            }),
          })),
        ];
      }),
    );
  }

  async readThread(params: ReadThreadParams): Promise<StoredThreadWithHistory> {
    this.assertOpen();
    requireObject(params, 'readThread params');
    const threadId = parseThreadId(params.threadId);
    return this.guard('readThread', async () => {
      const r = await this.read<{ thread: string; archived: boolean }>(
        'SELECT thread, archived FROM skein_threads WHERE tenant = $1 AND thread_id = $2',
        [this.tenant, threadId],
      );
      const row = r.rows[0];
      if (!row) throw ThreadStoreError.notFound(threadId);
      if (row.archived && params.includeArchived !== true) throw archivedNotFound(threadId);
      const thread: StoredThreadWithHistory = threadFromJson(row.thread);
      if (params.includeHistory === true)
        thread.history = this.loadHistory({ threadId, includeArchived: params.includeArchived === true });
      return thread;
    });
  }

  /**
   * Turn pages from the turn index: a keyset query and the item rows of the page's turns. A
   * thread with rows the index has not seen (written by a server without it) is streamed.
   */
  async listTurns(params: ListTurnsParams): Promise<TurnPage> {
    this.assertOpen();
    const p = normalizeListTurnsParams(params);
    return this.guard('listTurns', async () => {
      const live = this.writers.has(p.threadId) || (await hasLiveLease(this.pool, this.tenant, p.threadId));
      const page = await this.fromTurnIndex(p.threadId, p.includeArchived, (db, segments) =>
        indexedTurnPage(db, this.tenant, segments, p, STORE_KIND, live),
      );
      if (page) return page;
      const history = this.loadHistory({ threadId: p.threadId, includeArchived: p.includeArchived });
      return turnPageFromHistory(history, p, STORE_KIND, live);
    });
  }

  async listItems(params: ListItemsParams): Promise<ItemPage> {
    this.assertOpen();
    const p = normalizeListItemsParams(params);
    return this.guard('listItems', async () => {
      const page = await this.fromTurnIndex(p.threadId, p.includeArchived, (db, segments) =>
        indexedItemPage(db, this.tenant, segments, p, STORE_KIND),
      );
      if (page) return page;
      const history = this.loadHistory({ threadId: p.threadId, includeArchived: p.includeArchived });
      return itemPageFromHistory(history, p, STORE_KIND);
    });
  }

  /** Runs `fn` on the thread's lineage in one read-only snapshot; null when the index is behind. */
  private fromTurnIndex<T>(
    threadId: ThreadId,
    includeArchived: boolean,
    fn: (db: PoolClient, segments: TurnSegment[]) => Promise<T>,
  ): Promise<T | null> {
    return this.session('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY', 'ROLLBACK', async (db) => {
      const segments = await turnSegments(db, this.tenant, threadId, includeArchived);
      return segments === null ? null : fn(db, segments);
    });
  }

  async readThreadByRolloutPath(params: ReadThreadByRolloutPathParams): Promise<StoredThreadWithHistory> {
    this.assertOpen();
    void params;
    throw ThreadStoreError.unsupported(
      'readThreadByRolloutPath',
      'the PostgreSQL store has no rollout files; read the thread by its id with readThread',
    );
  }

  async listThreads(params: ListThreadsParams = {}): Promise<ThreadPage> {
    this.assertOpen();
    requireObject(params as unknown, 'listThreads params');
    const p = normalizeListParams(params, this.defaultModelProvider);
    return this.guard('listThreads', async () => {
      const page = await this.page(p, params.cursor, (params) => filterSql(this.tenant, p, params));
      return {
        items: page.rows.map((r) => threadFromJson(r.thread)),
        nextCursor: page.nextCursor,
        backwardsCursor: page.backwardsCursor,
      };
    });
  }

  async countThreads(params: CountThreadsParams): Promise<number> {
    this.assertOpen();
    requireObject(params as unknown, 'countThreads params');
    const p = normalizeCountParams(params, this.defaultModelProvider);
    return this.guard('countThreads', async () => {
      const sql = new Params();
      const where = filterSql(this.tenant, p, sql);
      if (where === null) return 0;
      // The same WHERE as a page: the (tenant, archived, …) listing indexes answer it.
      const r = await this.read<{ n: string }>(`SELECT count(*) AS n FROM skein_threads t WHERE ${where}`, sql.values);
      return Number(r.rows[0]?.n ?? 0);
    });
  }

  async searchThreads(params: SearchThreadsParams): Promise<ThreadSearchPage> {
    this.assertOpen();
    requireObject(params, 'searchThreads params');
    const term = params.searchTerm;
    if (typeof term !== 'string' || term.trim() === '')
      throw ThreadStoreError.invalidRequest('searchTerm must be a non-empty string of text to find in messages');
    // The term is part of the cursor fingerprint (a cursor of another search is refused), but it
    // matches message content, not names and previews.
    const listed = normalizeListParams({ ...params, searchTerm: term }, this.defaultModelProvider);
    const p: NormalizedListParams = { ...listed, searchTerm: null, filters: `search:${listed.filters}` };
    const lowered = withoutNul(term.toLowerCase());
    return this.guard('searchThreads', async () => {
      // Threads with spans (forks, reverted threads) whose history holds a match, with the match
      // that comes first in it; and reverted threads whose only matches were reverted.
      const spans = spanMatchesSql(this.tenant, lowered);
      const origins = new Map<string, { threadId: string; seq: number }>();
      const excluded: string[] = [];
      for (const r of (
        await this.read<{ thread_id: string; origin_id: string | null; origin_seq: string | null; excluded: boolean }>(
          spans.text,
          spans.values,
        )
      ).rows) {
        if (r.excluded || r.origin_id === null) excluded.push(r.thread_id);
        else origins.set(r.thread_id, { threadId: r.origin_id, seq: Number(r.origin_seq) });
      }
      const page = await this.page(p, params.cursor, (sql) =>
        filterSql(this.tenant, p, sql, contentFilter(this.tenant, lowered, sql, [...origins.keys()], excluded)),
      );
      // The snippet is the first match in the thread's history (for a thread with spans, found above).
      const snippets = new Map<string, string>();
      const snippet = (threadId: string, line: string): void => {
        snippets.set(threadId, snippetOf(messageText(JSON.parse(line) as RolloutItem), term));
      };
      const inherited = page.rows.flatMap((r) => {
        const o = origins.get(r.thread_id);
        return o ? [{ threadId: r.thread_id, origin: o }] : [];
      });
      if (inherited.length > 0) {
        const q = linesSql(
          this.tenant,
          inherited.map((x) => x.origin),
        );
        for (const row of (await this.read<{ k: string; line: string }>(q.text, q.values)).rows) {
          const hit = inherited[Number(row.k) - 1];
          if (hit) snippet(hit.threadId, row.line);
        }
      }
      const own = page.rows.filter((r) => !origins.has(r.thread_id)).map((r) => r.thread_id);
      if (own.length > 0) {
        const q = firstOwnMatchesSql(this.tenant, lowered, own);
        for (const row of (await this.read<{ thread_id: string; line: string }>(q.text, q.values)).rows)
          snippet(row.thread_id, row.line);
      }
      return {
        items: page.rows.map((r) => ({ thread: threadFromJson(r.thread), snippet: snippets.get(r.thread_id) ?? '' })),
        nextCursor: page.nextCursor,
        backwardsCursor: page.backwardsCursor,
      };
    });
  }

  private async page(
    p: NormalizedListParams,
    cursor: string | null | undefined,
    filter: Parameters<typeof pageQuery>[3],
  ): Promise<{ rows: PageRow[]; nextCursor: string | null; backwardsCursor: string | null }> {
    const q = pageQuery(p, STORE_KIND, cursor, filter);
    if ('empty' in q) return { rows: [], nextCursor: null, backwardsCursor: null };
    const r = await this.read<PageRow & { other?: boolean | null }>(q.text, q.values);
    return q.finish(r.rows);
  }

  // ---------------------------------------------------------------- mutations

  async updateThreadMetadata(params: UpdateThreadMetadataParams): Promise<StoredThread> {
    this.assertOpen();
    requireObject(params, 'updateThreadMetadata params');
    const threadId = parseThreadId(params.threadId);
    validatePatch(params.patch);
    const patch = copyPlainData(params.patch, 'the patch');
    return this.guard('updateThreadMetadata', async () => {
      const w = this.writers.get(threadId);
      if (w?.pendingCreate) await this.serial(threadId, () => this.flushWriter(w, true));
      return this.tx(async (db) => {
        const row = await this.lockThread(db, threadId);
        if (!row) throw ThreadStoreError.notFound(threadId);
        if (row.archived && params.includeArchived !== true) throw archivedNotFound(threadId);
        const s = stateFromJson(row.state);
        s.patch = mergePatches(s.patch, patch);
        return this.writeThreadRow(db, threadId, s, Number(row.item_count), false);
      });
    });
  }

  async archiveThread(params: ArchiveThreadParams): Promise<void> {
    this.assertOpen();
    requireObject(params, 'archiveThread params');
    const threadId = parseThreadId(params.threadId);
    return this.guard('archiveThread', () =>
      this.tx(async (db) => {
        const row = await this.lockThread(db, threadId);
        if (!row) throw ThreadStoreError.notFound(threadId);
        if (row.archived) return;
        await this.assertNoLiveWriter(db, threadId, 'archive');
        const s = stateFromJson(row.state);
        s.archivedAt = this.now();
        await this.writeThreadRow(db, threadId, s, Number(row.item_count), false);
      }),
    );
  }

  async unarchiveThread(params: ArchiveThreadParams): Promise<StoredThread> {
    this.assertOpen();
    requireObject(params, 'unarchiveThread params');
    const threadId = parseThreadId(params.threadId);
    return this.guard('unarchiveThread', () =>
      this.tx(async (db) => {
        const row = await this.lockThread(db, threadId);
        if (!row) throw ThreadStoreError.notFound(threadId);
        const s = stateFromJson(row.state);
        s.archivedAt = null;
        return this.writeThreadRow(db, threadId, s, Number(row.item_count), false);
      }),
    );
  }

  async deleteThread(params: DeleteThreadParams): Promise<void> {
    this.assertOpen();
    requireObject(params, 'deleteThread params');
    const threadId = parseThreadId(params.threadId);
    return this.guard('deleteThread', () =>
      this.tx(async (db) => {
        const row = await this.lockThread(db, threadId);
        if (!row) throw ThreadStoreError.notFound(threadId);
        await this.assertNoLiveWriter(db, threadId, 'delete');
        // An expired lease goes too: its writer's late appends then find no lease at all.
        await db.query('DELETE FROM skein_leases WHERE tenant = $1 AND thread_id = $2', [this.tenant, threadId]);
        // Its rows, turns, segments and spans go with it (ON DELETE CASCADE); forks that inherit
        // from it inherit nothing now, in search as in their history.
        await db.query('DELETE FROM skein_threads WHERE tenant = $1 AND thread_id = $2', [this.tenant, threadId]);
        await respanReaders(db, this.tenant, threadId);
      }),
    );
  }

  private async assertNoLiveWriter(db: PoolClient, threadId: ThreadId, action: string): Promise<void> {
    const here = this.writers.has(threadId);
    if (here || (await hasLiveLease(db, this.tenant, threadId)))
      throw ThreadStoreError.conflict(
        `cannot ${action} thread ${threadId}: it has a live writer in ${here ? 'this store' : 'another store'}; shut it down first`,
      );
  }

  /** Flushes and releases every live writer, then closes the pool. */
  async close(): Promise<void> {
    if (this.closed) return;
    clearInterval(this.renewTimer);
    let failure: unknown;
    const ready = await this.ready.then(
      () => true,
      () => false,
    );
    if (ready) {
      for (const w of [...this.writers.values()]) {
        try {
          await this.serial(w.threadId, async () => {
            await this.flushWriter(w, false);
            await this.release(w);
          });
        } catch (e) {
          failure ??= e;
          this.writers.delete(w.threadId);
        }
      }
    }
    this.closed = true;
    await this.pool.end();
    if (failure !== undefined) throw toStoreError(failure, 'close');
  }
}

function liveWriterConflict(threadId: string, where = 'another store'): ThreadStoreError {
  return ThreadStoreError.conflict(
    `thread ${threadId} already has a live writer in ${where}; shut it down or discard it first`,
  );
}

/** A line's ordinal, or -1 when it has none. */
function ordinalOf(item: RolloutItem | undefined): number {
  const o = item?.ordinal;
  return typeof o === 'number' && Number.isInteger(o) && o >= 0 ? o : -1;
}
