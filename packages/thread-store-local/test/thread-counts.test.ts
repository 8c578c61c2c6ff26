import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { normalizeListParams, threadMatchesFilters } from '@skein/thread-store-api';
import type { CountThreadsParams, StoredThread, ThreadId } from '@skein/thread-store-api';
import { threadCountsAgree } from '../src/internal/thread-counts.js';
import { meta, openStore, tmpHome, userMsg, writeRollout } from './helpers/home.js';
import { seeded } from './helpers/proc.js';

function indexFile(home: string): string {
  const name = readdirSync(home).find((f) => /^skein_index_\d+\.sqlite$/.test(f));
  if (!name) throw new Error(`no index in ${home}`);
  return join(home, name);
}

function withIndex<T>(home: string, work: (db: Database.Database) => T): T {
  const db = new Database(indexFile(home));
  try {
    return work(db);
  } finally {
    db.close();
  }
}

const SOURCES: unknown[] = ['cli', 'vscode', 'exec', { subagent: 'review' }, { custom: 'atlas' }];
const CASES: CountThreadsParams[] = [
  {},
  { modelProviders: [] },
  { modelProviders: ['other'] },
  { archived: true, modelProviders: [] },
  { allowedSources: ['subagent_review', 'exec'], modelProviders: [] },
  { allowedSources: [{ kind: 'custom', name: 'atlas' }], modelProviders: ['openai'] },
];

/** A home of `n` threads of mixed sources and providers, some without a preview (not listed). */
function makeHome(n: number, seed: number): { home: string; ids: ThreadId[] } {
  const home = tmpHome();
  const rand = seeded(seed);
  const ids: ThreadId[] = [];
  for (let i = 0; i < n; i++) {
    const id = `0190${String(i).padStart(4, '0')}-0000-7000-8000-${String(Math.floor(rand() * 1e12)).padStart(12, '0')}`;
    ids.push(id as ThreadId);
    const ts = new Date(Date.UTC(2025, 9, 1 + (i % 5), 12, i)).toISOString();
    const day = ts.slice(0, 10).split('-').join('/');
    writeRollout(home, `sessions/${day}/rollout-${ts.slice(0, 19).replace(/:/g, '-')}-${id}.jsonl`, [
      meta(
        id,
        {
          source: SOURCES[Math.floor(rand() * SOURCES.length)],
          model_provider: rand() < 0.7 ? 'openai' : 'other',
        },
        ts,
      ),
      ...(rand() < 0.15 ? [] : [userMsg(`thread ${i}`, ts)]),
    ]);
  }
  return { home, ids };
}

/** Every count case against the threads themselves, filtered the way the in-memory store does. */
async function expectCountsMatch(store: ReturnType<typeof openStore>, ids: readonly ThreadId[]): Promise<void> {
  const all: StoredThread[] = [];
  for (const id of ids) {
    try {
      all.push(await store.readThread({ threadId: id, includeArchived: true }));
    } catch {
      // deleted
    }
  }
  for (const c of CASES) {
    const expected = all.filter((t) => threadMatchesFilters(t, normalizeListParams(c, 'openai'))).length;
    expect(await store.countThreads(c), JSON.stringify(c)).toBe(expected);
  }
}

describe('listing counts kept per group by triggers', () => {
  it('stay equal to the rows through archiving, unarchiving, renaming, deleting and new files', async () => {
    const { home, ids } = makeHome(60, 3);
    const store = openStore(home);
    await expectCountsMatch(store, ids);
    const rand = seeded(11);
    const live = new Set(ids);
    const archived = new Set<ThreadId>();
    for (let step = 0; step < 40; step++) {
      const id = ids[Math.floor(rand() * ids.length)] as ThreadId;
      if (!live.has(id)) continue;
      const r = rand();
      if (r < 0.3 && !archived.has(id)) {
        await store.archiveThread({ threadId: id });
        archived.add(id);
      } else if (r < 0.5 && archived.has(id)) {
        await store.unarchiveThread({ threadId: id });
        archived.delete(id);
      } else if (r < 0.8) {
        await store.updateThreadMetadata({ threadId: id, includeArchived: true, patch: { name: `n${step}` } });
      } else {
        await store.deleteThread({ threadId: id });
        live.delete(id);
      }
    }
    await expectCountsMatch(store, ids);
    expect(withIndex(home, threadCountsAgree)).toBe(true);
    // No group is kept for threads a listing never shows, nor an emptied one.
    const groups = withIndex(home, (db) => db.prepare('SELECT listable, has_preview, n FROM thread_counts').all()) as {
      listable: number;
      has_preview: number;
      n: number;
    }[];
    for (const g of groups) expect(g).toMatchObject({ listable: 1, has_preview: 1 });
    for (const g of groups) expect(g.n).toBeGreaterThan(0);
  });

  it('are filled from the rows when an index made before them is opened', async () => {
    const { home, ids } = makeHome(30, 5);
    const first = openStore(home);
    await first.listThreads({});
    await first.close();
    // An index as an earlier Skein of the same schema version left it: no table, no triggers.
    withIndex(home, (db) => {
      for (const t of ['thread_counts_replace', 'thread_counts_insert', 'thread_counts_delete', 'thread_counts_update'])
        db.exec(`DROP TRIGGER ${t}`);
      db.exec('DROP TABLE thread_counts');
    });
    const store = openStore(home);
    await expectCountsMatch(store, ids);
    expect(withIndex(home, threadCountsAgree)).toBe(true);
  });

  it('a wrong group is counted again by the integrity pass, without a rebuild', async () => {
    const { home, ids } = makeHome(30, 9);
    const store = openStore(home, { backgroundIntegrityCheck: false });
    const before = await store.countThreads({ modelProviders: [] });
    withIndex(home, (db) => db.exec('UPDATE thread_counts SET n = n + 5'));
    expect(withIndex(home, threadCountsAgree)).toBe(false);
    const result = await store.checkIndexIntegrity();
    expect(result).toMatchObject({ ok: true, problem: null });
    expect(await store.countThreads({ modelProviders: [] })).toBe(before);
    await expectCountsMatch(store, ids);
    expect(readdirSync(home).filter((f) => f.includes('.corrupt-'))).toEqual([]);
  });
});
