import {
  appendFileSync,
  closeSync,
  existsSync,
  openSync,
  readdirSync,
  rmSync,
  truncateSync,
  writeFileSync,
  writeSync,
  statSync,
} from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { QUICK_CHECK_MAX_BYTES, SCHEMA_VERSION } from '../src/internal/index-db.js';
import { collectHistory, newThreadId } from '@skein/thread-store-api';
import type { ListThreadsParams, RolloutItem, ThreadId } from '@skein/thread-store-api';
import type { IndexProgress, LocalThreadStore } from '../src/index.js';
import { agentMsg, meta, openStore, tmpHome, userMsg, writeRollout } from './helpers/home.js';

const INDEX = `skein_index_${SCHEMA_VERSION}.sqlite`;

async function seed(store: LocalThreadStore, n: number): Promise<ThreadId[]> {
  const ids: ThreadId[] = [];
  for (let i = 0; i < n; i++) {
    const id = newThreadId();
    ids.push(id);
    await store.createThread({
      threadId: id,
      source: i % 5 === 0 ? { kind: 'exec' } : { kind: 'cli' },
      createdAt: new Date(Date.UTC(2026, 0, 1 + (i % 7), i)),
      metadata: { cwd: i % 2 === 0 ? '/a' : '/b', modelProvider: i % 4 === 0 ? 'other' : 'openai' },
    });
    await store.appendItems({
      threadId: id,
      items: [
        userMsg(`question number ${i} about ${i % 3 === 0 ? 'sqlite' : 'jsonl'}`) as RolloutItem,
        agentMsg(`answer ${i}: ${'lorem ipsum '.repeat(i % 4)}done`) as RolloutItem,
        {
          type: 'event_msg',
          timestamp: new Date(Date.UTC(2026, 1, 1, i)).toISOString(),
          payload: { type: 'task_started', turn_id: `t${i}` },
        },
      ],
    });
    await store.shutdownThread(id);
  }
  await store.updateThreadMetadata({ threadId: ids[1] as ThreadId, patch: { name: 'named one', model: 'gpt-test' } });
  await store.updateThreadMetadata({
    threadId: ids[2] as ThreadId,
    patch: { preview: 'patched preview', advanceRecencyAt: new Date(Date.UTC(2027, 0, 1)) },
  });
  await store.updateThreadMetadata({
    threadId: ids[3] as ThreadId,
    patch: {
      gitInfo: { sha: 'deadbeef', branch: 'dev' },
      memoryMode: 'disabled',
      updatedAt: new Date(Date.UTC(2020, 5, 5, 5, 5, 5, 555)),
    },
  });
  await store.archiveThread({ threadId: ids[4] as ThreadId });
  await store.deleteThread({ threadId: ids[5] as ThreadId });
  return ids;
}

/** Every answer the index gives: list pages for each sort, reads and searches. */
async function answers(store: LocalThreadStore, ids: ThreadId[]): Promise<unknown> {
  const out: Record<string, unknown> = {};
  const listings: ListThreadsParams[] = [];
  for (const sortKey of ['createdAt', 'updatedAt', 'recencyAt'] as const)
    for (const sortDirection of ['asc', 'desc'] as const)
      listings.push({ sortKey, sortDirection, pageSize: 3, modelProviders: [] });
  listings.push(
    { archived: true },
    { cwdFilters: ['/a'] },
    { allowedSources: ['exec'], modelProviders: [] },
    { searchTerm: 'NAMED' },
  );
  for (const params of listings) {
    const pages: unknown[] = [];
    let cursor: string | null = null;
    do {
      const page = await store.listThreads({ ...params, cursor });
      pages.push(page);
      cursor = page.nextCursor;
    } while (cursor);
    out[JSON.stringify(params)] = pages;
  }
  for (const term of ['sqlite', 'lorem', 'number 1', 'zz'])
    out[`search ${term}`] = await store.searchThreads({
      searchTerm: term,
      modelProviders: [],
      allowedSources: ['cli', 'exec'],
    });
  for (const id of ids) {
    try {
      const t = await store.readThread({ threadId: id, includeArchived: true, includeHistory: true });
      out[`read ${id}`] = { ...t, history: await collectHistory(t.history) };
    } catch (e) {
      out[`read ${id}`] = (e as { code: string }).code;
    }
  }
  return out;
}

describe('the index', () => {
  it('answers identically after the index is deleted', async () => {
    const home = tmpHome();
    const a = openStore(home);
    const ids = await seed(a, 14);
    const before = await answers(a, ids);
    await a.close();
    for (const ext of ['', '-wal', '-shm']) rmSync(path.join(home, INDEX + ext), { force: true });
    const b = openStore(home);
    expect(await answers(b, ids)).toEqual(before);
  });

  for (const damage of ['garbage', 'truncated'] as const) {
    it(`detects a ${damage} index file, moves it aside and rebuilds`, async () => {
      const home = tmpHome();
      const a = openStore(home);
      const ids = await seed(a, 8);
      const before = await answers(a, ids);
      await a.close();
      const file = path.join(home, INDEX);
      for (const ext of ['-wal', '-shm']) rmSync(file + ext, { force: true });
      if (damage === 'garbage') writeFileSync(file, 'this is not a database '.repeat(500));
      else truncateSync(file, Math.floor(statSync(file).size / 3));
      const b = openStore(home);
      expect(await answers(b, ids)).toEqual(before);
      expect(readdirSync(home).some((n) => n.startsWith(`${INDEX}.corrupt-`))).toBe(true);
    });
  }

  it('rebuilds an index damaged in the middle, past the cheap checks on open, when a query meets the damage', async () => {
    const home = tmpHome();
    const a = openStore(home, { fsync: 'never' });
    const ids = await seed(a, 8);
    // Bulky, varied message text makes the index larger than QUICK_CHECK_MAX_BYTES, so opening
    // it runs only the header, version and per-table checks, not quick_check.
    let x = 0x9e3779b9;
    const word = (): string => {
      x = (Math.imul(x ^ (x >>> 15), 0x2c1b3c6d) + 0x6b43a9b5) >>> 0;
      return x.toString(36);
    };
    for (let t = 0; t < 24; t++) {
      const id = newThreadId();
      ids.push(id);
      await a.createThread({
        threadId: id,
        source: { kind: 'cli' },
        createdAt: new Date(Date.UTC(2026, 2, 1, t)),
        metadata: { cwd: '/bulk', modelProvider: 'openai' },
      });
      const items: RolloutItem[] = [];
      for (let m = 0; m < 8; m++)
        items.push(userMsg(`bulk ${t} ${Array.from({ length: 2000 }, word).join(' ')}`) as RolloutItem);
      await a.appendItems({ threadId: id, items });
      await a.shutdownThread(id);
    }
    const bulk = { searchTerm: 'bulk', modelProviders: [], pageSize: 100 };
    const before = { answers: await answers(a, ids), bulk: await a.searchThreads(bulk) };
    await a.close();
    const file = path.join(home, INDEX);
    for (const ext of ['-wal', '-shm']) rmSync(file + ext, { force: true });
    const size = statSync(file).size;
    expect(size).toBeGreaterThan(QUICK_CHECK_MAX_BYTES);
    // Zero the thread rows' overflow pages (their long previews) in the middle half of the file:
    // the header, the schema and every b-tree page that the open probe's count(*) walks stay
    // intact, so opening succeeds and the damage is first met by a listing.
    const inspect = new Database(file, { readonly: true });
    const pages = (
      inspect.prepare("SELECT pageno FROM dbstat WHERE name = 'threads' AND pagetype = 'overflow'").all() as {
        pageno: number;
      }[]
    ).map((r) => r.pageno);
    const pageSize = inspect.pragma('page_size', { simple: true }) as number;
    inspect.close();
    const middle = pages.filter((n) => n * pageSize > size / 4 && n * pageSize < (size * 3) / 4);
    expect(middle.length).toBeGreaterThan(10);
    const fd = openSync(file, 'r+');
    for (const n of middle) writeSync(fd, Buffer.alloc(pageSize), 0, pageSize, (n - 1) * pageSize);
    closeSync(fd);
    const b = openStore(home, { fsync: 'never' });
    const after = { answers: await answers(b, ids), bulk: await b.searchThreads(bulk) };
    expect(after).toEqual(before);
    expect(readdirSync(home).some((n) => n.startsWith(`${INDEX}.corrupt-`))).toBe(true);
  }, 60_000);

  it('reads only the appended tail of a grown file, and new, moved and deleted files', async () => {
    const home = tmpHome();
    const a = openStore(home);
    const ids = await seed(a, 6);
    const events: IndexProgress[] = [];
    await a.indexNow({ onProgress: (p) => events.push(p) });
    expect(events.at(-1)).toMatchObject({ phase: 'done', filesTotal: 0, bytesTotal: 0 });

    const t = await a.readThread({ threadId: ids[1] as ThreadId });
    const file = t.rolloutPath as string;
    const big = 'y'.repeat(200_000);
    const a2 = openStore(home);
    await a2.resumeThread({ threadId: ids[1] as ThreadId });
    await a2.appendItems({ threadId: ids[1] as ThreadId, items: [agentMsg(`needle ${big}`) as RolloutItem] });
    await a2.shutdownThread(ids[1] as ThreadId);
    const tail = `${JSON.stringify(agentMsg('a second needle'))}\n`;
    appendFileSync(file, tail);
    events.length = 0;
    await a.indexNow({ onProgress: (p) => events.push(p) });
    const done = events.at(-1);
    expect(done).toMatchObject({ phase: 'done', filesTotal: 1, filesDone: 1 });
    // a2 indexed its own flushes when it read; only the external line is new to a.
    expect(done?.bytesTotal).toBeLessThan(statSync(file).size);
    const hits = await a.searchThreads({ searchTerm: 'second needle', modelProviders: [] });
    expect(hits.items.map((h) => h.thread.threadId)).toEqual([ids[1]]);

    // A file moved by someone else (Codex archiving) keeps its row; a deleted file drops it.
    const dest = path.join(home, 'archived_sessions', path.basename(file));
    const { renameSync, mkdirSync } = await import('node:fs');
    mkdirSync(path.dirname(dest), { recursive: true });
    renameSync(file, dest);
    const moved = await a.listThreads({ archived: true, modelProviders: [] });
    expect(moved.items.map((x) => x.threadId)).toContain(ids[1]);
    rmSync(dest);
    await expect(a.readThread({ threadId: ids[1] as ThreadId, includeArchived: true })).rejects.toMatchObject({
      code: 'not_found',
    });
    expect((await a.searchThreads({ searchTerm: 'second needle', modelProviders: [] })).items).toEqual([]);
  });

  it('reports progress while indexing a home for the first time, and rebuild re-reads everything', async () => {
    const home = tmpHome();
    const a = openStore(home);
    await seed(a, 6);
    await a.close();
    rmSync(path.join(home, INDEX));
    const events: IndexProgress[] = [];
    const b = openStore(home, { onIndexProgress: (p) => events.push(p) });
    // Sorted by update time: the whole home is indexed before the answer (newest-created first
    // may answer from the newest day folders first; see first-page.test.ts).
    await b.listThreads({ sortKey: 'updatedAt' });
    expect(events[0]).toMatchObject({ phase: 'scanning', filesDone: 0, filesTotal: 5 });
    const last = events.at(-1) as IndexProgress;
    expect(last).toMatchObject({ phase: 'done', filesDone: 5, filesTotal: 5 });
    expect(last.bytesDone).toBe(last.bytesTotal);
    expect(last.bytesTotal).toBeGreaterThan(0);
    const again: IndexProgress[] = [];
    await b.indexNow({ rebuild: true, onProgress: (p) => again.push(p) });
    expect(again.at(-1)).toMatchObject({ phase: 'done', filesTotal: 5 });
  });

  it('a file rewritten in place (same inode, longer) is indexed again from the start', async () => {
    const home = tmpHome();
    const id = '0a1b2c3d-0000-4000-8000-0000000000e1';
    const rel = `sessions/2025/10/01/rollout-2025-10-01T12-00-00-${id}.jsonl`;
    const file = writeRollout(home, rel, [meta(id), userMsg('first version')]);
    const a = openStore(home);
    expect((await a.listThreads({})).items.map((t) => t.preview)).toEqual(['first version']);
    const ino = statSync(file).ino;
    writeFileSync(
      file,
      [meta(id), userMsg('second version, rewritten'), agentMsg('with more lines')]
        .map((l) => JSON.stringify(l))
        .join('\n') + '\n',
    );
    expect(statSync(file).ino).toBe(ino);
    expect((await a.listThreads({})).items.map((t) => t.preview)).toEqual(['second version, rewritten']);
    expect((await a.searchThreads({ searchTerm: 'first version' })).items).toEqual([]);
  });

  it('a nearly empty or foreign home works', async () => {
    const home = tmpHome();
    writeFileSync(path.join(home, 'session_index.jsonl'), 'garbage\n');
    const a = openStore(home);
    expect((await a.listThreads({})).items).toEqual([]);
    expect(existsSync(path.join(home, INDEX))).toBe(true);
  });
});
