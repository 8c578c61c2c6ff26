import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { collectHistory, newThreadId } from '@skein/thread-store-api';
import type { RolloutItem, ThreadId } from '@skein/thread-store-api';
import { LocalThreadStore } from '../src/index.js';
import { GroupCommit } from '../src/internal/group-commit.js';
import { ThreadIndex } from '../src/internal/indexer.js';
import { RolloutRecorder } from '../src/internal/recorder.js';

const root = mkdtempSync(path.join(tmpdir(), 'skein-group-commit-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

/** Counts real fsyncs (FileHandle.sync) and remembers, for each, how many had started before it ended. */
async function spyOnFsync(): Promise<{ calls: () => number; startedWhenFirstEnded: () => number | null }> {
  const probe = await open(path.join(root, 'probe'), 'w');
  const proto = Object.getPrototypeOf(probe) as { sync: () => Promise<void> };
  await probe.close();
  const original = proto.sync;
  let started = 0;
  let firstEnd: number | null = null;
  vi.spyOn(proto, 'sync').mockImplementation(async function (this: unknown) {
    started += 1;
    await original.call(this);
    firstEnd ??= started;
  });
  return { calls: () => started, startedWhenFirstEnded: () => firstEnd };
}

const msg = (text: string): RolloutItem => ({ type: 'event_msg', payload: { type: 'agent_message', message: text } });
const ask = (text: string): RolloutItem => ({ type: 'event_msg', payload: { type: 'user_message', message: text } });
const head = (id: string): Record<string, unknown> => ({ type: 'session_meta', payload: { id, cwd: '/g' } });

describe('group commit', () => {
  it('concurrent flushes of eight writers share one fsync round, and each flush resolves after its fsync', async () => {
    const dir = mkdtempSync(path.join(root, 'unit-'));
    const writers = Array.from({ length: 8 }, (_, i) =>
      RolloutRecorder.forNewFile(
        path.join(dir, `w${i}.jsonl`),
        { fsync: 'always', mode: 'legacy' },
        head(`w${i}`),
        'T',
      ),
    );
    // Created first, so the flushes below only append (no folder fsyncs in the count).
    await Promise.all(writers.map((w) => w.persist()));
    const fsync = await spyOnFsync();
    const rounds: string[][] = [];
    const group = new GroupCommit({ fsync: true, afterRound: async (paths) => void rounds.push(paths) });
    writers.forEach((w, i) =>
      w.appendItems([{ type: 'event_msg', payload: { type: 'agent_message', message: `m${i}` } }], () => 'T'),
    );
    let syncedAtResolve = -1;
    await Promise.all(
      writers.map((w) => group.flush(w).then(() => (syncedAtResolve = Math.max(syncedAtResolve, fsync.calls())))),
    );
    expect(group.rounds).toBe(1);
    expect(group.fsyncRounds).toBe(1);
    expect(group.filesSynced).toBe(8);
    expect(fsync.calls()).toBe(8);
    // All eight fsyncs were under way before the first one finished: one round, not eight.
    expect(fsync.startedWhenFirstEnded()).toBe(8);
    expect(syncedAtResolve).toBe(8);
    expect(rounds).toEqual([writers.map((w) => w.path)]);
    writers.forEach((w, i) => expect(readFileSync(w.path, 'utf8')).toContain(`"message":"m${i}"`));
    await Promise.all(writers.map((w) => w.shutdown()));
  });

  it('a flush asked for while a round runs waits for the next round; flushes one after another each get a round', async () => {
    const dir = mkdtempSync(path.join(root, 'seq-'));
    const a = RolloutRecorder.forNewFile(
      path.join(dir, 'a.jsonl'),
      { fsync: 'always', mode: 'legacy' },
      head('a'),
      'T',
    );
    await a.persist();
    const group = new GroupCommit({ fsync: true });
    for (let i = 0; i < 3; i += 1) {
      a.appendItems([msg(`a${i}`) as unknown as Record<string, unknown>], () => 'T');
      await group.flush(a);
    }
    expect(group.fsyncRounds).toBe(3);
    // The same writer twice in one round is flushed once; a writer with nothing new needs no fsync.
    a.appendItems([msg('again') as unknown as Record<string, unknown>], () => 'T');
    await Promise.all([group.flush(a), group.flush(a)]);
    expect(group.fsyncRounds).toBe(4);
    await group.flush(a);
    expect(group.rounds).toBe(5);
    expect(group.fsyncRounds).toBe(4);
    expect(readFileSync(a.path, 'utf8').match(/"message":"again"/g)).toHaveLength(1);
    await a.shutdown();
  });

  it('a writer whose write fails is rejected alone; the others in its round commit', async () => {
    const dir = mkdtempSync(path.join(root, 'fail-'));
    const ok = RolloutRecorder.forNewFile(
      path.join(dir, 'ok.jsonl'),
      { fsync: 'always', mode: 'legacy' },
      head('ok'),
      'T',
    );
    const bad = RolloutRecorder.forNewFile(
      path.join(dir, 'bad.jsonl'),
      { fsync: 'always', mode: 'legacy' },
      head('bad'),
      'T',
    );
    await Promise.all([ok.persist(), bad.persist()]);
    ok.appendItems([msg('kept') as unknown as Record<string, unknown>], () => 'T');
    bad.appendItems([msg('lost') as unknown as Record<string, unknown>], () => 'T');
    await bad.shutdown().catch(() => undefined);
    const group = new GroupCommit({ fsync: true });
    const results = await Promise.allSettled([group.flush(ok), group.flush(bad)]);
    expect(results[0].status).toBe('fulfilled');
    expect(results[1].status).toBe('rejected');
    expect(group.filesSynced).toBe(1);
    expect(readFileSync(ok.path, 'utf8')).toContain('"message":"kept"');
    await ok.shutdown();
  });

  it('LocalThreadStore: concurrent flushThread calls on different threads are one fsync round, indexed in it together from what was written', async () => {
    const home = mkdtempSync(path.join(root, 'home-'));
    const store = new LocalThreadStore({ home });
    try {
      const ids: ThreadId[] = Array.from({ length: 6 }, () => newThreadId());
      for (const threadId of ids) {
        await store.createThread({
          threadId,
          source: { kind: 'cli' },
          metadata: { cwd: '/g', modelProvider: 'openai' },
        });
        await store.appendItems({ threadId, items: [ask(`first ${threadId}`)] });
        await store.flushThread(threadId);
      }
      await store.listThreads({}); // the index exists from here on
      // The background pass over the first flushes' files may still be due: let it run first.
      await (store as unknown as { writtenIndex: { idle(): Promise<void> } }).writtenIndex.idle();
      const fsync = await spyOnFsync();
      // Every read of a file by an index pass waits for `open`: the flushes must resolve without one.
      let open!: () => void;
      const gate = new Promise<void>((resolve) => (open = resolve));
      const syncPaths = ThreadIndex.prototype.syncPaths;
      const passes = vi.spyOn(ThreadIndex.prototype, 'syncPaths').mockImplementation(async function (
        this: ThreadIndex,
        ...args: Parameters<ThreadIndex['syncPaths']>
      ) {
        await gate;
        return syncPaths.apply(this, args);
      });
      const appended = vi.spyOn(ThreadIndex.prototype, 'indexAppended');
      for (const threadId of ids) await store.appendItems({ threadId, items: [ask(`second ${threadId}`)] });
      await Promise.all(ids.map((threadId) => store.flushThread(threadId)));
      expect(fsync.calls()).toBe(6);
      expect(fsync.startedWhenFirstEnded()).toBe(6);
      // The six rollouts went into the index in the round, together, from what was written.
      expect(appended).toHaveBeenCalledTimes(1);
      expect(appended.mock.calls[0]![0]).toHaveLength(6);
      expect(appended.mock.results[0]!.value).toEqual([]);
      expect(passes).not.toHaveBeenCalled();
      open();
      passes.mockRestore();
      appended.mockRestore();
      const page = await store.listThreads({});
      expect(page.items.map((t) => t.threadId).sort()).toEqual([...ids].sort());
      for (const threadId of ids) {
        const t = await store.readThread({ threadId, includeHistory: true });
        const text = JSON.stringify(await collectHistory(t.history));
        const first = text.indexOf(`first ${threadId}`);
        expect(first).toBeGreaterThan(-1);
        expect(text.indexOf(`second ${threadId}`)).toBeGreaterThan(first);
      }
    } finally {
      await store.close();
    }
  }, 30_000);
});
