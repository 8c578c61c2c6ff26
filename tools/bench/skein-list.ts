/**
 * The list workloads against Skein's LocalThreadStore on one synthetic home: cold index,
 * re-index, first page, full paging, search, and incremental re-index after 1% of files grew.
 */
import type { ListThreadsParams, ThreadPage } from '@skein/thread-store-api';
import { log, newRootEntries, removeEntries, rootEntries, type BenchHome } from './homes.js';
import { median, percentile, timeRuns, timeRunsBudget } from './stats.js';
import { loadLocalStore, type LocalStore } from './store-loader.js';
import {
  appendTails,
  setManifestDirty,
  undoTails,
  SEARCH_HIT_TERM,
  SEARCH_MISS_TERM,
  SYNTH_PROVIDER,
} from './synth-home.js';

/** Every source the synthetic homes use, every provider: the whole home is listed. */
export const LIST_FILTERS: Pick<ListThreadsParams, 'allowedSources' | 'modelProviders'> = {
  allowedSources: ['cli', 'vscode', 'exec'],
  modelProviders: [],
};

export interface SkeinListResult {
  coldIndexMs: number[];
  /** Open + index + first page on a home with no index: the analogue of Codex's cold start. */
  coldStartToFirstPageMs: number;
  firstPageIds: string[];
  warmFirstPageMs: number[];
  paging50Ms: number[];
  paging100Ms: number[];
  pagedCount: number;
  /** Paging (50/page) stopped at the time budget; the times then cover `pagedCount` threads. */
  pagingTruncated: boolean;
  searchHitMs: number[];
  searchHitCount: number;
  searchMissMs: number[];
  titleFilterMs: number[];
  reindexUnchangedMs: number;
  changedFiles: number;
  incrementalMs: number;
  /** The grown threads were exactly the newest page by updatedAt after the re-index. */
  incrementalVerified: boolean;
}

async function openStore(home: string): Promise<LocalStore> {
  const LocalThreadStore = await loadLocalStore();
  return new LocalThreadStore({ home, defaultModelProvider: SYNTH_PROVIDER });
}

/** Pages through the whole home; stops after `budgetMs` (then `truncated`). */
async function pageAll(
  store: LocalStore,
  pageSize: number,
  budgetMs = Infinity,
): Promise<{ count: number; truncated: boolean }> {
  const t0 = performance.now();
  let cursor: string | null = null;
  let count = 0;
  do {
    const page: ThreadPage = await store.listThreads({ ...LIST_FILTERS, pageSize, cursor });
    count += page.items.length;
    cursor = page.nextCursor;
    if (cursor && performance.now() - t0 > budgetMs) return { count, truncated: true };
  } while (cursor);
  return { count, truncated: false };
}

export async function runSkeinList(
  home: BenchHome,
  coldRuns: number,
  pagingBudgetMs: number,
): Promise<SkeinListResult> {
  const before = rootEntries(home.dir);
  const coldIndexMs: number[] = [];
  let coldStartToFirstPageMs = Number.NaN;
  let firstPageIds: string[] = [];
  let store: LocalStore | undefined;
  for (let run = 0; run < coldRuns && (coldIndexMs[0] ?? 0) <= 30_000; run++) {
    if (store) {
      await store.close();
      removeEntries(home.dir, newRootEntries(home.dir, before));
    }
    const t0 = performance.now();
    store = await openStore(home.dir);
    await store.indexNow();
    const t1 = performance.now();
    const first = await store.listThreads({ ...LIST_FILTERS, pageSize: 50 });
    const t2 = performance.now();
    coldIndexMs.push(t1 - t0);
    log(`  skein cold index #${run + 1}: ${(t1 - t0).toFixed(0)} ms, first page ${(t2 - t1).toFixed(1)} ms`);
    if (run === 0) {
      coldStartToFirstPageMs = t2 - t0;
      firstPageIds = first.items.map((t) => t.threadId);
    }
  }
  if (!store) throw new Error('coldRuns must be at least 1');
  const s = store;

  // 20 unmeasured calls warm the JIT and SQLite's page cache; then up to 200 measured ones.
  const warmStart = performance.now();
  for (let i = 0; i < 19 && performance.now() - warmStart < 10_000; i++)
    await s.listThreads({ ...LIST_FILTERS, pageSize: 50 });
  const warmFirstPageMs = await timeRunsBudget(200, 10, 30_000, () => s.listThreads({ ...LIST_FILTERS, pageSize: 50 }));
  log(`  skein warm first page: median ${median(warmFirstPageMs).toFixed(2)} ms`);

  let pagedCount = 0;
  let pagingTruncated = false;
  const paging50Ms: number[] = [];
  for (let r = 0; r < 3; r++) {
    const t = performance.now();
    ({ count: pagedCount, truncated: pagingTruncated } = await pageAll(s, 50, pagingBudgetMs));
    paging50Ms.push(performance.now() - t);
    if ((paging50Ms[0] ?? 0) > 20_000) break; // slow enough that one run says it
  }
  const pagingRuns = paging50Ms.length;
  if (pagedCount !== home.threads && !pagingTruncated)
    log(`  WARNING: paging returned ${pagedCount} threads, expected ${home.threads}`);
  const paging100Ms = await timeRuns(pagingRuns, 0, () => pageAll(s, 100, pagingTruncated ? 1 : Infinity));
  log(`  skein paging: ${median(paging50Ms).toFixed(0)} ms (50/page), ${median(paging100Ms).toFixed(0)} ms (100/page)`);

  let searchHitCount = 0;
  const searchHitMs = await timeRunsBudget(5, 1, 20_000, async () => {
    const page = await s.searchThreads({ ...LIST_FILTERS, pageSize: 50, searchTerm: SEARCH_HIT_TERM });
    searchHitCount = page.items.length;
  });
  const searchMissMs = await timeRunsBudget(5, 1, 20_000, () =>
    s.searchThreads({ ...LIST_FILTERS, pageSize: 50, searchTerm: SEARCH_MISS_TERM }),
  );
  const titleFilterMs = await timeRunsBudget(5, 1, 20_000, () =>
    s.listThreads({ ...LIST_FILTERS, pageSize: 50, searchTerm: SEARCH_HIT_TERM }),
  );
  log(
    `  skein search: hit ${median(searchHitMs).toFixed(1)} ms (${searchHitCount} results), miss ${median(searchMissMs).toFixed(1)} ms`,
  );

  await s.close();
  let t0 = performance.now();
  let reopened = await openStore(home.dir);
  await reopened.indexNow();
  const reindexUnchangedMs = performance.now() - t0;
  await reopened.close();

  setManifestDirty(home.dir, true);
  const tails = appendTails(home.dir, home.files, 100);
  try {
    t0 = performance.now();
    reopened = await openStore(home.dir);
    await reopened.indexNow();
    const incrementalMs = performance.now() - t0;
    log(
      `  skein re-index: unchanged ${reindexUnchangedMs.toFixed(0)} ms, ${tails.length} grown ${incrementalMs.toFixed(0)} ms`,
    );
    const page = await reopened.listThreads({
      ...LIST_FILTERS,
      sortKey: 'updatedAt',
      pageSize: Math.min(1000, tails.length),
    });
    const grown = new Set(tails.map((t) => /-([0-9a-f-]{36})\.jsonl$/.exec(t.abs)?.[1]));
    const incrementalVerified =
      tails.length <= 1000 && page.items.length === tails.length && page.items.every((t) => grown.has(t.threadId));
    await reopened.close();
    return {
      coldIndexMs,
      coldStartToFirstPageMs,
      firstPageIds,
      warmFirstPageMs,
      paging50Ms,
      paging100Ms,
      pagedCount,
      pagingTruncated,
      searchHitMs,
      searchHitCount,
      searchMissMs,
      titleFilterMs,
      reindexUnchangedMs,
      changedFiles: tails.length,
      incrementalMs,
      incrementalVerified,
    };
  } finally {
    undoTails(tails);
    setManifestDirty(home.dir, false);
  }
}

export function p99(values: readonly number[]): number {
  return percentile(values, 99);
}
