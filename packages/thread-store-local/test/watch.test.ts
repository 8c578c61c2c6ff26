import { appendFileSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ListThreadsParams } from '@skein/thread-store-api';
import { HomeLayout } from '../src/internal/paths.js';
import { HomeWatcher } from '../src/internal/watcher.js';
import { meta, openStore, tmpHome, userMsg, writeRollout } from './helpers/home.js';

const idN = (n: number): string => `0a1b2c3d-0000-4000-8000-${String(n).padStart(12, '0')}`;
const relOf = (n: number, day = '2025/10/01'): string =>
  `sessions/${day}/rollout-${day.replace(/\//g, '-')}T12-00-00-${idN(n)}.jsonl`;
const turn = async (): Promise<void> => {
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setImmediate(r));
};
const ALL: ListThreadsParams = { modelProviders: [], pageSize: 100 };

describe('HomeWatcher', () => {
  it('reports rollout files written in watched folders, and asks for a sweep when a folder appears', async () => {
    const home = tmpHome();
    mkdirSync(path.join(home, 'sessions/2025/10/01'), { recursive: true });
    const w = new HomeWatcher(new HomeLayout(home));
    try {
      expect(w.healthy).toBe(false); // nothing watched before the first sweep
      w.beginSweep();
      for (const d of ['sessions', 'sessions/2025', 'sessions/2025/10', 'sessions/2025/10/01', 'archived_sessions'])
        w.visitDir(path.join(home, d));
      w.endSweep();
      expect(w.healthy).toBe(true);
      await turn(); // the loop's first watch is polled from the next turn on
      const file = writeRollout(home, relOf(1), [meta(idN(1))]);
      writeFileSync(path.join(home, 'sessions/2025/10/01/notes.txt'), 'not a rollout');
      await turn();
      expect([...w.takeDirty()]).toEqual([file]);
      expect(w.healthy).toBe(true);
      // archived_sessions/ did not exist: its creation in the home needs a sweep.
      mkdirSync(path.join(home, 'archived_sessions'));
      await turn();
      expect(w.healthy).toBe(false);
      w.beginSweep();
      for (const d of ['sessions', 'sessions/2025', 'sessions/2025/10', 'sessions/2025/10/01', 'archived_sessions'])
        w.visitDir(path.join(home, d));
      w.endSweep();
      expect(w.healthy).toBe(true);
      // A new day folder needs a sweep too (its files are found by walking it).
      mkdirSync(path.join(home, 'sessions/2025/10/02'));
      await turn();
      expect(w.healthy).toBe(false);
      // …and a folder the last sweep did not see is no longer watched.
      w.beginSweep();
      w.visitDir(path.join(home, 'sessions'));
      w.endSweep();
      await turn();
      writeRollout(home, relOf(9), [meta(idN(9))]);
      await turn();
      expect(w.takeDirty().size).toBe(0);
    } finally {
      w.close();
    }
    expect(w.healthy).toBe(false);
  });
});

describe('listings with folder watches', () => {
  for (const watch of [true, false]) {
    it(`see every change made behind the store's back (watch: ${String(watch)})`, async () => {
      const home = tmpHome();
      writeRollout(home, relOf(1), [meta(idN(1)), userMsg('one')]);
      // A long sweep interval: after the first listing, only the watch keeps the index fresh.
      const store = openStore(home, { watch, fullSweepIntervalMs: 3_600_000 });
      const ids = async (p: ListThreadsParams = ALL): Promise<string[]> =>
        (await store.listThreads(p)).items.map((t) => t.threadId).sort();
      expect(await ids()).toEqual([idN(1)]);

      // A new file in a watched folder, and one in a new day folder.
      writeRollout(home, relOf(2), [meta(idN(2)), userMsg('two')]);
      writeRollout(home, relOf(3, '2025/10/02'), [meta(idN(3)), userMsg('three')]);
      expect(await ids()).toEqual([idN(1), idN(2), idN(3)]);

      // Appended lines: a thread without a preview gets one.
      const file4 = writeRollout(home, relOf(4, '2025/10/02'), [meta(idN(4))]);
      expect(await ids()).toEqual([idN(1), idN(2), idN(3)]);
      appendFileSync(file4, JSON.stringify(userMsg('four, now with a preview')) + '\n');
      expect(await ids()).toEqual([idN(1), idN(2), idN(3), idN(4)]);
      expect((await store.searchThreads({ ...ALL, searchTerm: 'now with a' })).items).toHaveLength(1);

      // Moved to archived_sessions/ by someone else (as Codex archives), then deleted.
      mkdirSync(path.join(home, 'archived_sessions'), { recursive: true });
      renameSync(path.join(home, relOf(2)), path.join(home, 'archived_sessions', path.basename(relOf(2))));
      expect(await ids()).toEqual([idN(1), idN(3), idN(4)]);
      expect(await ids({ ...ALL, archived: true })).toEqual([idN(2)]);
      rmSync(path.join(home, 'archived_sessions', path.basename(relOf(2))));
      expect(await ids({ ...ALL, archived: true })).toEqual([]);

      // A whole day folder removed, then recreated with another thread.
      rmSync(path.join(home, 'sessions/2025/10/02'), { recursive: true });
      expect(await ids()).toEqual([idN(1)]);
      writeRollout(home, relOf(5, '2025/10/02'), [meta(idN(5)), userMsg('five')]);
      expect(await ids()).toEqual([idN(1), idN(5)]);
      // …and a file written into the recreated folder afterwards.
      writeRollout(home, relOf(6, '2025/10/02'), [meta(idN(6)), userMsg('six')]);
      expect(await ids()).toEqual([idN(1), idN(5), idN(6)]);

      // A name set by Codex in session_index.jsonl.
      appendFileSync(
        path.join(home, 'session_index.jsonl'),
        JSON.stringify({ id: idN(1), thread_name: 'Named elsewhere', updated_at: '2025-10-01T13:00:00Z' }) + '\n',
      );
      expect(
        (await store.listThreads({ ...ALL, searchTerm: 'named else' })).items.map((t) => t.threadId as string),
      ).toEqual([idN(1)]);
    });
  }

  it('a sweep interval of 0 walks the home on every call and still answers the same', async () => {
    const home = tmpHome();
    writeRollout(home, relOf(1), [meta(idN(1)), userMsg('one')]);
    const store = openStore(home, { fullSweepIntervalMs: 0 });
    expect((await store.listThreads(ALL)).items).toHaveLength(1);
    writeRollout(home, relOf(2), [meta(idN(2)), userMsg('two')]);
    expect((await store.listThreads(ALL)).items).toHaveLength(2);
  });

  it('rejects bad watch options', () => {
    const home = tmpHome();
    expect(() => openStore(home, { watch: 'yes' as unknown as boolean })).toThrow(/watch must be/);
    expect(() => openStore(home, { fullSweepIntervalMs: -1 })).toThrow(/fullSweepIntervalMs/);
  });
});
