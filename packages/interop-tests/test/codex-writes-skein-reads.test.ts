import {
  isThreadStoreError,
  parseThreadId,
  type StoredThread,
  type StoredThreadItem,
  type StoredTurn,
  type ThreadStore,
} from '@skein/thread-store-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ALL_SOURCE_KINDS,
  AppServerClient,
  assertRunOk,
  makeCodexHome,
  runCodexExec,
  startMockResponsesServer,
  turnAgentTexts,
  turnUserTexts,
  type AppServerThread,
  type AppServerTurn,
  type CodexHome,
  type MockResponsesServer,
} from '../src/harness.js';
import { generateCodexThreads, type CodexThreadSet } from './support/codex-threads.js';
import { ALL_SKEIN_SOURCES, listAllSkein, openSkeinStore, seconds, skeinHistory, v2Source } from './support/skein.js';

/**
 * Codex writes, Skein reads: threads made by the real Codex CLI, listed and read by real
 * `codex app-server` and by LocalThreadStore over the same home, must agree.
 */
describe('Codex writes, Skein reads', () => {
  let mock: MockResponsesServer;
  let home: CodexHome;
  let set: CodexThreadSet;
  let client: AppServerClient;
  let store: ThreadStore;
  let codexActive: AppServerThread[];
  let codexArchived: AppServerThread[];
  const codexRead = new Map<string, AppServerThread>();

  beforeAll(async () => {
    mock = await startMockResponsesServer();
    home = await makeCodexHome(mock.url);
    set = await generateCodexThreads(home);
    client = await AppServerClient.start(home);
    const all = { sourceKinds: ALL_SOURCE_KINDS, modelProviders: [] };
    codexActive = await client.listAllThreads(all);
    codexArchived = await client.listAllThreads({ ...all, archived: true });
    for (const t of [...codexActive, ...codexArchived]) {
      const read = await client.request<{ thread: AppServerThread }>('thread/read', {
        threadId: t.id,
        includeTurns: true,
      });
      codexRead.set(t.id, read.thread);
    }
    // Codex is done with the home; Skein opens it afterwards (cold: no Skein index yet).
    await client.close();
    store = openSkeinStore(home.path);
  });
  afterAll(async () => {
    await store?.close();
    await client?.close();
    await mock?.close();
    await home?.remove();
  });

  const everything = { allowedSources: ALL_SKEIN_SOURCES, modelProviders: [] } as const;

  it('lists the same active threads in the same order (created_at desc, all sources, all providers)', async () => {
    const skein = await listAllSkein(store, everything);
    expect(skein.map((t) => t.threadId)).toEqual(codexActive.map((t) => t.id));
    expect(skein).toHaveLength(9);
  });

  it('pages the same way: small pages on both sides give the same sequence', async () => {
    const skein = await listAllSkein(store, { ...everything, pageSize: 2 });
    const codex = await withClient(() =>
      client.listAllThreads({ sourceKinds: ALL_SOURCE_KINDS, modelProviders: [], limit: 2 }),
    );
    expect(skein.map((t) => t.threadId)).toEqual(codex.map((t) => t.id));
    expect(skein.map((t) => t.threadId)).toEqual(codexActive.map((t) => t.id));
  });

  it('lists the same archived threads', async () => {
    const skein = await listAllSkein(store, { ...everything, archived: true });
    expect(skein.map((t) => t.threadId)).toEqual(codexArchived.map((t) => t.id));
    expect(skein.map((t) => t.threadId)).toEqual([set.archived]);
    expect(skein[0]!.archivedAt).toBeInstanceOf(Date);
  });

  it('lists the same threads in updated_at order', async () => {
    const skein = await listAllSkein(store, { ...everything, sortKey: 'updatedAt' });
    const codex = await withClient(() =>
      client.listAllThreads({ sourceKinds: ALL_SOURCE_KINDS, modelProviders: [], sortKey: 'updated_at' }),
    );
    expect(skein.map((t) => t.threadId)).toEqual(codex.map((t) => t.id));
  });

  it('orders the default listing by true creation time, where Codex puts the far-off-TZ thread first', async () => {
    const skein = await listAllSkein(store);
    const codex = await withClient(() => client.listAllThreads());
    // Same threads (interactive sources, default provider)…
    expect(new Set(skein.map((t) => t.threadId))).toEqual(new Set(codex.map((t) => t.id)));
    // …but Codex 0.169 is wrong about the order: it reads the Kiritimati file name's local time as
    // UTC and lists the older far-TZ thread first. Skein gives the correct order.
    expect(codex.map((t) => t.id)).toEqual([set.farTz, set.legacy]);
    expect(skein.map((t) => t.threadId)).toEqual([set.legacy, set.farTz]);
  });

  it('lists the same fields as thread/list (active and archived)', async () => {
    const skein = [
      ...(await listAllSkein(store, everything)),
      ...(await listAllSkein(store, { ...everything, archived: true })),
    ];
    const codex = [...codexActive, ...codexArchived];
    expect(skein.map((t) => t.threadId)).toEqual(codex.map((t) => t.id));
    for (const [i, c] of codex.entries()) {
      const t = skein[i]!;
      expect
        .soft(
          {
            preview: t.preview,
            name: t.name,
            cwd: t.cwd,
            source: v2Source(t.source),
            modelProvider: t.modelProvider,
            historyMode: t.historyMode,
            createdAt: seconds(t.createdAt),
            path: t.rolloutPath,
          },
          c.id,
        )
        .toEqual({
          preview: c.preview,
          name: c.name,
          cwd: c.cwd,
          source: c.source,
          modelProvider: c.modelProvider,
          historyMode: c.historyMode,
          createdAt: c.createdAt,
          path: c.path,
        });
    }
  });

  it('reports the same fields for every thread as thread/read', async () => {
    for (const [id, codex] of codexRead) {
      const skein = await store.readThread({ threadId: parseThreadId(id), includeArchived: true });
      const listed = await findListed(store, id);
      for (const t of [skein, listed]) {
        expect.soft(t.threadId, id).toBe(codex.id);
        expect.soft(t.preview, id).toBe(codex.preview);
        expect.soft(t.name, id).toBe(codex.name);
        expect.soft(t.cwd, id).toBe(codex.cwd);
        expect.soft(v2Source(t.source), id).toEqual(codex.source);
        expect.soft(t.modelProvider, id).toBe(codex.modelProvider);
        expect.soft(t.historyMode, id).toBe(codex.historyMode);
        expect.soft(t.cliVersion, id).toBe(codex.cliVersion);
        expect.soft(t.sessionId, id).toBe(codex.sessionId);
        // Codex reports times in seconds.
        expect.soft(seconds(t.createdAt), id).toBe(codex.createdAt);
        // Codex's live writer stamps updated_at a few ms after its last write (the file's mtime),
        // so the second can tick over between the two: allow that one second, no more.
        expect.soft(Math.abs(seconds(t.updatedAt) - codex.updatedAt), id).toBeLessThanOrEqual(1);
        expect.soft(t.archivedAt !== null, id).toBe(id === set.archived);
        // thread/read reports the fork parent (thread/list does not: a Codex quirk; Skein's
        // listing reports it too).
        expect.soft(t.forkedFromId, id).toBe(codex.forkedFromId);
      }
    }
    expect(codexRead.size).toBe(10);
    expect(codexRead.get(set.fork)?.forkedFromId).toBe(set.multi);
  });

  it('reads the same user and agent messages, turn for turn, including a fork parent’s history', async () => {
    for (const [id, codex] of codexRead) {
      const history = await skeinHistory(store, id, true);
      expect.soft(history.user, id).toEqual(codex.turns.map(turnUserTexts).flat());
      expect.soft(history.agent, id).toEqual(codex.turns.map(turnAgentTexts).flat());
      expect.soft(history.turns, id).toBe(codex.turns.length);
    }
    const fork = await skeinHistory(store, set.fork);
    expect(fork.user).toEqual([...(set.prompts[set.multi] ?? []), ...(set.prompts[set.fork] ?? [])]);
    // A legacy fork holds a copy of its parent's session_meta and history: read once, not twice.
    const legacyFork = await skeinHistory(store, set.legacyFork);
    expect(legacyFork.user).toEqual([...(set.prompts[set.legacy] ?? []), ...(set.prompts[set.legacyFork] ?? [])]);
  });

  it('pages the same turns and items as thread/turns/list and thread/items/list, one per page', async () => {
    type CodexTurnPage = { data: AppServerTurn[]; nextCursor: string | null };
    type CodexItemPage = { data: { turnId: string; item: Record<string, unknown> }[]; nextCursor: string | null };
    const codexTurns = new Map<string, AppServerTurn[]>();
    const codexItems = new Map<string, { turnId: string; item: Record<string, unknown> }[] | 'unsupported'>();
    await withClient(async () => {
      for (const id of codexRead.keys()) {
        const turns: AppServerTurn[] = [];
        let cursor: string | null = null;
        do {
          const page: CodexTurnPage = await client.request<CodexTurnPage>('thread/turns/list', {
            threadId: id,
            itemsView: 'full',
            sortDirection: 'asc',
            limit: 1,
            ...(cursor ? { cursor } : {}),
          });
          turns.push(...page.data);
          cursor = page.nextCursor;
        } while (cursor);
        codexTurns.set(id, turns);
        try {
          const items: { turnId: string; item: Record<string, unknown> }[] = [];
          let c: string | null = null;
          do {
            const page: CodexItemPage = await client.request<CodexItemPage>('thread/items/list', {
              threadId: id,
              limit: 1,
              ...(c ? { cursor: c } : {}),
            });
            items.push(...page.data);
            c = page.nextCursor;
          } while (c);
          codexItems.set(id, items);
        } catch {
          // Codex pages items of paginated threads only ("not supported yet" for legacy ones).
          codexItems.set(id, 'unsupported');
        }
      }
    });
    // Codex adds the projection's times to every item; Skein's store items carry them on paginated
    // user and agent messages only (app-server-differential.test.ts compares them as served).
    const plain = (item: Record<string, unknown>): Record<string, unknown> => {
      const { startedAtMs, completedAtMs, ...rest } = item;
      void startedAtMs;
      void completedAtMs;
      return rest;
    };
    const seconds = (d: Date | null): number | null => (d === null ? null : Math.floor(d.getTime() / 1000));
    for (const [id, codex] of codexTurns) {
      const turns: StoredTurn[] = [];
      let page = await store.listTurns({
        threadId: parseThreadId(id),
        includeArchived: true,
        itemsView: 'full',
        sortDirection: 'asc',
        pageSize: 1,
      });
      turns.push(...page.turns);
      while (page.nextCursor) {
        page = await store.listTurns({
          threadId: parseThreadId(id),
          includeArchived: true,
          itemsView: 'full',
          sortDirection: 'asc',
          pageSize: 1,
          cursor: page.nextCursor,
        });
        turns.push(...page.turns);
      }
      expect
        .soft(
          turns.map((t) => t.turnId),
          id,
        )
        .toEqual(codex.map((t) => t.id));
      expect
        .soft(
          turns.map((t) => t.status),
          id,
        )
        .toEqual(codex.map((t) => t.status));
      expect
        .soft(
          turns.map((t) => [seconds(t.startedAt), seconds(t.completedAt), t.durationMs]),
          id,
        )
        .toEqual(codex.map((t) => [t.startedAt ?? null, t.completedAt ?? null, t.durationMs ?? null]));
      expect
        .soft(
          turns.map((t) => t.error?.message ?? null),
          id,
        )
        .toEqual(codex.map((t) => (t.error as { message?: string } | null)?.message ?? null));
      expect
        .soft(
          turns.map((t) => t.items.map((i) => plain(i.item))),
          id,
        )
        .toEqual(codex.map((t) => t.items.map(plain)));
      const codexItemPage = codexItems.get(id);
      if (codexItemPage === undefined || codexItemPage === 'unsupported') continue;
      const items: StoredThreadItem[] = [];
      let ip = await store.listItems({ threadId: parseThreadId(id), includeArchived: true, pageSize: 1 });
      items.push(...ip.items);
      while (ip.nextCursor) {
        ip = await store.listItems({
          threadId: parseThreadId(id),
          includeArchived: true,
          pageSize: 1,
          cursor: ip.nextCursor,
        });
        items.push(...ip.items);
      }
      expect
        .soft(
          items.map((i) => [i.turnId, plain(i.item)]),
          id,
        )
        .toEqual(codexItemPage.map((i) => [i.turnId, plain(i.item)]));
    }
    // Both sides saw every kind: paginated and legacy threads, a fork, a failed turn.
    expect(codexItems.get(set.legacy)).toBe('unsupported');
    expect(codexTurns.get(set.failed)?.map((t) => t.status)).toEqual(['completed', 'failed']);
    expect(codexTurns.get(set.fork)?.length).toBe(
      (set.prompts[set.multi]?.length ?? 0) + (set.prompts[set.fork]?.length ?? 0),
    );
  });

  it('filters by cwd (unicode included) like thread/list, in the true order', async () => {
    const list = (cwd: string) =>
      withClient(() => client.listAllThreads({ sourceKinds: ALL_SOURCE_KINDS, modelProviders: [], cwd }));
    const unicode = await listAllSkein(store, { ...everything, cwdFilters: [set.unicodeDir] });
    expect(unicode.map((t) => t.threadId)).toEqual([set.unicode]);
    expect((await list(set.unicodeDir)).map((t) => t.id)).toEqual([set.unicode]);

    const work = await listAllSkein(store, { ...everything, cwdFilters: [set.workDir] });
    const codex = await list(set.workDir);
    expect(new Set(work.map((t) => t.threadId))).toEqual(new Set(codex.map((t) => t.id)));
    // Skein: true creation order, so the far-TZ thread (the oldest) comes last.
    const sorted = [...work].sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
    expect(work.map((t) => t.threadId)).toEqual(sorted.map((t) => t.threadId));
    expect(work.at(-1)?.threadId).toBe(set.farTz);
    // Codex 0.169 is wrong here: a cwd filter makes it answer in file-name order (local time read
    // as UTC), so the far-TZ thread comes first.
    expect(codex.map((t) => t.id)).toEqual([set.farTz, ...work.slice(0, -1).map((t) => t.threadId)]);
  });

  it('finds the named thread by its name', async () => {
    const page = await store.listThreads({ ...everything, searchTerm: 'release notes' });
    expect(page.items.map((t) => t.threadId)).toEqual([set.named]);
  });

  // Last, because it changes the home: Skein's index is warm now, and must follow what Codex does.
  it('follows Codex’s later rename, archive, unarchive, delete and append with a warm index', async () => {
    await listAllSkein(store, everything); // make sure Skein has indexed the current state
    await withClient(async () => {
      await client.request('thread/name/set', { threadId: set.single, name: 'renamed by Codex' });
      await client.request('thread/archive', { threadId: set.unicode });
      await client.request('thread/unarchive', { threadId: set.archived });
      await client.request('thread/delete', { threadId: set.failed });
    });
    const resumed = await runCodexExec(home, ['resume', set.multi, 'beta: fourth turn, later'], { cwd: set.workDir });
    assertRunOk(resumed);

    const all = { sourceKinds: ALL_SOURCE_KINDS, modelProviders: [] };
    const [codexActive2, codexArchived2] = await withClient(async () => [
      await client.listAllThreads(all),
      await client.listAllThreads({ ...all, archived: true }),
    ]);
    expect((await listAllSkein(store, everything)).map((t) => t.threadId)).toEqual(codexActive2.map((t) => t.id));
    expect((await listAllSkein(store, { ...everything, archived: true })).map((t) => t.threadId)).toEqual(
      codexArchived2.map((t) => t.id),
    );
    expect(codexArchived2.map((t) => t.id)).toEqual([set.unicode]);

    expect((await store.readThread({ threadId: parseThreadId(set.single) })).name).toBe('renamed by Codex');
    expect((await store.readThread({ threadId: parseThreadId(set.archived) })).archivedAt).toBeNull();
    const deleted = await store.readThread({ threadId: parseThreadId(set.failed), includeArchived: true }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isThreadStoreError(deleted) && deleted.code).toBe('not_found');
    expect((await skeinHistory(store, set.multi)).user).toEqual([
      ...(set.prompts[set.multi] ?? []),
      'beta: fourth turn, later',
    ]);
    const byUpdate = await listAllSkein(store, { ...everything, sortKey: 'updatedAt' });
    const codexByUpdate = await withClient(() => client.listAllThreads({ ...all, sortKey: 'updated_at' }));
    expect(byUpdate.map((t) => t.threadId)).toEqual(codexByUpdate.map((t) => t.id));
  });

  /** Runs one app-server query on a fresh server (the one from beforeAll is closed). */
  async function withClient<T>(fn: () => Promise<T>): Promise<T> {
    client = await AppServerClient.start(home);
    try {
      return await fn();
    } finally {
      await client.close();
    }
  }
});

async function findListed(store: ThreadStore, id: string): Promise<StoredThread> {
  for (const archived of [false, true]) {
    const all = await listAllSkein(store, { allowedSources: ALL_SKEIN_SOURCES, modelProviders: [], archived });
    const hit = all.find((t) => t.threadId === id);
    if (hit) return hit;
  }
  throw new Error(`LocalThreadStore.listThreads does not list ${id}`);
}
