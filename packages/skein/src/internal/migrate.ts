import { createHash } from 'node:crypto';
import {
  historyBaseOf,
  isSessionMeta,
  isThreadStoreError,
  newThreadId,
  segmentCreatedAt,
  ThreadStoreError,
} from '@skein/thread-store-api';
import type {
  CreateThreadParams,
  HistoryBase,
  RolloutItem,
  SessionMetaItem,
  StoredThread,
  ThreadId,
  ThreadSegment,
  ThreadStore,
} from '@skein/thread-store-api';
import { everyThread } from './every-thread.js';

/**
 * Moving threads from one store to another through the `ThreadStore` API, so any pair works (a
 * Codex home, a `skein serve` endpoint, a PostgreSQL database). Each thread is created in the
 * target with the source's identity (id, session, source, fork parent, cwd, provider, creation
 * time, base instructions, git), its history after the `session_meta` line is appended item by
 * item, then its name and archived state are applied.
 *
 * A thread's content is the JSON of those history items in order; its content hash is the
 * SHA-256 of that JSON, one item per line. The target's own `session_meta` (written by its
 * `createThread`) is not part of it. Re-running skips a thread whose target content hash
 * matches, resumes one whose target content is a strict prefix of the source's (an interrupted
 * copy) by appending the missing items, and leaves alone one whose target differs otherwise,
 * reporting it as a conflict.
 *
 * A paginated fork by reference (its `session_meta` has a `history_base`) stays one: it is
 * copied after the thread it references, with its `session_meta` unchanged and only its own
 * items, so the target keeps the reference and a Codex home gets the very same file. A target
 * that cannot keep a reference (or in which it does not resolve) gets a standalone copy instead:
 * the inherited items are written into the fork and its first line loses `history_base`. Its
 * content, and so its hash, is the same either way.
 *
 * A thread with several rollouts (a paginated thread that Codex reverted: see `ThreadSegment`)
 * is copied rollout by rollout, oldest first, each with its own lines only, so every segment file
 * comes back as it was; a fork that names a segment's rollout id waits for that thread. A source
 * or target without segments gets the thread's history as one rollout (the entry says why); its
 * content is the same.
 */

/** What the migration does (or, in a dry run, would do) with one thread. */
export type MigrateAction = 'copy' | 'resume' | 'skip' | 'conflict';

/** One thread's outcome. */
export interface MigrateEntry {
  threadId: string;
  action: MigrateAction;
  /** History items after session_meta in the source. */
  items: number;
  /** Items the target had already (resume) or has that differ (conflict). */
  targetItems: number;
  archived: boolean;
  hash: string;
  /** Why a thread is a conflict. */
  reason?: string;
  /**
   * Set for a fork by reference (`history_base`) copied standalone: why the target could not
   * keep the reference.
   */
  standalone?: string;
  /** Rollouts the thread has in the source when it has more than one (segments, copied as such). */
  segments?: number;
}

/** The outcome of a migration, also the `--json` shape of `skein migrate`. */
export interface MigrateReport {
  dryRun: boolean;
  threads: number;
  copied: number;
  resumed: number;
  skipped: number;
  conflicts: number;
  /** After a real run: threads whose target content hash and state equal the source's. */
  verified: number | null;
  /** After a real run: threads that did not verify (missing, different hash, name or archived state). */
  mismatched: { threadId: string; reason: string }[];
  entries: MigrateEntry[];
}

/** Progress of a migration, one call per thread. */
export type MigrateProgress = (done: number, total: number, entry: MigrateEntry) => void;

/** Appends go in batches this long (a server bounds the size of one call). */
const APPEND_BATCH = 100;

/** An item's content: its JSON without the paginated `ordinal` (a position, renumbered by the target). */
function lineOf(item: RolloutItem): string {
  if (!('ordinal' in item)) return JSON.stringify(item);
  const { ordinal: _ordinal, ...rest } = item as RolloutItem & { ordinal?: unknown };
  return JSON.stringify(rest);
}

/**
 * A thread's history split into its own `session_meta` (the one whose id is the thread's) and
 * its content. A fork that references its parent's history (`history_base`) loads that history
 * first, with the parent's `session_meta`: the inherited items are content (the copy holds them
 * itself), the inherited `session_meta` lines are not.
 */
interface ThreadHistory {
  meta: SessionMetaItem | null;
  /** The reference of a fork by reference; null for any other thread. */
  base: HistoryBase | null;
  byReference: boolean;
  /** The content: every item but the thread's own session_meta and inherited session_meta lines. */
  items: RolloutItem[];
  /** The items after the thread's own session_meta (all of them unless it is a fork by reference). */
  ownItems: RolloutItem[];
  lines: string[];
}

/** The reference of a fork by reference; a malformed one counts as none (the copy is standalone). */
function baseOf(meta: SessionMetaItem | null): HistoryBase | null {
  try {
    return historyBaseOf(meta);
  } catch {
    return null;
  }
}

async function historyOf(store: ThreadStore, threadId: string): Promise<ThreadHistory> {
  const all: RolloutItem[] = [];
  for await (const item of store.loadHistory({ threadId: threadId as StoredThread['threadId'], includeArchived: true }))
    all.push(item);
  const own = all.findIndex((i) => isSessionMeta(i) && (i.payload as { id?: unknown }).id === threadId);
  const meta = own >= 0 ? (all[own] as SessionMetaItem) : null;
  const byReference = meta !== null && (meta.payload as { history_base?: unknown }).history_base != null;
  const items = all.filter((it, i) => i !== own && !(byReference && i < own && isSessionMeta(it)));
  const ownItems = own >= 0 ? all.slice(own + 1) : items;
  return { meta, base: baseOf(meta), byReference, items, ownItems, lines: items.map(lineOf) };
}

/** The content hash of history lines (see the module comment). */
export function contentHash(lines: readonly string[]): string {
  const h = createHash('sha256');
  for (const l of lines) h.update(l).update('\n');
  return h.digest('hex');
}

async function targetThread(store: ThreadStore, threadId: string): Promise<StoredThread | null> {
  try {
    return await store.readThread({ threadId: threadId as StoredThread['threadId'], includeArchived: true });
  } catch (e) {
    if (isThreadStoreError(e) && e.code === 'not_found') return null;
    throw e;
  }
}

function createParams(t: StoredThread, item: SessionMetaItem | null, byReference: boolean): CreateThreadParams {
  const p: CreateThreadParams = {
    threadId: t.threadId,
    sessionId: t.sessionId,
    forkedFromId: t.forkedFromId,
    parentThreadId: t.parentThreadId,
    source: t.source,
    threadSource: t.threadSource,
    cliVersion: t.cliVersion,
    gitInfo: t.gitInfo,
    historyMode: t.historyMode,
    createdAt: t.createdAt,
    metadata: { cwd: t.cwd, modelProvider: t.modelProvider, memoryMode: t.memoryMode },
  };
  const meta = item?.payload as Record<string, unknown> | undefined;
  // The source's own first line, unchanged, unless it references a parent's history: the copy
  // carries the inherited items itself (a target may not hold the parent), so it must not
  // reference them too; it keeps everything else (the paginated format, the fork parent).
  if (item && !byReference) p.sessionMeta = item;
  else if (item && meta) {
    const { history_base: _base, forked_from_ordinal_exclusive: _end, ...standalone } = meta;
    const { ordinal: _ordinal, ...envelope } = item as SessionMetaItem & { ordinal?: unknown };
    p.sessionMeta = { ...envelope, payload: standalone as SessionMetaItem['payload'] };
  }
  if (meta) {
    if (typeof meta.originator === 'string') p.originator = meta.originator;
    if (meta.base_instructions !== undefined) p.baseInstructions = meta.base_instructions;
    if (Array.isArray(meta.dynamic_tools)) p.dynamicTools = meta.dynamic_tools as unknown[];
  }
  return p;
}

/** A thread's rollouts in a store, or null when the store does not keep segments. */
async function segmentsOf(store: ThreadStore, threadId: StoredThread['threadId']): Promise<ThreadSegment[] | null> {
  if (typeof store.listSegments !== 'function') return null;
  try {
    return await store.listSegments({ threadId, includeArchived: true });
  } catch (e) {
    if (isThreadStoreError(e) && e.code === 'unsupported') return null;
    throw e;
  }
}

/** Whether a target keeps segments: it has `listSegments` and answers it (an unknown id is `not_found`). */
async function keepsSegments(store: ThreadStore): Promise<boolean> {
  if (typeof store.listSegments !== 'function') return false;
  try {
    await store.listSegments({ threadId: newThreadId(), includeArchived: true });
    return true;
  } catch (e) {
    if (isThreadStoreError(e) && e.code === 'not_found') return true;
    if (isThreadStoreError(e) && e.code === 'unsupported') return false;
    throw e;
  }
}

/** One rollout's own items (its session_meta first). */
async function rolloutItems(store: ThreadStore, threadId: StoredThread['threadId'], rolloutId: ThreadId) {
  const out: RolloutItem[] = [];
  for await (const item of store.loadHistory({ threadId, rolloutId, includeArchived: true })) out.push(item);
  return out;
}

/**
 * Copies (or completes) a thread with several rollouts, rollout by rollout: the first is created
 * with its own session_meta, each later one starts as a new segment; a rollout the target has
 * already is checked to be a prefix of the source's and completed when it is the target's newest.
 * Returns the action, or a conflict's reason.
 */
async function copySegments(
  source: ThreadStore,
  target: ThreadStore,
  t: StoredThread,
  segments: readonly ThreadSegment[],
  dryRun: boolean,
): Promise<{ action: MigrateAction; reason?: string; targetItems: number }> {
  const have = (await targetThread(target, t.threadId)) ? ((await segmentsOf(target, t.threadId)) ?? []) : [];
  let action: MigrateAction = have.length === 0 ? 'copy' : 'skip';
  let targetItems = 0;
  for (const [i, seg] of segments.entries()) {
    const own = await rolloutItems(source, t.threadId, seg.rolloutId);
    const [meta, ...items] = own;
    if (!meta)
      return { action: 'conflict', reason: `its rollout ${seg.rolloutId} is empty in the source`, targetItems };
    const theirs = have[i];
    let from = 0;
    if (theirs) {
      if (theirs.rolloutId !== seg.rolloutId)
        return {
          action: 'conflict',
          reason: `its rollout ${i + 1} is ${theirs.rolloutId} in the target, ${seg.rolloutId} in the source`,
          targetItems,
        };
      const dst = (await rolloutItems(target, t.threadId, seg.rolloutId)).map(lineOf);
      const src = own.map(lineOf);
      targetItems += Math.max(0, dst.length - 1);
      if (dst.length > src.length || dst.some((l, k) => l !== src[k]))
        return { action: 'conflict', reason: `its rollout ${seg.rolloutId} differs in the target`, targetItems };
      if (dst.length === src.length) continue;
      if (i !== have.length - 1)
        return { action: 'conflict', reason: `its rollout ${seg.rolloutId} is shorter in the target`, targetItems };
      from = dst.length - 1;
      action = 'resume';
      if (dryRun) continue;
      await target.resumeThread({ threadId: t.threadId, includeArchived: true });
    } else {
      if (action === 'skip') action = 'resume';
      if (dryRun) continue;
      // The thread reads as created when its newest segment was; its first rollout was created
      // (and its file is named) when its own session_meta says.
      if (i === 0)
        await createInTarget(target, {
          ...createParams(t, meta as SessionMetaItem, false),
          createdAt: segmentCreatedAt(meta) ?? t.createdAt,
        });
      else
        await target.resumeThread({
          threadId: t.threadId,
          includeArchived: true,
          segment: { rolloutId: seg.rolloutId, sessionMeta: meta as SessionMetaItem },
        });
    }
    try {
      const rest = items.slice(from);
      await appendAll(target, t.threadId, rest);
      if (rest.length === 0) await target.persistThread(t.threadId);
      await target.flushThread(t.threadId);
    } finally {
      await target.shutdownThread(t.threadId);
    }
  }
  return { action, targetItems };
}

/** Creates the thread in the target, in the source's format when the target can keep it. */
async function createInTarget(target: ThreadStore, params: CreateThreadParams): Promise<void> {
  try {
    await target.createThread(params);
  } catch (e) {
    if (!(isThreadStoreError(e) && e.code === 'unsupported' && params.historyMode !== undefined)) throw e;
    const { historyMode: _unused, ...rest } = params;
    await target.createThread(rest);
  }
}

/**
 * Creates the copy of a thread in the target and returns the items to append: a fork by
 * reference whose base is copied too keeps its reference where the target can hold it (its own
 * items only), else it is created standalone (every content item), and the entry says why.
 */
async function createCopy(
  target: ThreadStore,
  t: StoredThread,
  src: ThreadHistory,
  referenceable: boolean,
  entry: MigrateEntry,
): Promise<RolloutItem[]> {
  if (src.byReference && src.base && src.meta && referenceable) {
    try {
      await createInTarget(target, createParams(t, src.meta, false));
      return src.ownItems;
    } catch (e) {
      if (!isThreadStoreError(e) || (e.code !== 'unsupported' && e.code !== 'invalid_request')) throw e;
      entry.standalone = e.message;
    }
  } else if (src.byReference) {
    entry.standalone = src.base
      ? `the thread it references (${src.base.threadId}) is not copied`
      : 'its history_base is malformed';
  }
  await createInTarget(target, createParams(t, src.meta, src.byReference));
  return src.items;
}

async function appendAll(target: ThreadStore, threadId: StoredThread['threadId'], items: readonly RolloutItem[]) {
  for (let i = 0; i < items.length; i += APPEND_BATCH)
    await target.appendItems({ threadId, items: items.slice(i, i + APPEND_BATCH) });
}

/** Brings the target's name and archived state to the source's. */
async function applyState(target: ThreadStore, source: StoredThread): Promise<void> {
  const now = await target.readThread({ threadId: source.threadId, includeArchived: true });
  if (now.name !== source.name)
    await target.updateThreadMetadata({
      threadId: source.threadId,
      includeArchived: true,
      patch: { name: source.name },
    });
  const archived = source.archivedAt !== null;
  if (archived && now.archivedAt === null) await target.archiveThread({ threadId: source.threadId });
  if (!archived && now.archivedAt !== null) await target.unarchiveThread({ threadId: source.threadId });
}

/** Every thread of a store, active then archived (all sources and providers). */
async function allThreads(store: ThreadStore): Promise<StoredThread[]> {
  const out: StoredThread[] = [];
  for (const archived of [false, true]) for await (const t of everyThread(store, archived)) out.push(t);
  // Oldest first, so a fork's parent is usually there before the fork.
  return out.sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || (a.threadId < b.threadId ? -1 : 1));
}

/** Decides what to do with one thread, and does it unless `dryRun`. */
async function migrateOne(
  source: ThreadStore,
  target: ThreadStore | null,
  t: StoredThread,
  src: ThreadHistory,
  dryRun: boolean,
  referenceable: boolean,
  segments: { rollouts: ThreadSegment[]; kept: string | null } | null,
): Promise<MigrateEntry> {
  const entry: MigrateEntry = {
    threadId: t.threadId,
    action: 'copy',
    items: src.items.length,
    targetItems: 0,
    archived: t.archivedAt !== null,
    hash: contentHash(src.lines),
  };
  if (segments) {
    entry.segments = segments.rollouts.length;
    // Segments are kept when the target keeps them and the first rollout's own base is copied.
    const why = segments.kept ?? (src.byReference && !referenceable ? 'its first rollout is copied standalone' : null);
    if (why === null && target) {
      const r = await copySegments(source, target, t, segments.rollouts, dryRun);
      entry.action = r.action;
      entry.targetItems = r.targetItems;
      if (r.reason !== undefined) entry.reason = r.reason;
      if (!dryRun && r.action !== 'conflict') await applyState(target, t);
      return entry;
    }
    if (why !== null) entry.standalone = `its ${segments.rollouts.length} rollouts are copied as one: ${why}`;
  }
  const existing = target ? await targetThread(target, t.threadId) : null;
  if (existing && target) {
    const dst = await historyOf(target, t.threadId);
    entry.targetItems = dst.lines.length;
    const prefix = dst.lines.length <= src.lines.length && dst.lines.every((l, i) => l === src.lines[i]);
    if (prefix && dst.lines.length === src.lines.length) entry.action = 'skip';
    else if (prefix) entry.action = 'resume';
    else {
      entry.action = 'conflict';
      entry.reason =
        dst.lines.length > src.lines.length
          ? `the target has ${dst.lines.length} items, the source ${src.lines.length}`
          : `the target's history differs from the source's at item ${dst.lines.findIndex((l, i) => l !== src.lines[i]) + 1}`;
    }
  }
  if (dryRun || !target || entry.action === 'conflict') return entry;
  if (entry.action === 'copy') {
    const items = await createCopy(target, t, src, referenceable, entry);
    try {
      await appendAll(target, t.threadId, items);
      if (items.length === 0) await target.persistThread(t.threadId);
      await target.flushThread(t.threadId);
    } finally {
      await target.shutdownThread(t.threadId);
    }
  } else if (entry.action === 'resume') {
    await target.resumeThread({ threadId: t.threadId, includeArchived: true });
    try {
      await appendAll(target, t.threadId, src.items.slice(entry.targetItems));
      await target.flushThread(t.threadId);
    } finally {
      await target.shutdownThread(t.threadId);
    }
  }
  await applyState(target, t);
  return entry;
}

/** Checks one thread in the target against the source: content hash, name, archived state. */
async function verifyOne(
  target: ThreadStore,
  t: StoredThread,
  hash: string,
  rollouts: readonly ThreadSegment[] | null,
): Promise<string | null> {
  const now = await targetThread(target, t.threadId);
  if (!now) return 'missing from the target';
  const dst = await historyOf(target, t.threadId);
  if (contentHash(dst.lines) !== hash) return 'its content hash differs';
  if (rollouts) {
    const theirs = ((await segmentsOf(target, t.threadId)) ?? []).map((r) => r.rolloutId).join(', ');
    if (theirs !== rollouts.map((r) => r.rolloutId).join(', ')) return `its rollouts are ${theirs} in the target`;
  }
  if (now.name !== t.name) return `its name is ${JSON.stringify(now.name)}, not ${JSON.stringify(t.name)}`;
  if ((now.archivedAt !== null) !== (t.archivedAt !== null))
    return t.archivedAt !== null ? 'it is not archived' : 'it is archived';
  return null;
}

/**
 * Copies every listed thread of `source` into `target` (null: a dry run against an empty
 * target), then verifies the copies. Threads are handled one at a time; an error stops the run
 * and a re-run continues where it stopped.
 */
export async function migrateThreads(
  source: ThreadStore,
  target: ThreadStore | null,
  options: { dryRun: boolean; onProgress?: MigrateProgress },
): Promise<MigrateReport> {
  const threads = await allThreads(source);
  const report: MigrateReport = {
    dryRun: options.dryRun,
    threads: threads.length,
    copied: 0,
    resumed: 0,
    skipped: 0,
    conflicts: 0,
    verified: null,
    mismatched: [],
    entries: [],
  };
  // A fork by reference goes after the thread whose rollout it references (oldest first usually
  // does that already); one whose base comes later waits for it. A base is a thread's id (its
  // first rollout) or a later segment's rollout id, known once that thread was handled.
  const listed = new Set(threads.map((t) => t.threadId as string));
  const rolloutOwner = new Map<string, string>();
  const done = new Set<string>();
  const waiting = new Map<string, StoredThread[]>();
  const copied: { t: StoredThread; entry: MigrateEntry; rollouts: ThreadSegment[] | null }[] = [];
  const keeps = target ? await keepsSegments(target) : true;
  const handle = async (t: StoredThread, force: boolean): Promise<void> => {
    if (done.has(t.threadId)) return;
    const src = await historyOf(source, t.threadId);
    const baseId = src.byReference ? src.base?.threadId : undefined;
    const owner = baseId === undefined ? undefined : listed.has(baseId) ? baseId : rolloutOwner.get(baseId);
    const resolved = owner !== undefined && done.has(owner);
    if (!force && baseId !== undefined && !resolved) {
      waiting.set(baseId, [...(waiting.get(baseId) ?? []), t]);
      return;
    }
    const rollouts = await segmentsOf(source, t.threadId);
    const segmented = rollouts !== null && rollouts.length > 1 ? rollouts : null;
    const segments = segmented
      ? { rollouts: segmented, kept: keeps ? null : 'the target does not keep segments' }
      : null;
    const entry = await migrateOne(source, target, t, src, options.dryRun, resolved, segments);
    copied.push({ t, entry, rollouts: segments && segments.kept === null && !entry.standalone ? segmented : null });
    report.entries.push(entry);
    if (entry.action === 'copy') report.copied += 1;
    else if (entry.action === 'resume') report.resumed += 1;
    else if (entry.action === 'skip') report.skipped += 1;
    else report.conflicts += 1;
    options.onProgress?.(report.entries.length, threads.length, entry);
    done.add(t.threadId);
    for (const r of segmented ?? []) rolloutOwner.set(r.rolloutId, t.threadId);
    for (const id of [t.threadId as string, ...(segmented ?? []).map((r) => r.rolloutId as string)]) {
      const next = waiting.get(id) ?? [];
      waiting.delete(id);
      for (const w of next) await handle(w, false);
    }
  };
  for (const t of threads) await handle(t, false);
  // References in a cycle (never written by Codex) are copied standalone.
  for (const ts of [...waiting.values()]) for (const t of ts) await handle(t, true);
  if (options.dryRun || !target) return report;
  report.verified = 0;
  for (const { t, entry, rollouts } of copied) {
    if (entry.action === 'conflict') continue;
    const problem = await verifyOne(target, t, entry.hash, rollouts);
    if (problem === null) report.verified += 1;
    else report.mismatched.push({ threadId: t.threadId, reason: problem });
  }
  return report;
}

/** The error a migration ends with when something did not verify or was left alone. */
export function migrateFailure(report: MigrateReport): ThreadStoreError | null {
  if (report.conflicts > 0)
    return new ThreadStoreError(
      'conflict',
      `${report.conflicts} thread(s) exist in the target with a different history and were left alone`,
    );
  if (report.mismatched.length > 0)
    return new ThreadStoreError(
      'internal',
      `${report.mismatched.length} thread(s) did not verify after copying: ${report.mismatched
        .slice(0, 3)
        .map((m) => `${m.threadId} (${m.reason})`)
        .join('; ')}`,
    );
  return null;
}
