/**
 * The same list workloads against the real `codex app-server` on the same home: cold start
 * (time until `initialize` answers when there is no state DB — Codex indexes every rollout
 * first), first page of `thread/list`, and paging through every thread, by default and with
 * `useStateDbOnly`.
 */
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { AppServerClient as OwnClient } from './app-server-client.js';
import { log, type BenchHome } from './homes.js';
import { median, timeRuns } from './stats.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Codex's `sourceKinds` for the sources the synthetic homes use; `[]` providers = all. */
const LIST_PARAMS = { sourceKinds: ['cli', 'vscode', 'exec'], modelProviders: [] as string[] };

interface Client {
  request<T>(method: string, params: unknown): Promise<T>;
  close(): Promise<void>;
}

interface ListResult {
  data: { id: string }[];
  nextCursor: string | null;
}

/**
 * Starts `codex app-server` with the interop harness's client when it is there (so both use one
 * client), else with the small one in this folder. Returns the time until `initialize` answered.
 */
async function startCodex(home: string, timeoutMs: number): Promise<{ client: Client; initializeMs: number }> {
  try {
    const mod = (await import(
      pathToFileURL(path.join(REPO, 'packages/interop-tests/src/app-server-client.ts')).href
    )) as {
      AppServerClient: { start(home: string, o: { requestTimeoutMs: number; clientName: string }): Promise<Client> };
    };
    const t0 = performance.now();
    const client = await mod.AppServerClient.start(home, { requestTimeoutMs: timeoutMs, clientName: 'skein_bench' });
    return { client, initializeMs: performance.now() - t0 };
  } catch (err) {
    if (!(err instanceof Error) || !/Cannot find module|ERR_MODULE_NOT_FOUND/.test(String(err))) throw err;
    return OwnClient.start(home);
  }
}

export interface PagingResult {
  ms: number;
  count: number;
  pages: number;
  /** Paging stopped at the time budget; `ms` and `count` cover the pages done. */
  truncated: boolean;
}

export interface CodexListResult {
  coldStartMs: number;
  coldFirstPageMs: number;
  coldStartToFirstPageMs: number;
  firstPageIds: string[];
  warmFirstPageMs: number[];
  pagingDefault: PagingResult;
  pagingStateDb: PagingResult;
  warmStartMs: number;
}

async function pageAll(client: Client, useStateDbOnly: boolean, budgetMs: number): Promise<PagingResult> {
  const t0 = performance.now();
  let cursor: string | null = null;
  let count = 0;
  let pages = 0;
  do {
    const page: ListResult = await client.request<ListResult>('thread/list', {
      ...LIST_PARAMS,
      limit: 50,
      cursor,
      ...(useStateDbOnly ? { useStateDbOnly } : {}),
    });
    count += page.data.length;
    pages++;
    cursor = page.nextCursor;
    if (cursor && performance.now() - t0 > budgetMs)
      return { ms: performance.now() - t0, count, pages, truncated: true };
  } while (cursor);
  return { ms: performance.now() - t0, count, pages, truncated: false };
}

/** The home must have no Codex state DB (resetHome) so the first start is cold. */
export async function runCodexList(home: BenchHome, pagingBudgetMs: number): Promise<CodexListResult> {
  const timeoutMs = Math.max(120_000, home.threads * 5);
  const { client, initializeMs } = await startCodex(home.dir, timeoutMs);
  try {
    const t0 = performance.now();
    const first = await client.request<ListResult>('thread/list', { ...LIST_PARAMS, limit: 50 });
    const coldFirstPageMs = performance.now() - t0;
    log(`  codex cold start ${initializeMs.toFixed(0)} ms, first page ${coldFirstPageMs.toFixed(0)} ms`);
    const warmFirstPageMs = await timeRuns(30, 3, () => client.request('thread/list', { ...LIST_PARAMS, limit: 50 }));
    log(`  codex warm first page: median ${median(warmFirstPageMs).toFixed(1)} ms`);
    const pagingDefault = await pageAll(client, false, pagingBudgetMs);
    log(
      `  codex paging (default): ${pagingDefault.ms.toFixed(0)} ms, ${pagingDefault.count} threads${pagingDefault.truncated ? ' (stopped at the time budget)' : ''}`,
    );
    const pagingStateDb = await pageAll(client, true, pagingBudgetMs);
    log(`  codex paging (useStateDbOnly): ${pagingStateDb.ms.toFixed(0)} ms, ${pagingStateDb.count} threads`);
    await client.close();
    const warm = await startCodex(home.dir, timeoutMs);
    await warm.client.close();
    log(`  codex warm start ${warm.initializeMs.toFixed(0)} ms`);
    return {
      coldStartMs: initializeMs,
      coldFirstPageMs,
      coldStartToFirstPageMs: initializeMs + coldFirstPageMs,
      firstPageIds: first.data.map((t) => t.id),
      warmFirstPageMs,
      pagingDefault,
      pagingStateDb,
      warmStartMs: warm.initializeMs,
    };
  } finally {
    await client.close();
  }
}
