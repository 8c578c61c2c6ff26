import { InMemoryThreadStore, loadHistoryItems } from '@skein/thread-store-api';
import type { ThreadStore } from '@skein/thread-store-api';
import { describe, expect, it } from 'vitest';
import { migrateThreads } from '../src/internal/migrate.js';
import { makeSegmentedThreads, ROLLOUTS, SEGMENTED, SEGMENTED_TURNS, userTexts } from './fixture-segments.js';

const json = async (store: ThreadStore, threadId: string, rolloutId?: string) =>
  (
    await loadHistoryItems(store, {
      threadId: threadId as never,
      includeArchived: true,
      ...(rolloutId ? { rolloutId: rolloutId as never } : {}),
    })
  ).map((i) => JSON.stringify(i));

/** A store that does not keep segments: the in-memory store without `listSegments`. */
function withoutSegments(store: InMemoryThreadStore): ThreadStore {
  return new Proxy(store, {
    get(target, key, receiver) {
      if (key === 'listSegments') return undefined;
      const v = Reflect.get(target, key, receiver) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

describe('migrate: threads with several rollouts (revert segments)', () => {
  it('copies each rollout as a segment, oldest first; a fork that names a segment keeps its reference', async () => {
    const source = new InMemoryThreadStore();
    await makeSegmentedThreads(source);
    expect(await userTexts(source, SEGMENTED.reverted)).toEqual(SEGMENTED_TURNS.reverted);
    expect(await userTexts(source, SEGMENTED.fork)).toEqual(SEGMENTED_TURNS.fork);
    const target = new InMemoryThreadStore();
    const report = await migrateThreads(source, target, { dryRun: false });
    expect(report).toMatchObject({ threads: 2, copied: 2, conflicts: 0, verified: 2, mismatched: [] });
    expect(report.entries.filter((e) => e.standalone !== undefined)).toEqual([]);
    expect(report.entries.find((e) => e.threadId === SEGMENTED.reverted)?.segments).toBe(3);
    // The fork waited for the thread whose segment it names.
    expect(report.entries.map((e) => e.threadId)).toEqual([SEGMENTED.reverted, SEGMENTED.fork]);
    expect(await target.listSegments({ threadId: SEGMENTED.reverted })).toEqual(
      await source.listSegments({ threadId: SEGMENTED.reverted }),
    );
    for (const r of [SEGMENTED.reverted, ROLLOUTS.first, ROLLOUTS.second])
      expect(await json(target, SEGMENTED.reverted, r)).toEqual(await json(source, SEGMENTED.reverted, r));
    expect(await json(target, SEGMENTED.fork, SEGMENTED.fork)).toEqual(
      await json(source, SEGMENTED.fork, SEGMENTED.fork),
    );
    for (const id of Object.values(SEGMENTED)) expect(await json(target, id)).toEqual(await json(source, id));
    // Nothing left to do.
    expect(await migrateThreads(source, target, { dryRun: false })).toMatchObject({
      copied: 0,
      skipped: 2,
      verified: 2,
    });
  });

  it('an interrupted copy is completed: a missing segment is added, a short one continued', async () => {
    const source = new InMemoryThreadStore();
    await makeSegmentedThreads(source);
    const target = new InMemoryThreadStore();
    await migrateThreads(source, target, { dryRun: false });
    // The target as a copy cut short would leave it: the second segment gone, the first one short.
    const rec = target.storage.threads.get(SEGMENTED.reverted);
    if (!rec) throw new Error('no copy');
    rec.rollouts.pop();
    target.storage.segmentThreads.delete(ROLLOUTS.second);
    rec.rollouts[1]?.history.splice(3);
    const dry = await migrateThreads(source, target, { dryRun: true });
    expect(dry.entries.find((e) => e.threadId === SEGMENTED.reverted)?.action).toBe('resume');
    const again = await migrateThreads(source, target, { dryRun: false });
    expect(again).toMatchObject({ resumed: 1, skipped: 1, conflicts: 0, verified: 2 });
    for (const r of [SEGMENTED.reverted, ROLLOUTS.first, ROLLOUTS.second])
      expect(await json(target, SEGMENTED.reverted, r)).toEqual(await json(source, SEGMENTED.reverted, r));
  });

  it('a target whose rollouts differ is a conflict, left alone', async () => {
    const source = new InMemoryThreadStore();
    await makeSegmentedThreads(source);
    const target = new InMemoryThreadStore();
    await migrateThreads(source, target, { dryRun: false });
    const first = target.storage.threads.get(SEGMENTED.reverted)?.rollouts[1]?.history;
    const item = first?.[1] as { payload: { type: string } } | undefined;
    if (!item) throw new Error('no copy');
    item.payload.type = 'task_started_elsewhere';
    const again = await migrateThreads(source, target, { dryRun: false });
    // The fork reads through that rollout, so its content differs too.
    expect(again.conflicts).toBe(2);
    expect(again.entries.find((e) => e.threadId === SEGMENTED.reverted)?.reason).toContain(ROLLOUTS.first);
  });

  it('a target without segments gets the thread as one rollout with the same content, and the entry says so', async () => {
    const source = new InMemoryThreadStore();
    await makeSegmentedThreads(source);
    const inner = new InMemoryThreadStore();
    const report = await migrateThreads(source, withoutSegments(inner), { dryRun: false });
    expect(report).toMatchObject({ copied: 2, conflicts: 0, verified: 2, mismatched: [] });
    const entry = report.entries.find((e) => e.threadId === SEGMENTED.reverted);
    expect(entry?.standalone).toBe('its 3 rollouts are copied as one: the target does not keep segments');
    expect(await inner.listSegments({ threadId: SEGMENTED.reverted })).toHaveLength(1);
    for (const id of Object.values(SEGMENTED))
      expect(await userTexts(inner, id)).toEqual(SEGMENTED_TURNS[id === SEGMENTED.fork ? 'fork' : 'reverted']);
  });
});
