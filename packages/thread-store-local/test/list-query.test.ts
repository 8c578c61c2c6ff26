import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { compareThreads, normalizeListParams, paginateSorted, threadMatchesFilters } from '@skein/thread-store-api';
import type { ListThreadsParams, StoredThread, ThreadId } from '@skein/thread-store-api';
import { countSql, filterSql } from '../src/internal/list-query.js';
import { agentMsg, meta, openStore, tmpHome, userMsg, writeRollout } from './helpers/home.js';

/** The index file the store keeps in a home. */
function indexFile(home: string): string {
  const name = readdirSync(home).find((f) => /^skein_index_\d+\.sqlite$/.test(f));
  if (!name) throw new Error(`no index in ${home}`);
  return join(home, name);
}

/** A small deterministic generator, so a failure names the case that broke. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const SOURCES: unknown[] = [
  'cli',
  'vscode',
  'exec',
  'mcp',
  { custom: 'atlas' },
  { custom: 'other' },
  { subagent: 'review' },
  { subagent: 'compact' },
  { internal: 'guardian' },
];
const PREVIEWS = ['Fix the ÄRGER bug', 'add tests', 'Straße works', 'look at 100%_done', '', 'ärger again'];

describe('listing pages computed in SQL', () => {
  it('equal paginateSorted over the same threads for every filter, sort and cursor walk', async () => {
    const home = tmpHome();
    const rand = rng(7);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
    const ids: string[] = [];
    for (let i = 0; i < 70; i++) {
      const id = `0190${String(i).padStart(4, '0')}-0000-7000-8000-${String(Math.floor(rand() * 1e12)).padStart(12, '0')}`;
      ids.push(id);
      // Few distinct times, so ties are broken by thread id.
      const ts = new Date(Date.UTC(2025, 9, 1 + Math.floor(rand() * 4), 12)).toISOString();
      const archived = rand() < 0.2;
      const day = ts.slice(0, 10).split('-').join('/');
      const rel = archived
        ? `archived_sessions/rollout-${ts.slice(0, 19).replace(/:/g, '-')}-${id}.jsonl`
        : `sessions/${day}/rollout-${ts.slice(0, 19).replace(/:/g, '-')}-${id}.jsonl`;
      const preview = pick(PREVIEWS);
      writeRollout(home, rel, [
        meta(id, { source: pick(SOURCES), model_provider: pick(['openai', 'other']), cwd: pick(['/a', '/b']) }, ts),
        ...(preview === '' ? [] : [userMsg(preview, ts)]),
      ]);
    }
    const store = openStore(home);
    for (const id of ids.slice(0, 10))
      await store.updateThreadMetadata({
        threadId: id as ThreadId,
        includeArchived: true,
        patch: { name: pick(['Ärger name', 'plain', 'MiXeD 50%']) },
      });
    const all: StoredThread[] = [];
    for (const id of ids) all.push(await store.readThread({ threadId: id as ThreadId, includeArchived: true }));

    const cases: ListThreadsParams[] = [
      {},
      { modelProviders: [] },
      { modelProviders: ['other'], sortDirection: 'asc' },
      { archived: true, modelProviders: [] },
      { allowedSources: ['subagent'], modelProviders: [] },
      { allowedSources: ['subagent_review', 'exec'], modelProviders: [], sortKey: 'updatedAt' },
      { allowedSources: [{ kind: 'custom', name: 'other' }, 'internal'], modelProviders: [] },
      { cwdFilters: ['/b'], modelProviders: [], sortKey: 'recencyAt', sortDirection: 'asc' },
      { cwdFilters: [], modelProviders: [] },
      { searchTerm: 'ärger', modelProviders: [] },
      { searchTerm: '%_', modelProviders: [] },
      { searchTerm: 'STRASSE', modelProviders: [] },
      { searchTerm: 'straße', modelProviders: [], archived: true },
    ];
    for (const base of cases) {
      // The count reads the source index instead of the rows, and must still count every filter.
      const matching = all.filter((t) => threadMatchesFilters(t, normalizeListParams(base, 'openai')));
      expect(await store.countThreads(base), JSON.stringify(base)).toBe(matching.length);
      for (const pageSize of [1, 3, 7, 100]) {
        const params = { ...base, pageSize };
        const p = normalizeListParams(params, 'openai');
        const sorted = all
          .filter((t) => threadMatchesFilters(t, p))
          .sort((a, b) => compareThreads(a, b, p.sortKey, p.sortDirection));
        const expected = (cursor: string | null): unknown => {
          const pg = paginateSorted(sorted, (t) => t, p, 'local', cursor);
          return { ids: pg.items.map((t) => t.threadId), next: pg.nextCursor, back: pg.backwardsCursor };
        };
        const actual = async (cursor: string | null): Promise<unknown> => {
          const pg = await store.listThreads({ ...params, cursor });
          return { ids: pg.items.map((t) => t.threadId), next: pg.nextCursor, back: pg.backwardsCursor };
        };
        const label = JSON.stringify(params);
        let cursor: string | null = null;
        const seen: string[] = [];
        for (let guard = 0; guard < 200; guard++) {
          const got = (await actual(cursor)) as { ids: string[]; next: string | null; back: string | null };
          expect(got, `${label} at ${String(cursor)}`).toEqual(expected(cursor));
          // Walking back from here gives paginateSorted's page too.
          if (got.back) expect(await actual(got.back), `${label} back`).toEqual(expected(got.back));
          seen.push(...got.ids);
          if (!got.next) break;
          cursor = got.next;
        }
        expect(seen, label).toEqual(sorted.map((t) => t.threadId));
      }
    }
    // Items carry the full thread, the same as readThread gives.
    const page = await store.listThreads({ modelProviders: [], pageSize: 5 });
    for (const t of page.items) expect(t).toEqual(all.find((a) => a.threadId === t.threadId));
  });

  it('a listing count sums the per-group counts, or reads the source index for a cwd filter, never a thread row', async () => {
    const home = tmpHome();
    await openStore(home).listThreads({});
    const db = new Database(indexFile(home), { readonly: true });
    try {
      const planOf = (params: ListThreadsParams): string => {
        const plan: string[] = [];
        const p = normalizeListParams(params, 'openai');
        countSql(p, filterSql(p), (sql, args) => {
          for (const row of db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...args) as { detail: string }[])
            plan.push(row.detail);
          return { n: 0 };
        });
        return plan.join('\n');
      };
      expect(planOf({})).toMatch(/thread_counts/);
      expect(planOf({})).not.toMatch(/threads_by|SCAN t\b/);
      expect(planOf({ cwdFilters: ['/a'] })).toMatch(
        /USING INDEX threads_by_source|USING COVERING INDEX threads_by_source/,
      );
    } finally {
      db.close();
    }
  });
});

describe('content search rows', () => {
  it('snippets come from the first message that matches, never spanning two messages', async () => {
    const home = tmpHome();
    const id = '0a1b2c3d-0000-4000-8000-0000000000c1';
    writeRollout(home, `sessions/2025/10/01/rollout-2025-10-01T12-00-00-${id}.jsonl`, [
      meta(id),
      userMsg('alpha message ends with foo'),
      agentMsg('bar starts the second, which has the needle'),
      agentMsg('a later Needle too'),
    ]);
    const store = openStore(home);
    const hit = await store.searchThreads({ searchTerm: 'NEEDLE', modelProviders: [] });
    expect(hit.items.map((r) => r.snippet)).toEqual(['bar starts the second, which has the needle']);
    // Text across the boundary of two messages is not a match.
    expect((await store.searchThreads({ searchTerm: 'foo bar', modelProviders: [] })).items).toEqual([]);
    expect((await store.searchThreads({ searchTerm: 'foo\nbar', modelProviders: [] })).items).toEqual([]);
  });
});
