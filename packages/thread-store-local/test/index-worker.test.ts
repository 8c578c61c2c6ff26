import { appendFileSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import type { ThreadId } from '@skein/thread-store-api';
import { sweepScan } from '../src/internal/home-sync.js';
import { DamagedIndex, openIndexDb, SCHEMA_VERSION } from '../src/internal/index-db.js';
import { ThreadIndex } from '../src/internal/indexer.js';
import { HomeLayout } from '../src/internal/paths.js';
import { agentMsg, meta, openStore, tmpHome, userMsg, writeRollout } from './helpers/home.js';

/**
 * Large passes run in the index worker (index-worker.ts): off the event loop, with the same
 * rows as a pass on it.
 */

const INDEX = `skein_index_${SCHEMA_VERSION}.sqlite`;
/** Enough files for a pass to go to the worker (WORKER_MIN_FILES in indexer.ts). */
const FILES = 150;

const idOf = (i: number): ThreadId => `0a1b2c3d-0000-4000-8000-${String(i).padStart(12, '0')}` as ThreadId;
const relOf = (i: number): string =>
  `sessions/2025/10/${String(1 + (i % 28)).padStart(2, '0')}/rollout-2025-10-01T12-00-00-${idOf(i)}.jsonl`;

/** A home of FILES threads (one forked from another, one named in session_index.jsonl). */
function makeHome(): string {
  const home = tmpHome();
  for (let i = 0; i < FILES; i++) {
    const extra = i === 7 ? { forked_from_id: idOf(3) } : {};
    writeRollout(home, relOf(i), [
      meta(idOf(i), extra, `2025-10-01T12:${String(i % 60).padStart(2, '0')}:00.100Z`),
      userMsg(`question number ${i} about ${i % 2 === 0 ? 'giraffes' : 'zebras'}`),
      agentMsg(`answer ${i} ${'lorem ipsum '.repeat(20)}`),
    ]);
  }
  appendFileSync(
    path.join(home, 'session_index.jsonl'),
    `${JSON.stringify({ id: idOf(5), thread_name: 'the fifth', updated_at: '2025-10-02T00:00:00Z' })}\n`,
  );
  return home;
}

/** Gives every rollout file the same modification time, whenever it was written. */
function settleTimes(home: string): void {
  for (let i = 0; i < FILES; i++) utimesSync(path.join(home, relOf(i)), 1_800_000_000, 1_800_000_000);
}

/** Every row of the index a pass writes, in a stable order (ids of FTS rows left out). */
function dump(home: string): Record<string, unknown[]> {
  const db = new Database(path.join(home, INDEX), { readonly: true });
  try {
    return {
      files: db.prepare('SELECT * FROM files ORDER BY rel').all(),
      threads: db.prepare('SELECT * FROM threads ORDER BY thread_id').all(),
      names: db.prepare('SELECT * FROM names ORDER BY thread_id').all(),
      turns: db.prepare('SELECT * FROM turns ORDER BY rel, ordinal').all(),
      messages: db
        .prepare(
          'SELECT f.rel, f.parts, f.sum, m.text FROM message_files f JOIN messages m ON m.rowid = f.rid ORDER BY f.rel',
        )
        .all(),
      pending: db.prepare('SELECT * FROM pending_threads').all(),
    };
  } finally {
    db.close();
  }
}

function openIndex(home: string, worker: boolean): ThreadIndex {
  const layout = new HomeLayout(home);
  return new ThreadIndex(layout, openIndexDb(layout.indexDb).db, 'openai', null, worker);
}

async function closeIndex(index: ThreadIndex): Promise<void> {
  await index.whenIdle();
  await index.closeWorker();
  (index as unknown as { db: Database.Database }).db.close();
}

/** Sleeps this thread without giving the event loop a turn. */
function blockFor(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

describe('the index worker', () => {
  it('indexes while the event loop is held: the rows grow while this thread never yields', async () => {
    const home = makeHome();
    const index = openIndex(home, true);
    const watch = new Database(path.join(home, INDEX), { readonly: true });
    const count = (): number => (watch.prepare('SELECT count(*) AS n FROM files').get() as { n: number }).n;
    try {
      let indexing: () => void = () => undefined;
      const started = new Promise<void>((resolve) => (indexing = resolve));
      const pass = index.syncAll((p) => {
        if (p.phase === 'indexing' && p.filesDone >= 1) indexing();
      });
      await started;
      // From here this thread does not let its event loop turn: a pass on it would stand still.
      const at = count();
      let grew = false;
      for (let i = 0; i < 4000 && !grew; i++) {
        blockFor(5);
        grew = count() > at;
      }
      expect(grew).toBe(true);
      await pass;
      expect(index.workerPasses).toBe(1);
      expect(count()).toBe(FILES);
    } finally {
      watch.close();
      await closeIndex(index);
    }
  });

  it('writes the same rows as a pass on the event loop, for a full pass, an append and the sweep', async () => {
    const home = makeHome();
    const results: Record<string, unknown>[] = [];
    for (const worker of [false, true]) {
      rmSync(path.join(home, INDEX), { force: true });
      settleTimes(home);
      const index = openIndex(home, worker);
      const got: Record<string, unknown> = {};
      try {
        await index.syncAll();
        got.full = dump(home);
        // Every file grows: the next pass reads their tails.
        for (let i = 0; i < FILES; i++)
          appendFileSync(
            path.join(home, relOf(i)),
            `${JSON.stringify(userMsg(`appended ${i}`, '2025-10-01T13:00:00.000Z'))}\n`,
          );
        settleTimes(home);
        await index.syncAll();
        got.tails = dump(home);
        // The background sweep finds every file changed (its rows dropped) and reads it again.
        const db = new Database(path.join(home, INDEX));
        db.exec('DELETE FROM files; DELETE FROM turns; DELETE FROM message_files; DELETE FROM messages;');
        db.close();
        // The sweep's walk, in the worker and here, finds the same files.
        const layout = new HomeLayout(home);
        const here = await sweepScan(layout, (sql) => index.stmt(sql));
        expect(here?.differ).toHaveLength(FILES);
        if (worker) expect(await index.sweepScanInWorker()).toEqual(here);
        else expect(await index.sweepScanInWorker()).toBeNull();
        await index.changes.sweep(new AbortController().signal);
        got.sweep = dump(home);
        got.workerPasses = index.workerPasses;
      } finally {
        await closeIndex(index);
      }
      // The appended lines are dropped again for the other run.
      for (let i = 0; i < FILES; i++) {
        const abs = path.join(home, relOf(i));
        writeFileSync(abs, `${readFileSync(abs, 'utf8').split('\n').slice(0, 3).join('\n')}\n`);
      }
      results.push(got);
    }
    const [inline, worker] = results as [Record<string, unknown>, Record<string, unknown>];
    expect(inline.workerPasses).toBe(0);
    expect(worker.workerPasses).toBeGreaterThanOrEqual(3);
    // The files were rewritten between the runs: their change times and inodes differ.
    const strip = (d: unknown): unknown =>
      JSON.parse(JSON.stringify(d, (k, v: unknown) => (['ctime_ms', 'sum', 'ino'].includes(k) ? 0 : v)));
    for (const k of ['full', 'tails', 'sweep']) expect(strip(worker[k])).toEqual(strip(inline[k]));
    expect((inline.full as { threads: unknown[] }).threads).toHaveLength(FILES);
  });

  it('gives the same listings and search answers as a store without it', async () => {
    const home = makeHome();
    const answers: unknown[] = [];
    for (const indexWorker of [false, true]) {
      rmSync(path.join(home, INDEX), { force: true });
      const store = openStore(home, { indexWorker });
      await store.indexNow();
      answers.push({
        list: await store.listThreads({ pageSize: 200 }),
        search: await store.searchThreads({ searchTerm: 'giraffes', pageSize: 200 }),
        named: (await store.readThread({ threadId: idOf(5) })).name,
      });
      await store.close();
    }
    expect(answers[1]).toEqual(answers[0]);
    expect((answers[0] as { named: string }).named).toBe('the fifth');
  });

  it('fails the pass with the worker’s error; a damaged row is reported as a damaged index', async () => {
    const home = makeHome();
    const index = openIndex(home, true);
    try {
      await index.syncAll();
      for (let i = 0; i < FILES; i++)
        appendFileSync(path.join(home, relOf(i)), `${JSON.stringify(agentMsg(`more-${i}-end`))}\n`);
      // A row whose checksum no longer matches: reading its tail needs its saved state.
      const db = new Database(path.join(home, INDEX));
      db.prepare('UPDATE files SET sum = sum + 1 WHERE rel = ?').run(relOf(10));
      db.close();
      const err = await index.syncAll().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DamagedIndex);
      expect((err as Error).message).toContain(relOf(10));
      expect(index.usesWorker).toBe(true);
    } finally {
      await closeIndex(index);
    }
  });

  it('a store whose index is damaged moves it aside and rebuilds it, with the worker', async () => {
    const home = makeHome();
    const store = openStore(home);
    await store.indexNow();
    for (let i = 0; i < FILES; i++)
      appendFileSync(path.join(home, relOf(i)), `${JSON.stringify(agentMsg(`more-${i}-end`))}\n`);
    const db = new Database(path.join(home, INDEX));
    db.prepare('UPDATE files SET sum = sum + 1 WHERE rel = ?').run(relOf(10));
    db.close();
    const page = await store.listThreads({ pageSize: 200 });
    expect(page.items).toHaveLength(FILES);
    expect(readdirSync(home).some((n) => n.startsWith(`${INDEX}.corrupt-`))).toBe(true);
    expect((await store.searchThreads({ searchTerm: 'more-10-end' })).items.map((r) => r.thread.threadId)).toEqual([
      idOf(10),
    ]);
  });
});
