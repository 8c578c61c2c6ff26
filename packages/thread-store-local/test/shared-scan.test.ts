import { afterEach, describe, expect, it, vi } from 'vitest';
import { HomeSync } from '../src/internal/home-sync.js';
import { meta, openStore, tmpHome, userMsg, writeRollout } from './helpers/home.js';

const ids = (n: number, from = 0): string[] =>
  Array.from({ length: n }, (_, i) => `0190${String(from + i).padStart(4, '0')}-0000-7000-8000-000000000001`);

function write(home: string, id: string, day: number): void {
  const ts = `2025-10-${String(day).padStart(2, '0')}T12:00:00.000Z`;
  writeRollout(home, `sessions/2025/10/${String(day).padStart(2, '0')}/rollout-2025-10-${day}T12-00-00-${id}.jsonl`, [
    meta(id, {}, ts),
    userMsg(`hello ${id}`, ts),
  ]);
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('calls made together on a just-opened store', () => {
  it('share one folder scan, see what was written before them, and add no watch', async () => {
    const home = tmpHome();
    for (const [i, id] of ids(6).entries()) write(home, id, 1 + (i % 3));
    const first = openStore(home);
    await first.listThreads({});
    await first.close();
    // Written while no store had the home open: only a scan finds it.
    const [late] = ids(1, 50);
    write(home, late as string, 9);

    const scans = vi.spyOn(HomeSync.prototype, 'syncChanges');
    const store = openStore(home);
    const [page, total] = await Promise.all([store.listThreads({}), store.countThreads({})]);
    expect(scans).toHaveBeenCalledTimes(1);
    expect(page.items.map((t) => t.threadId)).toContain(late);
    expect(total).toBe(7);
    // One scan is a store that may close at once: its watches wait (see armLater).
    const watcher = (store as unknown as { keeper: { watcher: { unarmed: boolean } | null } }).keeper.watcher;
    expect(watcher?.unarmed).toBe(true);

    // A call that starts after that scan finished looks again, and finds what changed since.
    const [later] = ids(1, 60);
    write(home, later as string, 10);
    expect(await store.countThreads({})).toBe(8);
    expect(scans).toHaveBeenCalledTimes(2);
  });
});
