import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { isThreadStoreError, type ThreadStore } from '@skein/thread-store-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AppServerClient,
  AppServerError,
  assertRunOk,
  makeCodexHome,
  runCodexExec,
  startMockResponsesServer,
  type CodexHome,
  type MockResponsesServer,
} from '../src/harness.js';
import { openSkeinStore, skeinHistory } from './support/skein.js';
import { turnItems, writeSkeinThread } from './support/skein-writer.js';

/**
 * One live writer per thread, across Skein and Codex: both take an exclusive BSD flock on
 * `thread-writer-locks/<id>.lock`, so neither appends while the other holds the thread.
 */
describe('writer locks shared with the real Codex CLI', () => {
  let mock: MockResponsesServer;
  let home: CodexHome;
  let store: ThreadStore;
  let cwd: string;

  beforeAll(async () => {
    mock = await startMockResponsesServer();
    home = await makeCodexHome(mock.url);
    cwd = path.join(home.path, '..', `${path.basename(home.path)}-work`);
    await mkdir(cwd, { recursive: true });
    store = openSkeinStore(home.path);
  });
  afterAll(async () => {
    await store?.close();
    await mock?.close();
    await home?.remove();
  });

  it('codex exec resume does not append while Skein holds the writer (createThread, then resumeThread)', async () => {
    const id = await writeSkeinThread(store, { cwd, turns: [{ prompt: 'held by Skein' }], keepOpen: true });
    const file = (await store.readThread({ threadId: id })).rolloutPath!;
    const bytes = await readFile(file);
    const requestsBefore = mock.requests.length;

    const refused = await runCodexExec(home, ['resume', id, 'codex tries to append'], { cwd });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('already has an active writer');
    expect(await readFile(file)).toEqual(bytes);
    expect(mock.requests.length).toBe(requestsBefore);

    // Released: Codex appends.
    await store.shutdownThread(id);
    assertRunOk(await runCodexExec(home, ['resume', id, 'codex appends now'], { cwd }));
    expect((await skeinHistory(store, id)).user).toEqual(['held by Skein', 'codex appends now']);

    // Held again through resumeThread: refused again, file unchanged.
    await store.resumeThread({ threadId: id });
    const held = await readFile(file);
    const again = await runCodexExec(home, ['resume', id, 'codex tries again'], { cwd });
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain('already has an active writer');
    expect(await readFile(file)).toEqual(held);

    // The app-server refuses to load it too, and writes nothing.
    const client = await AppServerClient.start(home, { cwd });
    try {
      const err = await client.request('thread/resume', { threadId: id }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(AppServerError);
      expect((err as AppServerError).rpcMessage).toContain('already has an active writer');
    } finally {
      await client.close();
    }
    expect(await readFile(file)).toEqual(held);

    // Skein can still append under its own writer.
    await store.appendItems({ threadId: id, items: turnItems(cwd, { prompt: 'Skein appends under its lock' }) });
    await store.shutdownThread(id);
    expect((await skeinHistory(store, id)).user).toEqual([
      'held by Skein',
      'codex appends now',
      'Skein appends under its lock',
    ]);
  });

  it('LocalThreadStore.resumeThread is a conflict while codex app-server has the thread loaded', async () => {
    // A legacy thread (written by Skein), so that either side may append to it.
    const id = await writeSkeinThread(store, { cwd, turns: [{ prompt: 'a thread Codex will hold' }] });

    const client = await AppServerClient.start(home, { cwd });
    try {
      await client.request('thread/resume', { threadId: id });
      const err = await store.resumeThread({ threadId: id }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isThreadStoreError(err)).toBe(true);
      expect((err as { code: string }).code).toBe('conflict');
      // A second codex process is refused too: the lock is the same one.
      const other = await runCodexExec(home, ['resume', id, 'from a second codex'], { cwd });
      expect(other.stderr).toContain('already has an active writer');
    } finally {
      await client.close();
    }

    // The app-server is gone and its lock with it: Skein takes the writer.
    await store.resumeThread({ threadId: id });
    await store.appendItems({ threadId: id, items: turnItems(cwd, { prompt: 'Skein after Codex let go' }) });
    await store.shutdownThread(id);
    expect((await skeinHistory(store, id)).user).toEqual(['a thread Codex will hold', 'Skein after Codex let go']);
  });
});
