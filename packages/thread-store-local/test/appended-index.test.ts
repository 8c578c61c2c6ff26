import { appendFileSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { newThreadId } from '@skein/thread-store-api';
import type { HistoryMode, RolloutItem, ThreadId } from '@skein/thread-store-api';
import { LocalThreadStore } from '../src/index.js';
import { ThreadIndex } from '../src/internal/indexer.js';
import type { AppendedRun } from '../src/internal/recorder.js';
import { HomeLayout } from '../src/internal/paths.js';
import { agentMsg, tmpHome, userMsg } from './helpers/home.js';

afterEach(() => vi.restoreAllMocks());

const create = (threadId: ThreadId, historyMode?: HistoryMode) => ({
  threadId,
  source: { kind: 'cli' as const },
  metadata: { cwd: '/w', modelProvider: 'openai' },
  ...(historyMode ? { historyMode } : {}),
});

/** One turn: its start, a question, an answer (with a non-ASCII character) and its end. */
function turn(n: number, who: string): RolloutItem[] {
  const id = newThreadId();
  return [
    { type: 'event_msg', payload: { type: 'task_started', turn_id: id } },
    userMsg(`${who} question ${n}`) as RolloutItem,
    { type: 'response_item', payload: { type: 'message', role: 'assistant', content: [] } },
    agentMsg(`${who} answer ${n} — İstanbul`) as RolloutItem,
    { type: 'event_msg', payload: { type: 'task_complete', turn_id: id } },
  ];
}

/** A `messages` row's parts, decoded (text, end offset, lowercased copy or not). */
function decodeParts(text: string, parts: string): string[] {
  const out: string[] = [];
  let at = 0;
  for (const p of parts.split(',')) {
    const [len, end, l] = p.split(':');
    out.push(`${text.slice(at, at + Number(len))}@${end}${l ? ':l' : ''}`);
    at += Number(len) + 2;
  }
  return out;
}

/**
 * What the index holds, in a form that does not depend on how it was built: file, thread and
 * turn rows whole, and each file's indexed messages in order (one FTS row per pass or per
 * round, so the rows themselves differ between a re-read and appends).
 */
function dump(home: string): Record<string, unknown> {
  const db = new Database(new HomeLayout(home).indexDb, { readonly: true });
  try {
    const messages: Record<string, string[]> = {};
    const rows = db
      .prepare('SELECT f.rel, m.text, f.parts FROM message_files f JOIN messages m ON m.rowid = f.rid ORDER BY f.rid')
      .all() as { rel: string; text: string; parts: string }[];
    for (const r of rows) (messages[r.rel] ??= []).push(...decodeParts(r.text, r.parts));
    return {
      files: db.prepare('SELECT * FROM files ORDER BY rel').all(),
      threads: db.prepare('SELECT * FROM threads ORDER BY thread_id').all(),
      turns: db.prepare('SELECT * FROM turns ORDER BY rel, ordinal').all(),
      pending: db.prepare('SELECT * FROM pending_threads').all(),
      messages,
    };
  } finally {
    db.close();
  }
}

/** The index built from the files alone: the index file removed, a new store lists. */
async function reindexed(home: string): Promise<Record<string, unknown>> {
  const file = new HomeLayout(home).indexDb;
  for (const f of [file, `${file}-wal`, `${file}-shm`]) rmSync(f, { force: true });
  const store = new LocalThreadStore({ home });
  try {
    await store.listThreads({});
  } finally {
    await store.close();
  }
  return dump(home);
}

/** Records what every indexAppended call was given and returned; `before` runs first when set. */
function watchAppended(): { runs: number; reread: string[]; before: (() => void) | null } {
  const seen = { runs: 0, reread: [] as string[], before: null as (() => void) | null };
  const original = ThreadIndex.prototype.indexAppended;
  vi.spyOn(ThreadIndex.prototype, 'indexAppended').mockImplementation(function (
    this: ThreadIndex,
    runs: readonly AppendedRun[],
  ) {
    seen.before?.();
    seen.runs += runs.length;
    const back = original.call(this, runs);
    seen.reread.push(...back);
    return back;
  });
  return seen;
}

describe('indexing what the writers appended', () => {
  it('writes the rows a re-read of the files writes: legacy and paginated rollouts, a fork, names and patches', async () => {
    const home = tmpHome();
    const seen = watchAppended();
    const store = new LocalThreadStore({ home });
    const paginated = newThreadId();
    const legacy = newThreadId();
    const fork = newThreadId();
    try {
      await store.createThread(create(paginated, 'paginated'));
      await store.createThread(create(legacy, 'legacy'));
      await store.listThreads({}); // the index exists from here on
      for (let round = 0; round < 3; round++) {
        await store.appendItems({ threadId: paginated, items: turn(round, 'paginated') });
        await store.appendItems({ threadId: legacy, items: turn(round, 'legacy') });
        await Promise.all([store.flushThread(paginated), store.flushThread(legacy)]);
      }
      // A name (a patch line and session_index.jsonl) and another patch, then more rounds.
      await store.updateThreadMetadata({ threadId: paginated, patch: { name: 'the paginated one' } });
      await store.updateThreadMetadata({ threadId: legacy, patch: { model: 'patched-model' } });
      await store.createThread({
        ...create(fork, 'paginated'),
        forkedFromId: paginated,
        forkBase: { threadId: paginated },
      });
      for (let round = 3; round < 5; round++) {
        await store.appendItems({ threadId: paginated, items: turn(round, 'paginated') });
        await store.appendItems({ threadId: legacy, items: turn(round, 'legacy') });
        await store.appendItems({ threadId: fork, items: turn(round, 'fork') });
        await Promise.all([store.flushThread(paginated), store.flushThread(legacy), store.flushThread(fork)]);
      }
      // An open turn at the end (its row is open).
      await store.appendItems({ threadId: paginated, items: turn(9, 'open').slice(0, 2) });
      await store.flushThread(paginated);
      for (const id of [paginated, legacy, fork]) await store.shutdownThread(id);
    } finally {
      await store.close();
    }
    // The rounds were indexed from what was written, none read back.
    expect(seen.runs).toBeGreaterThanOrEqual(12);
    expect(seen.reread).toEqual([]);
    const appended = dump(home);
    expect((appended.threads as unknown[]).length).toBe(3);
    expect((appended.turns as unknown[]).length).toBeGreaterThanOrEqual(13);
    expect(appended).toEqual(await reindexed(home));
  });

  it('leaves a flush of more than 8 MiB to a read of the file, with the same rows', async () => {
    const home = tmpHome();
    const seen = watchAppended();
    const store = new LocalThreadStore({ home });
    const threadId = newThreadId();
    const big = (i: number): RolloutItem => ({
      type: 'event_msg',
      payload: { type: 'agent_message', message: `part ${i} `.padEnd(64 * 1024, 'z') },
    });
    try {
      await store.createThread(create(threadId, 'legacy'));
      await store.listThreads({});
      await store.appendItems({ threadId, items: turn(0, 'small') });
      await store.flushThread(threadId);
      const runs = seen.runs;
      await store.appendItems({ threadId, items: Array.from({ length: 140 }, (_, i) => big(i)) });
      await store.flushThread(threadId);
      // The round got no run for it: the flush did not index 9 MB of lines on its path.
      expect(seen.runs).toBe(runs);
      // The next rounds are indexed from their lines again.
      await store.appendItems({ threadId, items: turn(1, 'after') });
      await store.flushThread(threadId);
      expect(seen.runs).toBe(runs + 1);
      const found = await store.searchThreads({ searchTerm: 'part 139 ' });
      expect(found.items.map((r) => r.thread.threadId)).toEqual([threadId]);
      await store.shutdownThread(threadId);
    } finally {
      await store.close();
    }
    expect(dump(home)).toEqual(await reindexed(home));
  });

  it('reads a file back when someone else appended to it after the writer', async () => {
    const home = tmpHome();
    const seen = watchAppended();
    const store = new LocalThreadStore({ home });
    const threadId = newThreadId();
    let file = '';
    try {
      await store.createThread(create(threadId, 'legacy'));
      await store.listThreads({});
      await store.appendItems({ threadId, items: turn(0, 'mine') });
      await store.flushThread(threadId);
      expect(seen.reread).toEqual([]);
      file = (await store.readThread({ threadId })).rolloutPath as string;
      // Another process appends a line between the write and the round's index work.
      seen.before = () =>
        appendFileSync(
          file,
          JSON.stringify({
            timestamp: '2025-10-01T12:00:05.000Z',
            type: 'event_msg',
            payload: { type: 'agent_message', message: 'written by someone else' },
          }) + '\n',
        );
      await store.appendItems({ threadId, items: turn(1, 'mine') });
      await store.flushThread(threadId);
      expect(seen.reread).toEqual([file]);
      seen.before = null;
      const found = await store.searchThreads({ searchTerm: 'written by someone else' });
      expect(found.items.map((r) => r.thread.threadId)).toEqual([threadId]);
      await store.discardThread(threadId);
    } finally {
      await store.close();
    }
    expect(dump(home)).toEqual(await reindexed(home));
  });

  it('continues from where a read of the file left its row, in the middle of what the writer appended', async () => {
    const home = tmpHome();
    const seen = watchAppended();
    const store = new LocalThreadStore({ home });
    const threadId = newThreadId();
    try {
      await store.createThread(create(threadId, 'paginated'));
      await store.listThreads({});
      await store.appendItems({ threadId, items: turn(0, 'first') });
      await store.flushThread(threadId);
      // A patch line is written outside a flush round; the read of the thread indexes it.
      await store.updateThreadMetadata({ threadId, patch: { name: 'named' } });
      expect((await store.readThread({ threadId })).name).toBe('named');
      const before = seen.runs;
      await store.appendItems({ threadId, items: turn(1, 'second') });
      await store.flushThread(threadId);
      expect(seen.runs).toBe(before + 1);
      expect(seen.reread).toEqual([]);
      await store.shutdownThread(threadId);
    } finally {
      await store.close();
    }
    expect(dump(home)).toEqual(await reindexed(home));
  });

  it('a listing while a round is writing a file answers from the committed rows without reading the file; after the flush it sees the items', async () => {
    const home = tmpHome();
    const store = new LocalThreadStore({ home });
    const threadId = newThreadId();
    // The round's fsync waits until the test lets it go.
    const probe = await open(path.join(home, 'probe'), 'w');
    const proto = Object.getPrototypeOf(probe) as { sync: () => Promise<void> };
    await probe.close();
    const sync = proto.sync;
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let syncing!: () => void;
    const inSync = new Promise<void>((resolve) => (syncing = resolve));
    try {
      await store.createThread(create(threadId, 'legacy'));
      await store.appendItems({ threadId, items: [userMsg('committed question') as RolloutItem] });
      await store.flushThread(threadId);
      await store.listThreads({});
      const file = (await store.readThread({ threadId })).rolloutPath as string;
      vi.spyOn(proto, 'sync').mockImplementation(async function (this: unknown) {
        syncing();
        await released;
        return sync.call(this);
      });
      const read: string[] = [];
      const syncPaths = ThreadIndex.prototype.syncPaths;
      vi.spyOn(ThreadIndex.prototype, 'syncPaths').mockImplementation(function (
        this: ThreadIndex,
        ...args: Parameters<ThreadIndex['syncPaths']>
      ) {
        read.push(...args[0]);
        return syncPaths.apply(this, args);
      });
      await store.appendItems({ threadId, items: [agentMsg('answer in flight') as RolloutItem] });
      const flushed = store.flushThread(threadId);
      await inSync; // the lines are in the file; the round waits for its fsync
      const during = await store.searchThreads({ searchTerm: 'answer in flight' });
      expect(during.items).toEqual([]);
      expect(read).not.toContain(file);
      release();
      await flushed;
      const after = await store.searchThreads({ searchTerm: 'answer in flight' });
      expect(after.items.map((r) => r.thread.threadId)).toEqual([threadId]);
      await store.shutdownThread(threadId);
    } finally {
      release();
      vi.restoreAllMocks();
      await store.close();
    }
    expect(dump(home)).toEqual(await reindexed(home));
  });
});
