/**
 * Runs one benchmark phase alone, so it can be profiled:
 *
 *   node --cpu-prof --cpu-prof-dir=tools/bench/profiles --import tsx tools/bench/profile.ts PHASE HOME [THREAD_ID]
 *   node tools/bench/cpuprofile-top.mjs tools/bench/profiles/<file>.cpuprofile
 *
 * PHASE: cold-index | reindex | first-page | paging | search | history | append
 * HOME: a home made by the benchmark (e.g. $TMPDIR/skein-bench/home-10000); `history` also takes
 * the thread id (the big-thread homes hold one thread: its id is in the file name).
 */
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { ThreadId, ThreadPage } from '@skein/thread-store-api';
import { runAppend } from './append.js';
import { resetHome } from './homes.js';
import { LIST_FILTERS } from './skein-list.js';
import { loadLocalStore } from './store-loader.js';
import { SEARCH_MISS_TERM, SYNTH_PROVIDER } from './synth-home.js';

const [phase, home, threadId] = process.argv.slice(2);
if (!phase || !home) {
  console.error('usage: profile.ts PHASE HOME [THREAD_ID]');
  process.exit(2);
}
const LocalThreadStore = await loadLocalStore();
const open = () => new LocalThreadStore({ home, defaultModelProvider: SYNTH_PROVIDER });
const t0 = performance.now();
switch (phase) {
  case 'cold-index': {
    resetHome(home, new Set(['.big-10-v1', '.big-100-v1']));
    const s = open();
    await s.indexNow();
    await s.close();
    break;
  }
  case 'reindex': {
    const s = open();
    await s.indexNow();
    await s.close();
    break;
  }
  case 'first-page': {
    const s = open();
    await s.indexNow();
    // Up to 2,000 calls or 20 s, whichever comes first: enough samples either way.
    const until = performance.now() + 20_000;
    for (let i = 0; i < 2000 && performance.now() < until; i++) await s.listThreads({ ...LIST_FILTERS, pageSize: 50 });
    await s.close();
    break;
  }
  case 'paging': {
    const s = open();
    await s.indexNow();
    const until = performance.now() + 60_000;
    for (let r = 0; r < 5 && performance.now() < until; r++) {
      let cursor: string | null = null;
      do {
        const p: ThreadPage = await s.listThreads({ ...LIST_FILTERS, pageSize: 50, cursor });
        cursor = p.nextCursor;
      } while (cursor && performance.now() < until);
    }
    await s.close();
    break;
  }
  case 'search': {
    const s = open();
    await s.indexNow();
    for (let r = 0; r < 5; r++) await s.searchThreads({ ...LIST_FILTERS, pageSize: 50, searchTerm: SEARCH_MISS_TERM });
    await s.close();
    break;
  }
  case 'history': {
    if (!threadId) throw new Error('history needs the thread id');
    const s = open();
    await s.indexNow();
    for (let r = 0; r < 3; r++) {
      const t = await s.readThread({ threadId: threadId as ThreadId, includeHistory: true });
      if (t.history) for await (const item of t.history) if (item.type === '') throw new Error('empty type');
    }
    await s.close();
    break;
  }
  case 'append': {
    const dir = path.join(home, 'profile-append');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    await runAppend(dir, 200_000, 200);
    break;
  }
  default:
    throw new Error(`unknown phase ${phase}`);
}
console.error(`${phase}: ${(performance.now() - t0).toFixed(0)} ms`);
