import { copyFileSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import type { ThreadId } from '@skein/thread-store-api';
import { LocalThreadStore } from '../src/index.js';
import { QUICK_CHECK_MAX_BYTES, SCHEMA_VERSION } from '../src/internal/index-db.js';
import { agentMsg, meta, openStore, tmpHome, userMsg, writeRollout } from './helpers/home.js';
import { seeded } from './helpers/proc.js';

/**
 * Damage inside row data of a large index (past the size checked on open): bytes changed in a
 * thread's cwd pass SQLite's structural checks, so only the row checksums can tell.
 */

const THREADS = 250;
const INDEX = `skein_index_${SCHEMA_VERSION}.sqlite`;
const idOf = (n: number): ThreadId => `0d000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}` as ThreadId;
const cwdOf = (n: number): string => `/work/project-${String(n).padStart(5, '0')}`;
const VICTIM = 7;
/** The same length, so the record format stays valid and only the value changes. */
const FORGED = '/work/project-99999';

/**
 * A home whose index is larger than QUICK_CHECK_MAX_BYTES, indexed once and closed. Made anew
 * for each test: a copied home has new inodes and times, so its index would be re-read from the
 * files (and the damage overwritten) before any check could see it.
 */
async function largeIndexedHome(): Promise<string> {
  const home = tmpHome();
  const r = seeded(7);
  const words = ['alpha', 'branch', 'compile', 'deploy', 'error', 'fixture', 'gradient', 'handler', 'index'];
  const text = (n: number): string =>
    Array.from({ length: n }, () => `${words[Math.floor(r() * words.length)]}${Math.floor(r() * 1e6)}`).join(' ');
  for (let n = 0; n < THREADS; n++) {
    const id = idOf(n);
    const day = String(1 + (n % 28)).padStart(2, '0');
    writeRollout(home, `sessions/2026/03/${day}/rollout-2026-03-${day}T08-00-00-${id}.jsonl`, [
      meta(id, { cwd: cwdOf(n) }, `2026-03-${day}T08:00:00.${String(n % 1000).padStart(3, '0')}Z`),
      userMsg(`task ${n}: ${text(40)}`),
      agentMsg(text(500)),
      userMsg(text(300)),
    ]);
  }
  const store = new LocalThreadStore({ home, backgroundIntegrityCheck: false });
  await store.indexNow();
  await store.close();
  expect(statSync(path.join(home, INDEX)).size).toBeGreaterThan(QUICK_CHECK_MAX_BYTES);
  return home;
}

/** Replaces every occurrence of the victim's cwd in the index file with a forged one. */
function forgeCwd(home: string): void {
  const file = path.join(home, INDEX);
  const bytes = readFileSync(file);
  const from = Buffer.from(cwdOf(VICTIM));
  const to = Buffer.from(FORGED);
  let hits = 0;
  for (let at = bytes.indexOf(from); at >= 0; at = bytes.indexOf(from, at + 1)) {
    to.copy(bytes, at);
    hits += 1;
  }
  expect(hits).toBeGreaterThan(0);
  writeFileSync(file, bytes);
}

const movedAside = (home: string): string[] => readdirSync(home).filter((f) => f.startsWith(`${INDEX}.corrupt-`));

describe('damage inside row data of a large index', () => {
  it('a read meets the damaged row, the index is rebuilt and the answer is right', async () => {
    const home = await largeIndexedHome();
    const pristine = path.join(home, 'pristine.sqlite');
    copyFileSync(path.join(home, INDEX), pristine);
    forgeCwd(home);
    const store = openStore(home, { backgroundIntegrityCheck: false });
    expect((await store.readThread({ threadId: idOf(VICTIM) })).cwd).toBe(cwdOf(VICTIM));
    expect(movedAside(home)).toHaveLength(1);
    // Every thread is back after the rebuild.
    const listed = await store.listThreads({ pageSize: 1000, cwdFilters: [cwdOf(VICTIM), cwdOf(VICTIM + 1)] });
    expect(listed.items.map((t) => t.threadId).sort()).toEqual([idOf(VICTIM), idOf(VICTIM + 1)]);
    expect(existsSync(pristine)).toBe(true);
  }, 120_000);

  it('checkIndexIntegrity finds a row no answer reads, and the rebuild restores it', async () => {
    const home = await largeIndexedHome();
    forgeCwd(home);
    const store = openStore(home, { backgroundIntegrityCheck: false });
    // The forged cwd column hides the thread from its own cwd filter: a wrong answer.
    expect((await store.listThreads({ cwdFilters: [cwdOf(VICTIM)] })).items).toEqual([]);
    const result = await store.checkIndexIntegrity();
    expect(result.ok).toBe(false);
    expect(result.problem).toMatch(/checksum/);
    expect(movedAside(home)).toHaveLength(1);
    const after = await store.listThreads({ cwdFilters: [cwdOf(VICTIM)] });
    expect(after.items.map((t) => t.threadId)).toEqual([idOf(VICTIM)]);
    // A healthy index passes, with every row checked.
    const again = await store.checkIndexIntegrity();
    expect(again).toMatchObject({ ok: true, problem: null });
    expect(again.rowsChecked).toBeGreaterThanOrEqual(THREADS * 3);
  }, 120_000);

  it('the background check runs by itself after the first listing and repairs the index', async () => {
    const home = await largeIndexedHome();
    forgeCwd(home);
    const store = openStore(home);
    await store.listThreads({ pageSize: 5 });
    // The check runs off the request path; wait for it to move the damaged file aside.
    for (let i = 0; i < 600 && movedAside(home).length === 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(movedAside(home)).toHaveLength(1);
    const after = await store.listThreads({ cwdFilters: [cwdOf(VICTIM)] });
    expect(after.items.map((t) => t.threadId)).toEqual([idOf(VICTIM)]);
  }, 120_000);

  it('checkIndexIntegrity also finds damage to the file structure (quick_check on a worker thread)', async () => {
    const home = await largeIndexedHome();
    const file = path.join(home, INDEX);
    // Without free pages, every page the garbage lands on is in use (commit boundaries vary with
    // timing, and damage to a page on the free list is no damage quick_check could see).
    const db = new Database(file);
    db.exec('VACUUM');
    db.close();
    expect(statSync(file).size).toBeGreaterThan(QUICK_CHECK_MAX_BYTES);
    const bytes = readFileSync(file);
    // Garbage over a few pages in the last quarter of the file (FTS data: no row checksum covers it).
    const at = Math.floor(bytes.length * 0.8) - (Math.floor(bytes.length * 0.8) % 4096);
    for (let i = 0; i < 3 * 4096; i++) bytes[at + i] = (i * 131 + 7) & 0xff;
    writeFileSync(file, bytes);
    const store = openStore(home, { backgroundIntegrityCheck: false });
    const result = await store.checkIndexIntegrity();
    expect(result.ok).toBe(false);
    expect(movedAside(home)).toHaveLength(1);
    // Rebuilt from the files: every thread is listed, and the new index passes.
    expect((await store.listThreads({ pageSize: 1000 })).items).toHaveLength(THREADS);
    expect((await store.checkIndexIntegrity()).ok).toBe(true);
  }, 120_000);
});
