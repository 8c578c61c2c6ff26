import { mkdirSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isThreadStoreError } from '@skein/thread-store-api';
import { LocalThreadStore } from '@skein/thread-store-local';
import { record, selfMaxRssMiB } from './figures.js';
import { tempDir, threadIdOf, writeThread } from './home.js';

describe('symlinks in the home', () => {
  it('links out of the home, loops, dangling links and duplicate links never crash or leak', async () => {
    const home = tempDir('skein-rel-links-');
    const outside = tempDir('skein-rel-outside-');
    for (let n = 0; n < 3; n++) writeThread(home, n);
    const secret = writeThread(outside, 7);
    const day = path.join(home, 'sessions/2026/04/02');
    mkdirSync(day, { recursive: true });
    // A rollout outside the home, linked in; a folder outside, linked in; a loop; a dangling link.
    symlinkSync(secret, path.join(day, path.basename(secret)));
    symlinkSync(path.dirname(secret), path.join(home, 'sessions/2026/04/outside'));
    symlinkSync(path.join(home, 'sessions'), path.join(day, 'loop'));
    symlinkSync(path.join(home, 'nowhere.jsonl'), path.join(day, `rollout-2026-04-02T09-00-00-${threadIdOf(9)}.jsonl`));
    // A second name for a rollout inside the home.
    const inside = writeThread(home, 3);
    symlinkSync(inside, path.join(home, 'sessions/2026/04', path.basename(inside)));

    const store = new LocalThreadStore({ home, backgroundIntegrityCheck: false });
    let checks = 0;
    try {
      const listed = (await store.listThreads({ pageSize: 1000 })).items.map((t) => t.threadId as string).sort();
      checks += 1;
      expect(listed).toEqual([0, 1, 2, 3].map(threadIdOf).sort());
      const found = (await store.searchThreads({ searchTerm: 'question', pageSize: 1000 })).items;
      checks += 1;
      expect(found.map((r) => r.thread.threadId as string).sort()).toEqual([0, 1, 2, 3].map(threadIdOf).sort());
      for (const id of [threadIdOf(7), threadIdOf(9)]) {
        checks += 1;
        await expect(store.readThread({ threadId: id as never })).rejects.toSatisfy(
          (e) => isThreadStoreError(e) && e.code === 'not_found',
        );
      }
      checks += 1;
      await expect(store.readThreadByRolloutPath({ rolloutPath: secret })).rejects.toSatisfy(
        (e) => isThreadStoreError(e) && e.code === 'invalid_request',
      );
      await store.indexNow({ rebuild: true });
      checks += 1;
      expect((await store.listThreads({ pageSize: 1000 })).items).toHaveLength(4);
    } finally {
      await store.close();
    }
    record({
      probe: 'symlinks in the home (out of the home, loops, dangling, duplicates)',
      trials: checks,
      acknowledged: 0,
      lost: 0,
      wrong: 0,
      maxRssMiB: selfMaxRssMiB(),
    });
  });
});
