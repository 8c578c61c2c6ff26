import { statSync, utimesSync } from 'node:fs';
import path from 'node:path';
import { LocalThreadStore } from '@skein/thread-store-local';
import { parseThreadId, type ThreadId } from '@skein/thread-store-api';
import { describe, expect, it } from 'vitest';
import { assertRunOk, MOCK_PROVIDER_ID, runCodexExec } from '../src/harness.js';
import { useCodexFixture } from './support/codex-fixture.js';
import { ALL_SKEIN_SOURCES, listAllSkein, skeinHistory } from './support/skein.js';

/**
 * Freshness without walking: the real Codex CLI writes threads while a Skein store is open and
 * while none is, and the next Skein call sees every change. The background sweep is kept out of
 * it (a one-hour interval), so what is seen comes from the watch, folder mtimes and Codex's
 * state_5.sqlite; each answer is checked against a store that indexes the home from scratch.
 */
describe('Codex writes while a Skein store is open, and while none is', () => {
  const fx = useCodexFixture(0);
  const everything = { allowedSources: ALL_SKEIN_SOURCES, modelProviders: [] } as const;
  const open = (): LocalThreadStore =>
    new LocalThreadStore({
      home: fx.home.path,
      defaultModelProvider: MOCK_PROVIDER_ID,
      fullSweepIntervalMs: 3_600_000,
    });
  const exec = async (args: string[]): Promise<ThreadId> => {
    const run = await runCodexExec(fx.home, args, { cwd: fx.cwd });
    assertRunOk(run);
    return parseThreadId(run.threadId);
  };
  /** What a store that indexes everything from scratch lists (by updated_at, newest first). */
  const truth = async (): Promise<string[]> => {
    const s = open();
    try {
      await s.indexNow({ rebuild: true });
      return (await listAllSkein(s, { ...everything, sortKey: 'updatedAt' })).map(
        (t) => `${t.threadId}@${t.updatedAt.getTime()}`,
      );
    } finally {
      await s.close();
    }
  };
  const listed = async (s: LocalThreadStore): Promise<string[]> =>
    (await listAllSkein(s, { ...everything, sortKey: 'updatedAt' })).map(
      (t) => `${t.threadId}@${t.updatedAt.getTime()}`,
    );
  const userTexts = async (s: LocalThreadStore, id: ThreadId): Promise<string[]> => (await skeinHistory(s, id)).user;

  it('sees new threads and appended turns on the next call', async () => {
    const a = await exec(['thread a, first turn']);
    const store = open();
    try {
      expect(await listed(store)).toEqual(await truth());

      // While the store is open: a new thread, and a turn appended to an existing one.
      const b = await exec(['thread b, first turn']);
      await exec(['resume', a, 'thread a, second turn']);
      expect(await userTexts(store, a)).toEqual(['thread a, first turn', 'thread a, second turn']);
      expect((await store.readThread({ threadId: b })).preview).toBe('thread b, first turn');
      expect(await listed(store)).toEqual(await truth());

      // Thread b and its folder look old to the index: b is no longer among the recently
      // modified files, and the folder's recorded mtime is one it will keep.
      const bFile = (await store.readThread({ threadId: b })).rolloutPath as string;
      const longAgo = new Date('2025-01-01T00:00:00Z');
      utimesSync(bFile, longAgo, longAgo);
      utimesSync(path.dirname(bFile), longAgo, longAgo);
      await store.close();
      const indexer = open();
      await indexer.indexNow();
      await indexer.close();

      // While no store is open, a turn appended to thread b: its folder does not change, only
      // Codex's state DB tells.
      await exec(['resume', b, 'thread b, second turn']);
      expect(statSync(path.dirname(bFile)).mtimeMs).toBe(longAgo.getTime());
      const again = open();
      try {
        const after = await listed(again);
        expect(after.map((x) => x.split('@')[0])[0]).toBe(b);
        expect(await userTexts(again, b)).toEqual(['thread b, first turn', 'thread b, second turn']);
        expect(after).toEqual(await truth());
      } finally {
        await again.close();
      }

      // While no store is open, a new thread: its folder changed.
      const c = await exec(['thread c, first turn']);
      const third = open();
      try {
        const after = await listed(third);
        expect(after.map((x) => x.split('@')[0])[0]).toBe(c);
        expect(after).toEqual(await truth());
      } finally {
        await third.close();
      }
    } finally {
      await store.close();
    }
  });
});
