import { mkdirSync, renameSync, utimesSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import type { ThreadId } from '@skein/thread-store-api';
import { meta, openStore, tmpHome, userMsg, writeRollout } from './helpers/home.js';

// Every directory read the store makes under sessions/ or archived_sessions/, by path (node:fs
// and node:fs/promises, sync or not). Reads of thread-writer-locks/ (the stale-lock cleanup, once
// per process, as Codex does it) are not a walk of the threads and are not counted.
const reads = vi.hoisted(() => ({
  dirs: [] as string[],
  push(p: unknown): void {
    const s = String(p);
    if (/[/\\](sessions|archived_sessions)([/\\]|$)/.test(s)) this.dirs.push(s);
  },
}));
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const counted =
    <A extends unknown[], R>(f: (...a: A) => R) =>
    (...a: A): R => {
      reads.push(a[0]);
      return f(...a);
    };
  const over = {
    readdirSync: counted(fs.readdirSync),
    readdir: counted(fs.readdir),
    opendirSync: counted(fs.opendirSync),
    opendir: counted(fs.opendir),
  };
  return { ...fs, ...over, default: { ...fs, ...over } };
});
vi.mock('node:fs/promises', async (importOriginal) => {
  const fsp = await importOriginal<typeof import('node:fs/promises')>();
  const over = {
    readdir: (...a: Parameters<typeof fsp.readdir>) => {
      reads.push(a[0]);
      return fsp.readdir(...a);
    },
    opendir: (...a: Parameters<typeof fsp.opendir>) => {
      reads.push(a[0]);
      return fsp.opendir(...a);
    },
  };
  return { ...fsp, ...over, default: { ...fsp, ...over } };
});

const idN = (n: number): ThreadId => `0a1b2c3d-0000-4000-8000-${String(n).padStart(12, '0')}` as ThreadId;
const UNKNOWN = '0a1b2c3d-0000-4000-8000-999999999999' as ThreadId;
const relOf = (n: number, day: string): string =>
  `sessions/${day}/rollout-${day.replace(/\//g, '-')}T12-00-00-${idN(n)}.jsonl`;
const DAYS = ['2025/09/30', '2025/10/01', '2025/10/02'];
const LONG_AGO = new Date('2025-10-03T00:00:00Z');

/** A home of 30 threads in three day folders and two archived ones, every folder last modified long ago. */
function home(): string {
  const h = tmpHome();
  for (let n = 1; n <= 30; n++) writeRollout(h, relOf(n, DAYS[n % 3] ?? ''), [meta(idN(n)), userMsg(`thread ${n}`)]);
  mkdirSync(path.join(h, 'archived_sessions'));
  for (const n of [31, 32]) {
    const abs = writeRollout(h, relOf(n, '2025/10/01'), [meta(idN(n)), userMsg(`archived ${n}`)]);
    renameSync(abs, path.join(h, 'archived_sessions', path.basename(abs)));
  }
  ageFolders(h);
  return h;
}

/** Folders modified long ago, as in a home used for a while (a fresh mtime is read again). */
function ageFolders(h: string): void {
  for (const d of [
    'sessions',
    'sessions/2025',
    'sessions/2025/09',
    'sessions/2025/10',
    ...DAYS.map((x) => `sessions/${x}`),
  ])
    utimesSync(path.join(h, d), LONG_AGO, LONG_AGO);
  utimesSync(path.join(h, 'archived_sessions'), LONG_AGO, LONG_AGO);
}

const drain = async (it: AsyncIterable<unknown>): Promise<number> => {
  let n = 0;
  for await (const _ of it) n++;
  return n;
};

/** Every call by id, on known and unknown ids; mutations only when `mutate`. */
async function byId(store: ReturnType<typeof openStore>, mutate: boolean): Promise<void> {
  const known = idN(7);
  expect((await store.readThread({ threadId: known })).threadId).toBe(known);
  await expect(store.readThread({ threadId: UNKNOWN })).rejects.toMatchObject({ code: 'not_found' });
  expect(await drain(store.loadHistory({ threadId: known }))).toBe(2);
  await expect(drain(store.loadHistory({ threadId: UNKNOWN }))).rejects.toMatchObject({ code: 'not_found' });
  expect((await store.readThread({ threadId: idN(31), includeArchived: true })).archivedAt).not.toBeNull();
  await store.resumeThread({ threadId: known });
  await store.shutdownThread(known);
  await expect(store.resumeThread({ threadId: UNKNOWN })).rejects.toMatchObject({ code: 'not_found' });
  if (!mutate) return;
  const renamed = await store.updateThreadMetadata({ threadId: known, patch: { name: 'seven' } });
  expect(renamed.name).toBe('seven');
  await expect(store.updateThreadMetadata({ threadId: UNKNOWN, patch: { name: 'nobody' } })).rejects.toMatchObject({
    code: 'not_found',
  });
  await store.archiveThread({ threadId: known });
  expect((await store.readThread({ threadId: known, includeArchived: true })).archivedAt).not.toBeNull();
  await expect(store.archiveThread({ threadId: UNKNOWN })).rejects.toMatchObject({ code: 'not_found' });
  expect((await store.unarchiveThread({ threadId: known })).archivedAt).toBeNull();
  expect((await store.readThread({ threadId: known })).name).toBe('seven');
}

describe('calls by id never walk the home', () => {
  it('reads, resumes, updates and archives known and unknown ids without reading a folder', async () => {
    const h = home();
    const store = openStore(h, { fullSweepIntervalMs: 3_600_000 });
    expect((await store.listThreads({ modelProviders: [], pageSize: 100 })).items).toHaveLength(30);
    reads.dirs.length = 0;
    await byId(store, true);
    expect(reads.dirs).toEqual([]);
  });

  it('a store opened on an indexed home reads no folder that did not change, with or without watches', async () => {
    const h = home();
    const first = openStore(h, { fullSweepIntervalMs: 3_600_000 });
    await first.indexNow();
    await first.close();
    for (const watch of [true, false]) {
      ageFolders(h);
      const store = openStore(h, { watch, fullSweepIntervalMs: 3_600_000 });
      reads.dirs.length = 0;
      await byId(store, false);
      expect(reads.dirs).toEqual([]);
      await store.close();
    }
  });

  it('reads only the folders that changed while no store was open, and finds what changed there', async () => {
    const h = home();
    const first = openStore(h, { fullSweepIntervalMs: 3_600_000 });
    await first.indexNow();
    await first.close();
    // Behind the store's back: a new thread, and a thread archived the way Codex does it.
    writeRollout(h, relOf(40, '2025/10/02'), [meta(idN(40)), userMsg('new while closed')]);
    renameSync(
      path.join(h, relOf(3, DAYS[0] ?? '')),
      path.join(h, 'archived_sessions', path.basename(relOf(3, DAYS[0] ?? ''))),
    );
    const changed = ['sessions/2025/10/02', 'archived_sessions', `sessions/${DAYS[0]}`].map((d) => path.join(h, d));
    for (const d of changed) utimesSync(d, new Date('2025-10-04T00:00:00Z'), new Date('2025-10-04T00:00:00Z'));
    const store = openStore(h, { fullSweepIntervalMs: 3_600_000 });
    reads.dirs.length = 0;
    expect((await store.readThread({ threadId: idN(40) })).preview).toBe('new while closed');
    await expect(store.readThread({ threadId: idN(3) })).rejects.toMatchObject({ code: 'not_found' });
    expect((await store.readThread({ threadId: idN(3), includeArchived: true })).archivedAt).not.toBeNull();
    expect([...new Set(reads.dirs)].sort()).toEqual([...changed].sort());
    // The listing agrees, with no further folder read.
    reads.dirs.length = 0;
    const items = (await store.listThreads({ modelProviders: [], pageSize: 100 })).items.map((t) => t.threadId);
    expect(items).toHaveLength(30);
    expect(items).toContain(idN(40));
    expect(items).not.toContain(idN(3));
    expect(reads.dirs).toEqual([]);
  });
});
