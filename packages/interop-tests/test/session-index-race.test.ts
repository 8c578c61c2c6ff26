import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseThreadId, type ThreadId } from '@skein/thread-store-api';
import { describe, expect, it } from 'vitest';
import { AppServerClient, assertRunOk, runCodexExec } from '../src/harness.js';
import { useCodexFixture } from './support/codex-fixture.js';
import { writeSkeinThread } from './support/skein-writer.js';

/** Ends with a rename (39 % 5 !== 3), after a clear at 38. */
const ROUNDS = 40;

interface IndexEntry {
  id: string;
  thread_name: string;
}

/**
 * session_index.jsonl shared with a running Codex: Codex renames (appends) while Skein renames
 * clears names and deletes threads (both rewrite the file). No line Codex appended is lost.
 */
describe('session_index.jsonl with Codex renaming at the same time', () => {
  const fx = useCodexFixture();

  it('keeps every line Codex appends while Skein renames, clears and deletes', async () => {
    const { home, cwd, store } = fx;
    const codexRun = await runCodexExec(home, ['renamed by Codex'], { cwd });
    assertRunOk(codexRun);
    const codexThread = parseThreadId(codexRun.threadId);
    const skeinThread = await writeSkeinThread(store, { cwd, turns: [{ prompt: 'renamed by Skein' }] });
    const doomed: ThreadId[] = [];
    for (let i = 0; i < 6; i++) {
      const id = await writeSkeinThread(store, { cwd, turns: [{ prompt: `doomed ${i}` }] });
      await store.updateThreadMetadata({ threadId: id, patch: { name: `doomed ${i}` } });
      doomed.push(id);
    }

    const client = await AppServerClient.start(home, { cwd });
    try {
      const codexSide = (async () => {
        for (let i = 0; i < ROUNDS; i++)
          await client.request('thread/name/set', { threadId: codexThread, name: `codex ${i}` });
      })();
      const skeinSide = (async () => {
        for (let i = 0; i < ROUNDS; i++) {
          // Every fifth patch clears the name, which rewrites the file as a delete does.
          await store.updateThreadMetadata({
            threadId: skeinThread,
            patch: { name: i % 5 === 3 ? null : `skein ${i}` },
          });
          if (i % 7 === 3 && doomed.length > 0) await store.deleteThread({ threadId: doomed.pop()! });
        }
      })();
      await Promise.all([codexSide, skeinSide]);
    } finally {
      await client.close();
    }
    while (doomed.length > 0) await store.deleteThread({ threadId: doomed.pop()! });

    const entries = (await readFile(path.join(home.path, 'session_index.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as IndexEntry);
    // Every Codex rename, in order; Skein's renames since its last clear; nothing of deleted threads.
    expect(entries.filter((e) => e.id === codexThread).map((e) => e.thread_name)).toEqual(
      Array.from({ length: ROUNDS }, (_, i) => `codex ${i}`),
    );
    expect(entries.filter((e) => e.id === skeinThread).map((e) => e.thread_name)).toEqual([`skein ${ROUNDS - 1}`]);
    expect(entries.every((e) => e.id === codexThread || e.id === skeinThread)).toBe(true);

    expect((await store.readThread({ threadId: codexThread })).name).toBe(`codex ${ROUNDS - 1}`);
    expect((await store.readThread({ threadId: skeinThread })).name).toBe(`skein ${ROUNDS - 1}`);
  });

  it('Codex resolves a name Skein set, and no longer the name Skein cleared', async () => {
    const { home, cwd, store } = fx;
    const id = await writeSkeinThread(store, { cwd, turns: [{ prompt: 'to be named and cleared' }] });
    await store.updateThreadMetadata({ threadId: id, patch: { name: 'kept name' } });
    const named = await runCodexExec(home, ['resume', 'kept name', 'found by name'], { cwd });
    assertRunOk(named);
    expect(named.threadId).toBe(id);

    await store.updateThreadMetadata({ threadId: id, patch: { name: null } });
    const cleared = await runCodexExec(home, ['resume', 'kept name', 'not found by name'], { cwd });
    // Codex finds no thread by that name any more, and starts a new one instead.
    expect(cleared.threadId).toBeDefined();
    expect(cleared.threadId).not.toBe(id);
  });
});
