import path from 'node:path';
import type { StoredThread } from '@skein/thread-store-api';
import { buildThread, stateFromJson, threadFromJson, threadToJson } from './file-state.js';
import type { FileState } from './file-state.js';
import { DamagedIndex } from './index-db.js';
import { parseRolloutFileName, plainRolloutPath } from './paths.js';
import { sourceColumns } from './list-query.js';
import { sumOf, THREAD_SUM_COLUMNS } from './row-sum.js';
import type { NameEntry } from './session-index.js';
import { stateOf } from './file-rows.js';
import { yieldTurn } from './index-context.js';
import type { FileRow, IndexContext } from './index-context.js';

/**
 * The `threads` rows: each built from the winning file of its thread (see pickWinner) and the
 * thread's session_index.jsonl name, rebuilt whenever one of its files or its name changes.
 */

/** A full pass commits its rebuilds and yields to the event loop after this much work (ms). */
export const REBUILD_SLICE_MS = 50;

/** A `threads` row read for an answer must hash to its `sum`, else the index is damaged. */
export function checkThreadRow(row: object): void {
  const r = row as Record<string, unknown>;
  if (sumOf(r, THREAD_SUM_COLUMNS) !== r.sum)
    throw new DamagedIndex(`the index row of thread ${String(r.thread_id)} does not match its checksum`);
}

/**
 * A file row's saved state. The states a pass just wrote are reused while their JSON is still
 * what the row holds (parsing them back was a tenth of a cold index).
 */
export function parseState(ctx: IndexContext, row: FileRow): FileState {
  const json = stateOf(ctx, row);
  const fresh = ctx.passStates.get(row.rel);
  return fresh && fresh.json === json ? fresh.state : stateFromJson(json);
}

/**
 * The file a thread is read from and appended to: active before archived, then the newest
 * segment (rollout ids are UUIDv7, so they sort by creation; a thread's first file has the
 * thread id, older than any later segment), then plain before compressed.
 */
export function pickWinner(rows: FileRow[]): FileRow | undefined {
  const seg = (r: FileRow): string => parseRolloutFileName(path.basename(r.rel))?.rolloutId ?? '';
  return [...rows].sort(
    (a, b) =>
      a.archived - b.archived ||
      seg(b).localeCompare(seg(a)) ||
      a.zst - b.zst ||
      b.listable - a.listable ||
      b.mtime_ms - a.mtime_ms,
  )[0];
}

/** The row of a thread's first rollout file (the one named with the thread id, not a later segment's). */
export function firstRolloutRow(ctx: IndexContext, threadId: string): FileRow | undefined {
  return pickWinner(
    filesOfThread(ctx, threadId).filter((r) => parseRolloutFileName(path.basename(r.rel))?.rolloutId === threadId),
  );
}

/** Every file row of a thread. */
export function filesOfThread(ctx: IndexContext, threadId: string): FileRow[] {
  return ctx.stmt('SELECT * FROM files WHERE thread_id = ?').all(threadId) as FileRow[];
}

/** The thread's session_index.jsonl entry as last indexed. */
export function nameEntry(ctx: IndexContext, threadId: string): NameEntry | undefined {
  const r = ctx.stmt('SELECT name, at_ms FROM names WHERE thread_id = ?').get(threadId) as
    { name: string; at_ms: number } | undefined;
  return r ? { name: r.name, atMs: r.at_ms } : undefined;
}

/** The thread as its file `row` shows it (with its indexed name unless `ignoreIndexName`). */
export function threadForFile(
  ctx: IndexContext,
  row: FileRow,
  saved?: FileState,
  ignoreIndexName = false,
): StoredThread {
  const state = saved ?? parseState(ctx, row);
  const name = ignoreIndexName ? undefined : nameEntry(ctx, row.thread_id);
  let parentPreview: string | null = null;
  if (state.historyBase) {
    const p = ctx.stmt('SELECT data FROM threads WHERE thread_id = ?').get(state.historyBase.threadId) as
      { data: string } | undefined;
    if (p) parentPreview = threadFromJson(p.data).preview || null;
  }
  const parsed = parseRolloutFileName(path.basename(row.rel));
  const thread = buildThread(
    state,
    {
      rolloutPath: plainRolloutPath(ctx.layout.abs(row.rel)),
      fileNameThreadId: parsed?.threadId ?? row.thread_id,
      fileNameTime: parsed?.stampAsUtc ?? null,
      archived: row.archived === 1,
      mtimeMs: row.mtime_ms,
      ctimeMs: row.ctime_ms,
    },
    { defaultModelProvider: ctx.defaultModelProvider, indexName: name, parentPreview },
  );
  if (parsed && parsed.rolloutId !== parsed.threadId) segmentIdentity(ctx, row.thread_id, thread);
  return thread;
}

/**
 * A thread read from a later segment (a revert's new rollout) keeps what its first rollout says
 * of it: what it was forked from, and its preview (the first user message, which a segment
 * inherits; when a revert removed every message, the segment's own first one). Its creation time
 * is the segment's, as Codex 0.169 reports a reverted thread.
 */
function segmentIdentity(ctx: IndexContext, threadId: string, thread: StoredThread): void {
  const first = firstRolloutRow(ctx, threadId);
  if (!first) return;
  const f = threadForFile(ctx, first, undefined, true);
  thread.forkedFromId = f.forkedFromId;
  if (f.preview !== '') thread.preview = f.preview;
}

/**
 * Writes one thread's row from its files (or deletes it when none is left). A fork is put on
 * `deferForks` instead when given, to be built after its base.
 */
function rebuildThread(ctx: IndexContext, id: string, deferForks: string[] | null): void {
  const w = pickWinner(filesOfThread(ctx, id));
  if (!w) {
    ctx.stmt('DELETE FROM threads WHERE thread_id = ?').run(id);
    ctx.stmt('DELETE FROM pending_threads WHERE thread_id = ?').run(id);
    return;
  }
  const state = parseState(ctx, w);
  if (deferForks && state.historyBase) {
    deferForks.push(id);
    return;
  }
  ctx.stmt('DELETE FROM pending_threads WHERE thread_id = ?').run(id);
  writeThreadRow(ctx, id, w, state);
}

/**
 * Writes the row of thread `id` from its winning file `w` and that file's state. Only the
 * columns that changed are written (an append changes the times and the thread's data, not
 * where it lives, its source or its name: their indexes are left alone), and nothing when none did.
 */
export function writeThreadRow(ctx: IndexContext, id: string, w: FileRow, state: FileState): void {
  const t = threadForFile(ctx, w, state);
  const [sourceKind, subagentKind, sourceKey] = sourceColumns(t.source);
  const row: Record<string, unknown> = {
    thread_id: id,
    rel: w.rel,
    archived: w.archived,
    listable: w.listable,
    has_preview: t.preview === '' ? 0 : 1,
    model_provider: t.modelProvider,
    cwd: t.cwd,
    created_ms: t.createdAt.getTime(),
    updated_ms: t.updatedAt.getTime(),
    recency_ms: t.recencyAt.getTime(),
    archived_ms: t.archivedAt?.getTime() ?? null,
    name: t.name,
    preview: t.preview,
    source: JSON.stringify(t.source),
    source_kind: sourceKind,
    subagent_kind: subagentKind,
    source_key: sourceKey,
    name_lc: (t.name ?? '').toLowerCase(),
    preview_lc: t.preview.toLowerCase(),
    data: threadToJson(t),
  };
  row.sum = sumOf(row, THREAD_SUM_COLUMNS);
  const old = ctx.stmt('SELECT * FROM threads WHERE thread_id = ?').get(id) as Record<string, unknown> | undefined;
  if (old) {
    const changed = [...THREAD_SUM_COLUMNS, 'sum'].filter((c) => old[c] !== row[c]);
    if (changed.length === 0) return;
    ctx
      .stmt(`UPDATE threads SET ${changed.map((c) => `${c} = @${c}`).join(', ')} WHERE thread_id = @thread_id`)
      .run(Object.fromEntries([...changed, 'thread_id'].map((c) => [c, row[c]])));
    return;
  }
  ctx
    .stmt(
      `INSERT OR REPLACE INTO threads (${[...THREAD_SUM_COLUMNS, 'sum'].join(', ')})
         VALUES (${[...THREAD_SUM_COLUMNS, 'sum'].map((c) => `@${c}`).join(', ')})`,
    )
    .run(row);
}

/** Rebuilds these threads' rows in one transaction, bases before forks. */
export function rebuildThreads(ctx: IndexContext, ids: Iterable<string>): void {
  const all = [...new Set(ids)];
  if (all.length === 0) {
    ctx.passStates.clear();
    return;
  }
  const forks: string[] = [];
  try {
    ctx.db
      .transaction(() => {
        for (const id of all) rebuildThread(ctx, id, forks);
        for (const id of forks) rebuildThread(ctx, id, null);
      })
      .immediate();
  } finally {
    ctx.passStates.clear();
  }
}

/**
 * `rebuildThreads` for a full pass: the same rows, bases before forks, but committed a slice
 * at a time, yielding to the event loop after each slice's `sliceMs` of work, so
 * rebuilding every thread of a large home does not hold the event loop in one step.
 */
export async function rebuildThreadsInSlices(
  ctx: IndexContext,
  ids: Iterable<string>,
  sliceMs = REBUILD_SLICE_MS,
): Promise<void> {
  const forks: string[] = [];
  try {
    for (const [list, deferTo] of [
      [[...new Set(ids)], forks],
      [forks, null],
    ] as const) {
      let next = 0;
      while (next < list.length) {
        const sliceStart = performance.now();
        ctx.db
          .transaction(() => {
            do rebuildThread(ctx, list[next++]!, deferTo);
            while (next < list.length && (next % 64 !== 0 || performance.now() - sliceStart < sliceMs));
          })
          .immediate();
        if (next < list.length) await yieldTurn();
      }
    }
  } finally {
    ctx.passStates.clear();
  }
}
