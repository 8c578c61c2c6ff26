import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseThreadId, type ThreadId, type ThreadStore } from '@skein/thread-store-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AppServerClient,
  AppServerError,
  assertRunOk,
  defaultReply,
  makeCodexHome,
  runCodexExec,
  startMockResponsesServer,
  turnAgentTexts,
  turnUserTexts,
  type AppServerThread,
  type CodexHome,
  type MockResponsesServer,
} from '../src/harness.js';
import { listAllSkein, openSkeinStore, seconds, skeinHistory } from './support/skein.js';
import { writeSkeinThread } from './support/skein-writer.js';

/**
 * Skein writes, Codex reads: threads written through LocalThreadStore must be listed, read and
 * resumed by the real Codex CLI, and a turn Codex appends must read back through Skein.
 */
describe('Skein writes, Codex reads', () => {
  let mock: MockResponsesServer;
  let home: CodexHome;
  let store: ThreadStore;
  let cwd: string;
  const ids = {} as Record<'single' | 'multi' | 'renamed' | 'bounced' | 'archived' | 'deleted', ThreadId>;
  const prompts: Record<string, string[]> = {};

  beforeAll(async () => {
    mock = await startMockResponsesServer();
    home = await makeCodexHome(mock.url);
    cwd = path.join(home.path, '..', `${path.basename(home.path)}-work`, 'skein project');
    await mkdir(cwd, { recursive: true });
    // Legacy rollouts here; paginated-alternation.test.ts covers paginated ones.
    store = openSkeinStore(home.path, 'legacy');
    // Distinct creation times a minute apart, oldest first, so both sides must agree on order.
    const base = Date.now() - 10 * 60_000;
    const plan: [keyof typeof ids, string[]][] = [
      ['single', ['one: a single turn written by Skein']],
      ['multi', ['two: first', 'two: second', 'two: third']],
      ['renamed', ['three: to be renamed']],
      ['bounced', ['four: archived, then unarchived']],
      ['archived', ['five: archived for good']],
      ['deleted', ['six: deleted']],
    ];
    for (const [i, [key, texts]] of plan.entries()) {
      ids[key] = await writeSkeinThread(store, {
        cwd,
        createdAt: new Date(base + i * 60_000),
        turns: texts.map((prompt) => ({ prompt })),
      });
      prompts[ids[key]] = texts;
    }
  });
  afterAll(async () => {
    await store?.close();
    await mock?.close();
    await home?.remove();
  });

  async function withAppServer<T>(fn: (c: AppServerClient) => Promise<T>): Promise<T> {
    const client = await AppServerClient.start(home);
    try {
      return await fn(client);
    } finally {
      await client.close();
    }
  }

  it('Codex lists and reads every thread Skein wrote (cold: Codex indexes Skein’s files)', async () => {
    await withAppServer(async (c) => {
      // Default listing: interactive sources (Skein wrote `cli`) and the configured provider.
      const list = await c.listAllThreads();
      const expected = [ids.deleted, ids.archived, ids.bounced, ids.renamed, ids.multi, ids.single];
      expect(list.map((t) => t.id)).toEqual(expected);
      for (const t of list) {
        expect.soft(t.preview).toBe(prompts[t.id]?.[0]);
        expect.soft(t.name).toBeNull();
        expect.soft(t.source).toBe('cli');
        expect.soft(t.modelProvider).toBe('mock');
        expect.soft(t.cwd).toBe(cwd);
        expect.soft(t.historyMode).toBe('legacy');
        const skein = await store.readThread({ threadId: parseThreadId(t.id) });
        expect.soft(t.createdAt).toBe(seconds(skein.createdAt));
        expect.soft(t.path).toBe(skein.rolloutPath);
      }
      for (const id of expected) {
        const read = await c.request<{ thread: AppServerThread }>('thread/read', { threadId: id, includeTurns: true });
        expect
          .soft(
            read.thread.turns.map((t) => t.status),
            id,
          )
          .toEqual(prompts[id]?.map(() => 'completed'));
        expect.soft(read.thread.turns.map(turnUserTexts), id).toEqual(prompts[id]?.map((p) => [p]));
        expect.soft(read.thread.turns.map(turnAgentTexts), id).toEqual(prompts[id]?.map((p) => [defaultReply(p)]));
      }
    });
  });

  it('Codex sees Skein’s rename, archive, unarchive and delete (its own index already warm)', async () => {
    await store.updateThreadMetadata({ threadId: ids.renamed, patch: { name: 'Renamed by Skein ✓' } });
    await store.archiveThread({ threadId: ids.bounced });
    const back = await store.unarchiveThread({ threadId: ids.bounced });
    expect(back.archivedAt).toBeNull();
    await store.archiveThread({ threadId: ids.archived });
    await store.deleteThread({ threadId: ids.deleted });

    await withAppServer(async (c) => {
      const active = await c.listAllThreads();
      expect(active.map((t) => t.id)).toEqual([ids.bounced, ids.renamed, ids.multi, ids.single]);
      // Skein's own listing agrees, in the same order.
      expect((await listAllSkein(store)).map((t) => t.threadId)).toEqual(active.map((t) => t.id));
      expect((await listAllSkein(store, { archived: true })).map((t) => t.threadId)).toEqual([ids.archived]);
      expect(active.find((t) => t.id === ids.renamed)?.name).toBe('Renamed by Skein ✓');
      const archived = await c.listAllThreads({ archived: true });
      expect(archived.map((t) => t.id)).toEqual([ids.archived]);

      const renamed = await c.request<{ thread: AppServerThread }>('thread/read', { threadId: ids.renamed });
      expect(renamed.thread.name).toBe('Renamed by Skein ✓');
      const bounced = await c.request<{ thread: AppServerThread }>('thread/read', {
        threadId: ids.bounced,
        includeTurns: true,
      });
      expect(bounced.thread.turns.map(turnUserTexts)).toEqual([[prompts[ids.bounced]?.[0]]]);
      expect(bounced.thread.path).toContain(`${path.sep}sessions${path.sep}`);

      const gone = await c.request('thread/read', { threadId: ids.deleted }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(gone).toBeInstanceOf(AppServerError);
    });
  });

  it('codex exec resume appends a turn to Skein’s file, and Skein reads it back', async () => {
    const before = await store.readThread({ threadId: ids.multi });
    const file = before.rolloutPath!;
    const sizeBefore = (await readFile(file)).length;

    const run = await runCodexExec(home, ['resume', ids.multi, 'two: fourth, from Codex'], { cwd });
    assertRunOk(run);
    expect(run.threadId).toBe(ids.multi);
    expect(run.agentMessages).toEqual([defaultReply('two: fourth, from Codex')]);

    // Codex appended to the same file (it keeps a legacy thread legacy).
    const text = await readFile(file, 'utf8');
    expect(text.length).toBeGreaterThan(sizeBefore);
    expect(text).toContain('two: fourth, from Codex');

    const history = await skeinHistory(store, ids.multi);
    expect(history.user).toEqual([...(prompts[ids.multi] ?? []), 'two: fourth, from Codex']);
    expect(history.agent).toEqual([...(prompts[ids.multi] ?? []), 'two: fourth, from Codex'].map(defaultReply));
    expect(history.turns).toBe(4);

    const after = await store.readThread({ threadId: ids.multi });
    expect(after.historyMode).toBe('legacy');
    expect(after.preview).toBe(prompts[ids.multi]?.[0]);
    expect(after.updatedAt.getTime()).toBeGreaterThanOrEqual(before.updatedAt.getTime());

    // Skein's index noticed the append: the thread is now the most recently updated one.
    const byUpdate = await listAllSkein(store, { sortKey: 'updatedAt' });
    expect(byUpdate[0]?.threadId).toBe(ids.multi);

    // Codex reads its own appended turn after Skein's three.
    await withAppServer(async (c) => {
      const read = await c.request<{ thread: AppServerThread }>('thread/read', {
        threadId: ids.multi,
        includeTurns: true,
      });
      expect(read.thread.turns.map(turnUserTexts).flat()).toEqual(history.user);
      expect(read.thread.historyMode).toBe('legacy');
    });
  });
});
