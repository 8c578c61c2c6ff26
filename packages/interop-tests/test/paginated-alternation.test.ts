import { readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { EchoModelClient, Session } from '@skein/core-session';
import type { SessionEventMsg } from '@skein/core-session';
import { parseThreadId, type StoredTurn, type ThreadId } from '@skein/thread-store-api';
import { LocalThreadStore } from '@skein/thread-store-local';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ALL_SOURCE_KINDS,
  AppServerClient,
  assertRunOk,
  defaultReply,
  makeCodexHome,
  MOCK_MODEL,
  MOCK_PROVIDER_ID,
  runCodexExec,
  startMockResponsesServer,
  turnAgentTexts,
  turnUserTexts,
  type AppServerThread,
  type CodexHome,
  type MockResponsesServer,
} from '../src/harness.js';
import { generateCodexThreads, type CodexThreadSet } from './support/codex-threads.js';

/**
 * Skein and real Codex 0.169 take turns writing the same threads. Every thread Codex made (exec,
 * exec resume, fork, failed turn, unicode, archived, named, app-server, legacy) gets a turn from a
 * Skein Session; Codex then lists it, reads every turn in order (from its SQLite projection,
 * which Skein keeps current, so without loading the thread) and resumes it. One thread alternates
 * writers ten times. Threads Skein creates (paginated by default) and forks are read and resumed
 * by Codex the same way.
 */
describe('Skein and Codex alternate on paginated threads', () => {
  let mock: MockResponsesServer;
  let home: CodexHome;
  let set: CodexThreadSet;
  let client: AppServerClient;
  /** Every prompt of each thread, in order, whoever wrote it. */
  const prompts: Record<string, string[]> = {};

  beforeAll(async () => {
    mock = await startMockResponsesServer();
    home = await makeCodexHome(mock.url);
    set = await generateCodexThreads(home);
    for (const [id, ps] of Object.entries(set.prompts)) prompts[id] = [...ps];
    // Codex shows a fork's inherited turns first (by reference when paginated, copied when legacy).
    prompts[set.fork] = [...(set.prompts[set.multi] ?? []), ...(set.prompts[set.fork] ?? [])];
    prompts[set.legacyFork] = [...(set.prompts[set.legacy] ?? []), ...(set.prompts[set.legacyFork] ?? [])];
    client = await AppServerClient.start(home, { cwd: set.workDir });
  });
  afterAll(async () => {
    await client?.close();
    await mock?.close();
    await home?.remove();
  });

  function openStore(): LocalThreadStore {
    return new LocalThreadStore({ home: home.path, defaultModelProvider: MOCK_PROVIDER_ID });
  }

  const model = (): EchoModelClient => new EchoModelClient({ provider: MOCK_PROVIDER_ID, model: MOCK_MODEL });

  /** Forks `parent` through ThreadManager keeping its first turn; the fork's id. */
  async function forkFirstTurn(store: LocalThreadStore, parent: ThreadId): Promise<ThreadId> {
    const { ThreadManager } = await import('@skein/thread-manager');
    const manager = new ThreadManager({ store, model: model() });
    try {
      const fork = await manager.forkThread({ threadId: parent, turns: 1 });
      await fork.shutdown();
      return fork.threadId;
    } finally {
      await manager.shutdownAll();
    }
  }

  /** Runs one turn through a Session and shuts it down; fails on any error event. */
  async function runTurn(session: Session, prompt: string): Promise<void> {
    const seen: SessionEventMsg[] = [];
    session.submit({ type: 'user_turn', items: [{ type: 'text', text: prompt }] });
    for await (const ev of session.events()) {
      seen.push(ev.msg);
      // A shutdown submitted with the turn would abort it: wait for the turn to end first.
      if (ev.msg.type === 'turn_complete') session.submit({ type: 'shutdown' });
    }
    await session.done;
    expect(seen.filter((m) => m.type === 'error')).toEqual([]);
    expect(seen.map((m) => m.type)).toContain('turn_complete');
  }

  async function skeinTurn(threadId: string, prompt: string): Promise<void> {
    const store = openStore();
    try {
      const session = await Session.resume({
        store,
        model: model(),
        threadId: parseThreadId(threadId),
        includeArchived: true,
      });
      await runTurn(session, prompt);
    } finally {
      await store.close();
    }
    (prompts[threadId] ??= []).push(prompt);
  }

  async function codexTurn(threadId: string, prompt: string): Promise<void> {
    const run = await runCodexExec(home, ['resume', threadId, prompt], { cwd: set.workDir });
    assertRunOk(run);
    expect(run.threadId).toBe(threadId);
    (prompts[threadId] ??= []).push(prompt);
    // Codex sent the model the whole conversation, Skein's turns included.
    const sent = JSON.stringify(mock.requests.at(-1)?.body ?? null);
    for (const p of prompts[threadId] ?? []) expect(sent).toContain(JSON.stringify(p).slice(1, -1));
  }

  async function codexRead(threadId: string): Promise<AppServerThread> {
    const read = await client.request<{ thread: AppServerThread }>('thread/read', { threadId, includeTurns: true });
    return read.thread;
  }

  /** Codex shows every prompt of the thread, one turn each, in order, with the echo replies. */
  async function expectCodexSeesAll(threadId: string, opts: { failedPrompt?: string } = {}): Promise<void> {
    const t = await codexRead(threadId);
    const want = prompts[threadId] ?? [];
    expect(t.turns.map(turnUserTexts).flat()).toEqual(want);
    const agent = t.turns.map(turnAgentTexts).flat();
    expect(agent).toEqual(want.filter((p) => p !== opts.failedPrompt).map(defaultReply));
    const listed = await client.request<{ data: { id: string }[] }>('thread/turns/list', { threadId, limit: 100 });
    expect(listed.data).toHaveLength(t.turns.length);
  }

  async function codexListed(threadId: string, archived = false): Promise<boolean> {
    const all = await client.listAllThreads({ sourceKinds: ALL_SOURCE_KINDS, modelProviders: [], archived });
    return all.some((t) => t.id === threadId);
  }

  it('one thread, ten alternations of writer: Codex shows every turn after each step', async () => {
    const id = set.multi;
    for (let i = 0; i < 10; i++) {
      if (i % 2 === 0) await skeinTurn(id, `alternation ${i}: written by Skein`);
      else await codexTurn(id, `alternation ${i}: written by Codex`);
      await expectCodexSeesAll(id);
    }
    expect(prompts[id]).toHaveLength(3 + 10);
    // Ordinals stay contiguous across writers: one per record, no gaps, no reuse (Skein's
    // metadata lines carry none, as Codex skips their line type).
    const t = await codexRead(id);
    const ordinals = readFileSync(t.path as string, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { ordinal?: number; type: string })
      .filter((l) => l.type !== 'skein_metadata_patch')
      .map((l) => l.ordinal);
    expect(ordinals).toEqual(ordinals.map((_, i) => i));
  });

  it('every other thread Codex made takes a Skein turn and is read, listed and resumed by Codex', async () => {
    const ids: [string, string][] = [
      ['single', set.single],
      ['fork', set.fork],
      ['failed', set.failed],
      ['unicode', set.unicode],
      ['named', set.named],
      ['farTz', set.farTz],
      ['legacy', set.legacy],
      ['legacyFork', set.legacyFork],
    ];
    for (const [label, id] of ids) {
      await skeinTurn(id, `skein turn on the ${label} thread ✓`);
      const failedPrompt = label === 'failed' ? set.prompts[id]?.at(-1) : undefined;
      await expectCodexSeesAll(id, failedPrompt ? { failedPrompt } : {});
      expect(await codexListed(id), `${label} listed`).toBe(true);
      await codexTurn(id, `codex turn after skein on ${label}`);
      await expectCodexSeesAll(id, failedPrompt ? { failedPrompt } : {});
    }
    expect((await codexRead(set.legacy)).historyMode).toBe('legacy');
    expect((await codexRead(set.single)).historyMode).toBe('paginated');
  });

  it('an archived thread takes a Skein turn, stays archived, and Codex reads it', async () => {
    await skeinTurn(set.archived, 'skein turn on the archived thread');
    await expectCodexSeesAll(set.archived);
    expect(await codexListed(set.archived, true)).toBe(true);
    expect(await codexListed(set.archived)).toBe(false);
  });

  it('a thread Skein creates is paginated, and Codex lists, reads and resumes it', async () => {
    const store = openStore();
    let id: ThreadId;
    try {
      const session = await Session.start({ store, model: model(), cwd: set.workDir, source: { kind: 'cli' } });
      id = session.threadId;
      await runTurn(session, 'skein-made: first turn');
    } finally {
      await store.close();
    }
    prompts[id] = ['skein-made: first turn'];
    const t = await codexRead(id);
    expect(t.historyMode).toBe('paginated');
    await expectCodexSeesAll(id);
    expect(await codexListed(id)).toBe(true);
    await codexTurn(id, 'skein-made: a Codex turn');
    await skeinTurn(id, 'skein-made: Skein again');
    await expectCodexSeesAll(id);
  });

  it('a Skein fork of a paginated thread references its parent and reads back whole in Codex', async () => {
    const { ThreadManager } = await import('@skein/thread-manager');
    const store = openStore();
    const parent = set.unicode;
    let forkId: ThreadId;
    try {
      forkId = await forkFirstTurn(store, parseThreadId(parent));
      const zero = new ThreadManager({ store, model: model() });
      try {
        await expect(zero.forkThread({ threadId: parent, turns: 0 })).rejects.toMatchObject({
          code: 'invalid_request',
        });
      } finally {
        await zero.shutdownAll();
      }
    } finally {
      await store.close();
    }
    const first = JSON.parse(readFileSync((await codexRead(forkId)).path as string, 'utf8').split('\n')[0]!) as {
      ordinal: number;
      payload: { forked_from_id: string; history_base: { thread_id: string; end_ordinal_exclusive: number } };
    };
    expect(first.payload.forked_from_id).toBe(parent);
    expect(first.payload.history_base.thread_id).toBe(parent);
    expect(first.ordinal).toBe(first.payload.history_base.end_ordinal_exclusive);
    prompts[forkId] = [set.prompts[parent]![0]!];
    await expectCodexSeesAll(forkId);
    await codexTurn(forkId, 'a Codex turn on the Skein fork');
    await skeinTurn(forkId, 'a Skein turn on the Skein fork');
    await expectCodexSeesAll(forkId);
    expect(await codexListed(forkId)).toBe(true);
  });

  it('a Skein fork of a legacy thread is a legacy copy whose turns Skein and Codex both show', async () => {
    const store = openStore();
    const parent = parseThreadId(set.legacy);
    let forkId: ThreadId;
    try {
      forkId = await forkFirstTurn(store, parent);
      // In a store that writes paginated rollouts, the fork of a legacy thread is legacy, as Codex makes it.
      expect((await store.readThread({ threadId: forkId })).historyMode).toBe('legacy');
      const turns = await store.listTurns({ threadId: forkId, sortDirection: 'asc', itemsView: 'full' });
      const parentTurns = await store.listTurns({ threadId: parent, sortDirection: 'asc', itemsView: 'full' });
      // The copied lines are written anew (new times, one line further down): the same turn and items.
      const kept = (ts: StoredTurn[]): unknown[] => ts.map((t) => [t.turnId, t.status, t.items.map((i) => i.item)]);
      expect(kept(turns.turns)).toEqual(kept(parentTurns.turns.slice(0, 1)));
    } finally {
      await store.close();
    }
    const read = await codexRead(forkId);
    expect(read.historyMode).toBe('legacy');
    expect(read.forkedFromId).toBe(parent);
    prompts[forkId] = [prompts[parent]![0]!];
    await expectCodexSeesAll(forkId);
    await codexTurn(forkId, 'a Codex turn on the Skein fork of a legacy thread');
    await skeinTurn(forkId, 'a Skein turn on the Skein fork of a legacy thread');
    await expectCodexSeesAll(forkId);
  });

  it('a rename and a metadata patch of a paginated thread keep Codex reading, listing and resuming it', async () => {
    const id = set.single;
    const store = openStore();
    try {
      await store.updateThreadMetadata({ threadId: parseThreadId(id), patch: { name: 'renamed by Skein ✓' } });
      await store.updateThreadMetadata({ threadId: parseThreadId(id), patch: { model: 'patched-model' } });
    } finally {
      await store.close();
    }
    expect((await codexRead(id)).name).toBe('renamed by Skein ✓');
    const listed = await client.listAllThreads({ sourceKinds: ALL_SOURCE_KINDS, modelProviders: [] });
    expect(listed.find((t) => t.id === id)?.name).toBe('renamed by Skein ✓');
    await codexTurn(id, 'codex resumes after the patches');
    await expectCodexSeesAll(id);
  });
});

/**
 * Codex compresses idle rollouts to `.jsonl.zst` (feature `local_thread_store_compression`, files
 * a week old). Skein continues such a thread the way Codex does: the plain file comes back under
 * the writer lock, the `.zst` goes, and Codex reads and resumes the result.
 */
describe('a compressed paginated rollout', () => {
  let mock: MockResponsesServer;
  let home: CodexHome;
  let work: string;

  beforeAll(async () => {
    mock = await startMockResponsesServer();
    home = await makeCodexHome(mock.url);
    work = path.join(home.path, '..', `${path.basename(home.path)}-zst-work`);
    await mkdir(work, { recursive: true });
  });
  afterAll(async () => {
    await mock?.close();
    await home?.remove();
  });

  it('is decompressed, continued by Skein, and read and resumed by Codex', async () => {
    const run = await runCodexExec(home, ['zst: first turn'], { cwd: work });
    assertRunOk(run);
    const id = run.threadId as string;
    const files = (dir: string): string[] =>
      readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.includes(id));
    const sessions = path.join(home.path, 'sessions');
    const plain = files(sessions).find((f) => f.endsWith('.jsonl')) as string;
    // Only now: a run with the feature on leaves a marker that holds the next run off for hours.
    const config = path.join(home.path, 'config.toml');
    writeFileSync(
      config,
      readFileSync(config, 'utf8').replace('[features]\n', '[features]\nlocal_thread_store_compression = true\n'),
    );
    const old = new Date(Date.now() - 10 * 24 * 3600 * 1000);
    utimesSync(path.join(sessions, plain), old, old);
    const c = await AppServerClient.start(home, { cwd: work });
    try {
      for (let i = 0; i < 150 && !files(sessions).some((f) => f.endsWith('.jsonl.zst')); i++)
        await new Promise((r) => setTimeout(r, 100));
    } finally {
      await c.close();
    }
    expect(files(sessions)).toEqual([`${plain}.zst`]);

    const store = new LocalThreadStore({ home: home.path, defaultModelProvider: MOCK_PROVIDER_ID });
    try {
      const session = await Session.resume({
        store,
        model: new EchoModelClient({ provider: MOCK_PROVIDER_ID, model: MOCK_MODEL }),
        threadId: parseThreadId(id),
      });
      session.submit({ type: 'user_turn', items: [{ type: 'text', text: 'zst: a Skein turn' }] });
      for await (const ev of session.events())
        if (ev.msg.type === 'turn_complete') session.submit({ type: 'shutdown' });
    } finally {
      await store.close();
    }
    expect(files(sessions)).toEqual([plain]);

    const resumed = await runCodexExec(home, ['resume', id, 'zst: Codex again'], { cwd: work });
    assertRunOk(resumed);
    const reader = await AppServerClient.start(home, { cwd: work });
    try {
      const read = await reader.request<{ thread: AppServerThread }>('thread/read', {
        threadId: id,
        includeTurns: true,
      });
      expect(read.thread.turns.map(turnUserTexts).flat()).toEqual([
        'zst: first turn',
        'zst: a Skein turn',
        'zst: Codex again',
      ]);
    } finally {
      await reader.close();
    }
  });
});
