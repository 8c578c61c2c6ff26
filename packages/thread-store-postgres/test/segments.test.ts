import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  itemPageFromHistory,
  loadHistoryItems,
  newThreadId,
  normalizeListItemsParams,
  normalizeListTurnsParams,
  turnPageFromHistory,
} from '@skein/thread-store-api';
import type { RolloutItem, SessionMetaItem, ThreadId } from '@skein/thread-store-api';
import { PostgresThreadStore } from '../src/index.js';
import { createTestDatabase, freshTenant, withClient } from './helpers/database.js';
import type { TestDatabase } from './helpers/database.js';
import { paginatedThread, paginatedTurn } from './helpers/forks.js';
import type { PaginatedThread } from './helpers/forks.js';
import { seed, userMessage } from './helpers/threads.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase('segments');
});
afterAll(async () => {
  await db.drop();
});

const open = (tenant: string): Promise<PostgresThreadStore> =>
  PostgresThreadStore.open({ connectionString: db.url, tenant });

/** The session_meta of a new segment of `threadId`: Codex's thread/revert, cut at `end`. */
function segmentMeta(threadId: ThreadId, base: string, end: number): SessionMetaItem {
  const at = new Date(Date.UTC(2024, 0, 16, 12, 0, 0, end)).toISOString();
  return {
    timestamp: at,
    ordinal: end,
    type: 'session_meta',
    payload: {
      session_id: threadId,
      id: threadId,
      history_base: { thread_id: base, end_ordinal_exclusive: end, end_byte_offset: 4096 },
      timestamp: at,
      cwd: '/work',
      originator: 'codex_exec',
      cli_version: '0.169.0',
      source: 'cli',
      model_provider: 'openai',
      history_mode: 'paginated',
    },
  } as SessionMetaItem;
}

/** Starts a segment of `threadId` cut at `end` of rollout `base`, appends `turns`, shuts down. */
async function revert(
  store: PostgresThreadStore,
  threadId: ThreadId,
  base: string,
  end: number,
  turns: RolloutItem[][],
): Promise<{ rolloutId: ThreadId; meta: SessionMetaItem }> {
  const rolloutId = newThreadId();
  const meta = segmentMeta(threadId, base, end);
  await store.resumeThread({ threadId, segment: { rolloutId, sessionMeta: meta } });
  await store.appendItems({ threadId, items: turns.flat() });
  await store.persistThread(threadId);
  await store.shutdownThread(threadId);
  return { rolloutId, meta };
}

/** A paginated user message without an ordinal (the store numbers it). */
const unnumbered = (turnId: string, text: string): RolloutItem => {
  const { ordinal, timestamp, ...item } = paginatedTurn(turnId, 0, text)[1] as RolloutItem;
  void ordinal;
  void timestamp;
  return item as RolloutItem;
};

const hitIds = async (s: PostgresThreadStore, searchTerm: string): Promise<string[]> =>
  (await s.searchThreads({ searchTerm, pageSize: 100 })).items.map((h) => h.thread.threadId).sort();

async function* iterate(items: readonly RolloutItem[]): AsyncGenerator<RolloutItem> {
  for (const item of items) yield item;
}

/** History, turn pages and item pages of the thread are those of `expected`, on every store given. */
async function expectThread(
  stores: readonly PostgresThreadStore[],
  threadId: ThreadId,
  expected: readonly RolloutItem[],
): Promise<void> {
  for (const s of stores) {
    expect(await loadHistoryItems(s, { threadId })).toEqual(expected);
    for (const sortDirection of ['asc', 'desc'] as const) {
      const tp = { threadId, pageSize: 2, sortDirection, itemsView: 'full' as const };
      let page = await s.listTurns(tp);
      let want = await turnPageFromHistory(iterate(expected), normalizeListTurnsParams(tp), 'postgres', false);
      expect(page).toEqual(want);
      // The second page through the cursor as well.
      if (page.nextCursor !== null) {
        const next = { ...tp, cursor: page.nextCursor };
        page = await s.listTurns(next);
        want = await turnPageFromHistory(iterate(expected), normalizeListTurnsParams(next), 'postgres', false);
        expect(page).toEqual(want);
      }
      const ip = { threadId, pageSize: 5, sortDirection };
      expect(await s.listItems(ip)).toEqual(
        await itemPageFromHistory(iterate(expected), normalizeListItemsParams(ip), 'postgres'),
      );
    }
  }
}

const turnIds = async (s: PostgresThreadStore, threadId: ThreadId): Promise<string[]> =>
  (await s.listTurns({ threadId, pageSize: 100, sortDirection: 'asc' })).turns.map((t) => t.turnId);

describe('segments of a paginated thread', () => {
  it('two reverts (a segment of a segment, then a cut into inherited items), a fork naming a segment, and a second server', async () => {
    const tenant = freshTenant();
    const s = await open(tenant);
    const other = await open(tenant);
    try {
      // Ordinals: meta 0, t0 1-4 (kestrel), t1 5-8 (ocelot), t2 9-12 (heron).
      const t = await paginatedThread(s, ['alpha kestrel', 'beta ocelot', 'gamma heron']);
      const id = t.id;
      expect(await s.listSegments({ threadId: id })).toEqual([{ rolloutId: id, historyBase: null }]);
      expect(await hitIds(s, 'heron')).toEqual([id]);

      // Revert the third turn: a segment naming the first rollout, cut at its start (9).
      const lynx = paginatedTurn('t-lynx', 10, 'delta lynx');
      const puffin = paginatedTurn('t-puffin', 14, 'zeta puffin');
      const r1 = await revert(s, id, id, 9, [lynx, puffin]);
      const h1 = [...t.history.slice(0, 9), r1.meta, ...lynx, ...puffin];
      await expectThread([s, other], id, h1);
      expect(await turnIds(s, id)).toEqual([`${id}-t0`, `${id}-t1`, 't-lynx', 't-puffin']);
      expect(await hitIds(s, 'heron')).toEqual([]);
      expect(await hitIds(other, 'lynx')).toEqual([id]);
      expect(await hitIds(s, 'kestrel')).toEqual([id]);
      const snippet = (await s.searchThreads({ searchTerm: 'puffin' })).items.map((h) => h.snippet);
      expect(snippet).toEqual(['zeta puffin']);
      // A rollout's own rows, nothing inherited.
      expect(await loadHistoryItems(s, { threadId: id, rolloutId: id })).toEqual(t.history);
      expect(await loadHistoryItems(other, { threadId: id, rolloutId: r1.rolloutId })).toEqual([
        r1.meta,
        ...lynx,
        ...puffin,
      ]);

      // A fork by reference of the segment (its history_base names the segment's rollout id).
      const f: PaginatedThread = await paginatedThread(s, ['fork osprey'], {
        of: { id: r1.rolloutId, history: h1 },
        index: 13, // the last item of the lynx turn (ordinal 13)
      });
      expect(f.history.slice(0, 14)).toEqual(h1.slice(0, 14));
      expect(f.history).toHaveLength(14 + 1 + 4);
      await expectThread([s, other], f.id, f.history);
      expect(await hitIds(s, 'lynx')).toEqual([id, f.id].sort());
      expect(await hitIds(s, 'puffin')).toEqual([id]);

      // Revert the puffin turn: a segment of the segment, cut inside its own rows (14).
      const wombat = paginatedTurn('t-wombat', 15, 'epsilon wombat');
      const r2 = await revert(s, id, r1.rolloutId, 14, [wombat]);
      const h2 = [...h1.slice(0, 14), r2.meta, ...wombat];
      await expectThread([s, other], id, h2);
      expect(await hitIds(s, 'puffin')).toEqual([]);
      expect(await hitIds(s, 'wombat')).toEqual([id]);
      expect(await hitIds(s, 'lynx')).toEqual([id, f.id].sort());

      // Revert back into the first rollout's items through the newest segment: cut at 5 of r2.
      const quail = paginatedTurn('t-quail', 6, 'eta quail');
      const r3 = await revert(other, id, r2.rolloutId, 5, [quail]);
      const h3 = [...t.history.slice(0, 5), r3.meta, ...quail];
      await expectThread([s, other], id, h3);
      expect(await turnIds(other, id)).toEqual([`${id}-t0`, 't-quail']);
      for (const term of ['ocelot', 'lynx', 'wombat', 'heron', 'puffin'])
        // The fork still inherits the first two turns and the lynx turn.
        expect(await hitIds(s, term)).toEqual(term === 'lynx' || term === 'ocelot' ? [f.id] : []);
      expect(await hitIds(s, 'quail')).toEqual([id]);
      expect(await hitIds(s, 'kestrel')).toEqual([id, f.id].sort());
      // The fork still reads through the first segment.
      await expectThread([other], f.id, f.history);

      expect(await s.listSegments({ threadId: id })).toEqual([
        { rolloutId: id, historyBase: null },
        { rolloutId: r1.rolloutId, historyBase: { threadId: id, endOrdinalExclusive: 9, endByteOffset: 4096 } },
        {
          rolloutId: r2.rolloutId,
          historyBase: { threadId: r1.rolloutId, endOrdinalExclusive: 14, endByteOffset: 4096 },
        },
        {
          rolloutId: r3.rolloutId,
          historyBase: { threadId: r2.rolloutId, endOrdinalExclusive: 5, endByteOffset: 4096 },
        },
      ]);
      expect(await other.listSegments({ threadId: f.id })).toEqual([
        {
          rolloutId: f.id,
          historyBase: { threadId: r1.rolloutId, endOrdinalExclusive: 14, endByteOffset: 1000 },
        },
      ]);

      // Listed once, by its id; the summary is the thread's.
      const listed = await other.listThreads({ pageSize: 100 });
      expect(listed.items.map((x) => x.threadId).sort()).toEqual([id, f.id].sort());
      expect(await other.countThreads({})).toBe(2);
      const read = await other.readThread({ threadId: id });
      expect(read.threadId).toBe(id);
      expect(read.preview).toBe('alpha kestrel');
      expect(read.historyMode).toBe('paginated');

      // A resumed writer appends to the newest segment, numbering on from its last ordinal.
      await s.resumeThread({ threadId: id });
      await s.appendItems({ threadId: id, items: [unnumbered('t-ibis', 'theta ibis')] });
      await s.shutdownThread(id);
      const own = await loadHistoryItems(other, { threadId: id, rolloutId: r3.rolloutId });
      expect(own).toHaveLength(1 + 4 + 1);
      expect(own[5]?.ordinal).toBe(10);
      expect(own[5]).toMatchObject({ ...unnumbered('t-ibis', 'theta ibis'), ordinal: 10 });
      expect(await hitIds(other, 'ibis')).toEqual([id]);
      expect(await loadHistoryItems(s, { threadId: id })).toEqual([...h3, ...own.slice(5)]);

      // Deleting the thread deletes every segment; the fork inherits nothing through them.
      await other.deleteThread({ threadId: id });
      await expect(s.listSegments({ threadId: id })).rejects.toMatchObject({ code: 'not_found' });
      await expect(loadHistoryItems(s, { threadId: id, rolloutId: r1.rolloutId })).rejects.toMatchObject({
        code: 'not_found',
      });
      const left = await withClient(db.url, async (c) =>
        Number(
          (
            await c.query<{ n: string }>(
              `SELECT (SELECT count(*) FROM skein_segments WHERE tenant = $1) + (SELECT count(*) FROM skein_items WHERE tenant = $1 AND thread_id = $2) AS n`,
              [tenant, id],
            )
          ).rows[0]?.n,
        ),
      );
      expect(left).toBe(0);
      expect(await loadHistoryItems(s, { threadId: f.id })).toEqual(f.history.slice(14));
      expect(await hitIds(s, 'kestrel')).toEqual([]);
      expect(await hitIds(s, 'lynx')).toEqual([]);
      expect(await hitIds(s, 'osprey')).toEqual([f.id]);
    } finally {
      await s.close();
      await other.close();
    }
  }, 60_000);

  it('a new segment is written only with its first flush of items or persistThread', async () => {
    const tenant = freshTenant();
    const s = await open(tenant);
    try {
      const t = await paginatedThread(s, ['alpha kestrel', 'beta ocelot']);
      const rolloutId = newThreadId();
      await s.resumeThread({ threadId: t.id, segment: { rolloutId, sessionMeta: segmentMeta(t.id, t.id, 5) } });
      await s.flushThread(t.id);
      await s.shutdownThread(t.id);
      expect(await s.listSegments({ threadId: t.id })).toHaveLength(1);
      expect(await loadHistoryItems(s, { threadId: t.id })).toEqual(t.history);
      // persistThread writes it with nothing after its session_meta.
      await s.resumeThread({ threadId: t.id, segment: { rolloutId, sessionMeta: segmentMeta(t.id, t.id, 5) } });
      await s.persistThread(t.id);
      expect((await s.listSegments({ threadId: t.id })).map((x) => x.rolloutId)).toEqual([t.id, rolloutId]);
      expect(await loadHistoryItems(s, { threadId: t.id })).toEqual([
        ...t.history.slice(0, 5),
        segmentMeta(t.id, t.id, 5),
      ]);
      // The live writer goes on in the segment, after its session_meta's ordinal.
      await s.appendItems({ threadId: t.id, items: [unnumbered('t-newt', 'iota newt')] });
      await s.shutdownThread(t.id);
      const own = await loadHistoryItems(s, { threadId: t.id, rolloutId });
      expect(own.map((x) => x.ordinal)).toEqual([5, 6]);
      expect(await hitIds(s, 'ocelot')).toEqual([]);
      expect(await hitIds(s, 'newt')).toEqual([t.id]);
    } finally {
      await s.close();
    }
  });

  it('refuses a bad base, a legacy thread, a rollout id in use, and reads of unknown rollouts', async () => {
    const s = await open(freshTenant());
    try {
      const t = await paginatedThread(s, ['alpha kestrel', 'beta ocelot']);
      const u = await paginatedThread(s, ['gamma heron']);
      const seg = (base: string, end: number, rolloutId: ThreadId = newThreadId()) => ({
        threadId: t.id,
        segment: { rolloutId, sessionMeta: segmentMeta(t.id, base, end) },
      });
      // A base that is another thread's rollout, or an unknown one; a cut that is not there.
      await expect(s.resumeThread(seg(u.id, 2))).rejects.toMatchObject({ code: 'invalid_request' });
      await expect(s.resumeThread(seg(newThreadId(), 2))).rejects.toMatchObject({ code: 'invalid_request' });
      await expect(s.resumeThread(seg(t.id, 99))).rejects.toMatchObject({ code: 'invalid_request' });
      // A session_meta of another thread, or without a history_base (validateNewSegment).
      await expect(
        s.resumeThread({
          threadId: t.id,
          segment: { rolloutId: newThreadId(), sessionMeta: segmentMeta(u.id, t.id, 2) },
        }),
      ).rejects.toMatchObject({ code: 'invalid_request' });
      // A rollout id that is a thread's id, or a segment's.
      await expect(s.resumeThread(seg(t.id, 5, u.id))).rejects.toMatchObject({ code: 'conflict' });
      const r = await revert(s, t.id, t.id, 5, []);
      await expect(s.resumeThread(seg(r.rolloutId, 5, r.rolloutId))).rejects.toMatchObject({ code: 'conflict' });
      // A new id that sorts before the thread's newest rollout (r, a UUIDv7 made after t.id).
      const early = '00000000-0000-7000-8000-000000000000' as ThreadId;
      await expect(s.resumeThread(seg(r.rolloutId, 5, early))).rejects.toMatchObject({ code: 'invalid_request' });
      // Nor may a new thread take a segment's id.
      await expect(
        s.createThread({
          threadId: r.rolloutId,
          source: { kind: 'cli' },
          metadata: { cwd: '/w', modelProvider: 'openai' },
        }),
      ).rejects.toMatchObject({ code: 'conflict' });
      // The refused resumes left no writer behind: a good one goes through.
      await s.resumeThread(seg(r.rolloutId, 5));
      await s.discardThread(t.id);
      // A legacy thread has no segments.
      const legacy = await seed(s, [userMessage('lambda')]);
      await expect(
        s.resumeThread({
          threadId: legacy,
          segment: { rolloutId: newThreadId(), sessionMeta: segmentMeta(legacy, legacy, 1) },
        }),
      ).rejects.toMatchObject({ code: 'invalid_request' });
      expect(await s.listSegments({ threadId: legacy })).toEqual([{ rolloutId: legacy, historyBase: null }]);
      // Reads of rollouts that are not the thread's.
      await expect(loadHistoryItems(s, { threadId: t.id, rolloutId: newThreadId() })).rejects.toMatchObject({
        code: 'not_found',
      });
      await expect(loadHistoryItems(s, { threadId: t.id, rolloutId: u.id })).rejects.toMatchObject({
        code: 'not_found',
      });
      await expect(loadHistoryItems(s, { threadId: u.id, rolloutId: r.rolloutId })).rejects.toMatchObject({
        code: 'not_found',
      });
      await expect(s.listSegments({ threadId: newThreadId() })).rejects.toMatchObject({ code: 'not_found' });
      // Archived: hidden without includeArchived, as readThread.
      await s.archiveThread({ threadId: t.id });
      await expect(s.listSegments({ threadId: t.id })).rejects.toMatchObject({ code: 'not_found' });
      expect(await s.listSegments({ threadId: t.id, includeArchived: true })).toHaveLength(2);
    } finally {
      await s.close();
    }
  });
});
