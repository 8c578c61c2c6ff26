import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ALL_SOURCE_KINDS,
  AppServerClient,
  defaultReply,
  makeCodexHome,
  startMockResponsesServer,
  turnAgentTexts,
  turnUserTexts,
  type AppServerThread,
  type CodexHome,
  type MockResponsesServer,
} from '../src/harness.js';
import { generateCodexThreads, THREAD_NAME, UNICODE_PROMPT, type CodexThreadSet } from './support/codex-threads.js';

/**
 * What real Codex 0.169 reports about the threads it wrote itself. These pin the facts the
 * Skein comparison relies on (and Codex's own quirks), so a change in Codex shows up here first.
 */
describe('threads written by real Codex, as its app-server reports them', () => {
  let mock: MockResponsesServer;
  let home: CodexHome;
  let set: CodexThreadSet;
  let client: AppServerClient;
  let active: AppServerThread[];
  let archived: AppServerThread[];

  beforeAll(async () => {
    mock = await startMockResponsesServer();
    home = await makeCodexHome(mock.url);
    set = await generateCodexThreads(home);
    client = await AppServerClient.start(home);
    active = await client.listAllThreads({ sourceKinds: ALL_SOURCE_KINDS, modelProviders: [] });
    archived = await client.listAllThreads({ sourceKinds: ALL_SOURCE_KINDS, modelProviders: [], archived: true });
  });
  afterAll(async () => {
    await client?.close();
    await mock?.close();
    await home?.remove();
  });

  const byId = (id: string) => active.find((t) => t.id === id) ?? archived.find((t) => t.id === id);

  it('lists every thread once, newest first, with the archived one only in the archived collection', () => {
    expect(active.map((t) => t.id)).toEqual([
      set.legacyFork,
      set.legacy,
      set.named,
      set.unicode,
      set.failed,
      set.fork,
      set.multi,
      set.single,
      set.farTz,
    ]);
    expect(archived.map((t) => t.id)).toEqual([set.archived]);
    expect(mock.unexpectedRequests).toEqual([]);
  });

  it('reports previews, names, sources, providers, cwds and history modes', () => {
    expect(byId(set.single)).toMatchObject({
      preview: 'alpha: a single-turn thread',
      name: null,
      source: 'exec',
      modelProvider: 'mock',
      cwd: set.workDir,
      historyMode: 'paginated',
    });
    expect(byId(set.unicode)).toMatchObject({ preview: UNICODE_PROMPT, cwd: set.unicodeDir });
    expect(byId(set.named)).toMatchObject({ preview: 'zeta: to be named', name: THREAD_NAME });
    expect(byId(set.legacy)).toMatchObject({
      historyMode: 'legacy',
      source: 'vscode',
      originator: 'skein_interop',
      preview: 'eta: a legacy-mode thread',
    });
    expect(byId(set.farTz)).toMatchObject({ source: 'vscode', preview: 'made fourteen hours ahead of UTC' });
    // Codex quirk: a fork's preview is its parent's first prompt, not its own.
    expect(byId(set.fork)).toMatchObject({ preview: 'beta: first turn', name: null });
    // Forking a legacy thread makes a legacy fork (a copy of the parent's history plus its own).
    expect(byId(set.legacyFork)).toMatchObject({
      historyMode: 'legacy',
      source: 'exec',
      preview: 'eta: a legacy-mode thread',
    });
  });

  it('reports a fork parent in thread/read but not in thread/list (Codex quirk)', async () => {
    expect(byId(set.fork)?.forkedFromId).toBeNull();
    expect(byId(set.legacyFork)?.forkedFromId).toBeNull();
    const read = await client.request<{ thread: AppServerThread }>('thread/read', { threadId: set.fork });
    expect(read.thread.forkedFromId).toBe(set.multi);
    const readLegacy = await client.request<{ thread: AppServerThread }>('thread/read', { threadId: set.legacyFork });
    expect(readLegacy.thread.forkedFromId).toBe(set.legacy);
  });

  it('reads back every turn: prompts, echoed replies, and the failed turn', async () => {
    for (const id of [set.single, set.multi, set.failed, set.unicode, set.named, set.legacy, set.farTz, set.archived]) {
      const read = await client.request<{ thread: AppServerThread }>('thread/read', {
        threadId: id,
        includeTurns: true,
      });
      const prompts = set.prompts[id] ?? [];
      expect(read.thread.turns.map(turnUserTexts).flat()).toEqual(prompts);
      const replies = prompts.filter((p) => !p.includes('FAIL_TURN')).map(defaultReply);
      expect(read.thread.turns.map(turnAgentTexts).flat()).toEqual(replies);
    }
    const failed = await client.request<{ thread: AppServerThread }>('thread/read', {
      threadId: set.failed,
      includeTurns: true,
    });
    expect(failed.thread.turns.map((t) => t.status)).toEqual(['completed', 'failed']);
    // A paginated fork's history is its parent's turns followed by its own.
    const fork = await client.request<{ thread: AppServerThread }>('thread/read', {
      threadId: set.fork,
      includeTurns: true,
    });
    expect(fork.thread.turns.map(turnUserTexts).flat()).toEqual([
      ...(set.prompts[set.multi] ?? []),
      ...(set.prompts[set.fork] ?? []),
    ]);
    const legacyFork = await client.request<{ thread: AppServerThread }>('thread/read', {
      threadId: set.legacyFork,
      includeTurns: true,
    });
    expect(legacyFork.thread.turns.map(turnUserTexts).flat()).toEqual([
      ...(set.prompts[set.legacy] ?? []),
      ...(set.prompts[set.legacyFork] ?? []),
    ]);
  });

  it('orders its default listing by the local-time file name, so a far-off-TZ thread comes first (Codex bug)', async () => {
    // Default params: interactive sources and the configured provider only. Only the two vscode
    // threads qualify. The far-TZ thread is the OLDER one, yet Codex lists it first because its
    // file name carries a local time 14 h ahead, read as UTC.
    const defaults = await client.listAllThreads();
    expect(defaults.map((t) => t.id)).toEqual([set.farTz, set.legacy]);
    expect(byId(set.farTz)!.createdAt).toBeLessThan(byId(set.legacy)!.createdAt);
    // With explicit filters (or useStateDbOnly) Codex orders by the true creation time.
    const stateDb = await client.listAllThreads({ useStateDbOnly: true });
    expect(stateDb.map((t) => t.id)).toEqual([set.legacy, set.farTz]);
  });
});
