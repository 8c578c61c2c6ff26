import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { collectHistory, isEventMsg, userMessageText } from '@skein/thread-store-api';
import type { RolloutItem, ThreadId } from '@skein/thread-store-api';
import { agentMsg, meta, openStore, tmpHome, userItem, userMsg, writeRollout } from './helpers/home.js';

const id = (n: string): ThreadId => `0a1b2c3d-0000-4000-8000-0000000000${n}` as ThreadId;
const A = id('0a');
const P = id('0b');
const F = id('0c');
const R = id('0d');
const FILE_ID = id('0e');
const Z = id('0f');
const META_ID = id('10');
const L = id('11');
const X = id('12');
const N = id('13');

const fixtures = fileURLToPath(new URL('./fixtures/', import.meta.url));

function line(o: object): string {
  return JSON.stringify(o);
}

/** A Codex-shaped home with every kind of file the reader must understand. */
function codexHome(): { home: string; forkBase: number } {
  const home = tmpHome();
  // Legacy 2025 thread without source and provider, with a ghost snapshot, a blank, a bad line
  // and an unknown line type.
  writeRollout(home, `sessions/2025/10/01/rollout-2025-10-01T12-00-00-${A}.jsonl`, [
    (() => {
      const m = meta(A) as { payload: Record<string, unknown> };
      delete m.payload.source;
      delete m.payload.model_provider;
      m.payload.git = { commit_hash: 'abc123', branch: 'main', repository_url: 'git@example.com:me/proj.git' };
      return m;
    })(),
    userItem('<environment_context>cwd</environment_context>'),
    userMsg('## My request for Codex:\n  fix the failing test  '),
    {
      timestamp: '2025-10-01T12:00:01.500Z',
      type: 'turn_context',
      payload: {
        cwd: '/home/me/proj',
        model: 'gpt-5-codex',
        effort: 'high',
        approval_policy: 'on-request',
        sandbox_policy: { type: 'read-only' },
      },
    },
    {
      timestamp: '2025-10-01T12:00:01.600Z',
      type: 'response_item',
      payload: { type: 'ghost_snapshot', ghost_commit: { id: 'x' } },
    },
    '',
    '{"timestamp": "broken',
    {
      timestamp: '2025-10-01T12:00:01.700Z',
      type: 'world_state',
      payload: { full: true, state: { x: 1 } },
      extra_field: 42,
    },
    agentMsg('All tests pass now.'),
    {
      timestamp: '2025-10-01T12:00:02.100Z',
      type: 'event_msg',
      payload: {
        type: 'token_count',
        info: {
          total_token_usage: {
            input_tokens: 2000,
            cached_input_tokens: 0,
            output_tokens: 20,
            reasoning_output_tokens: 5,
            total_tokens: 2020,
          },
        },
        rate_limits: null,
      },
    },
  ]);

  // Paginated parent and a paginated fork that points at a prefix of it.
  const pLines = [
    {
      timestamp: '2026-11-24T22:48:10.105Z',
      ordinal: 0,
      type: 'session_meta',
      payload: {
        session_id: P,
        id: P,
        timestamp: '2026-11-24T22:48:10.083Z',
        cwd: '/home/me/proj',
        originator: 'codex_exec',
        cli_version: '0.169.0',
        source: 'exec',
        model_provider: 'openai',
        history_mode: 'paginated',
        git: {},
      },
    },
    {
      timestamp: '2026-11-24T22:48:10.110Z',
      ordinal: 1,
      type: 'event_msg',
      payload: { type: 'task_started', turn_id: 't1', started_at: 1795560490 },
    },
    {
      timestamp: '2026-11-24T22:48:10.139Z',
      ordinal: 2,
      type: 'event_msg',
      payload: {
        type: 'item_completed',
        thread_id: P,
        turn_id: 't1',
        item: {
          type: 'UserMessage',
          id: 'u1',
          content: [{ type: 'text', text: 'paginated hello', text_elements: [] }],
        },
      },
    },
    {
      timestamp: '2026-11-24T22:48:10.211Z',
      ordinal: 3,
      type: 'event_msg',
      payload: {
        type: 'item_completed',
        thread_id: P,
        turn_id: 't1',
        item: { type: 'AgentMessage', id: 'a1', content: [{ type: 'Text', text: 'paginated answer' }] },
      },
    },
    {
      timestamp: '2026-11-24T22:48:10.221Z',
      ordinal: 4,
      type: 'event_msg',
      payload: { type: 'task_complete', turn_id: 't1', last_agent_message: 'paginated answer' },
    },
    {
      timestamp: '2026-11-24T22:49:00.000Z',
      ordinal: 5,
      type: 'event_msg',
      payload: {
        type: 'item_completed',
        thread_id: P,
        turn_id: 't2',
        item: { type: 'UserMessage', id: 'u2', content: [{ type: 'text', text: 'second turn after the fork point' }] },
      },
    },
  ];
  const forkBase = pLines.slice(0, 5).reduce((n, l) => n + Buffer.byteLength(line(l)) + 1, 0);
  writeRollout(home, `sessions/2026/11/24/rollout-2026-11-24T22-48-10-${P}.jsonl`, pLines);
  writeRollout(home, `sessions/2026/11/25/rollout-2026-11-25T09-00-00-${F}.jsonl`, [
    {
      timestamp: '2026-11-25T09:00:00.000Z',
      ordinal: 5,
      type: 'session_meta',
      payload: {
        session_id: F,
        id: F,
        forked_from_id: P,
        timestamp: '2026-11-25T09:00:00.000Z',
        cwd: '/home/me/proj',
        originator: 'codex_exec',
        cli_version: '0.169.0',
        source: 'exec',
        model_provider: 'openai',
        history_mode: 'paginated',
        forked_from_ordinal_exclusive: 5,
        history_base: { thread_id: P, end_ordinal_exclusive: 5, end_byte_offset: forkBase },
      },
    },
    {
      timestamp: '2026-11-25T09:00:01.000Z',
      ordinal: 6,
      type: 'event_msg',
      payload: {
        type: 'item_completed',
        thread_id: F,
        turn_id: 't3',
        item: { type: 'UserMessage', id: 'u3', content: [{ type: 'text', text: 'fork prompt' }] },
      },
    },
    {
      timestamp: '2026-11-25T09:00:02.000Z',
      ordinal: 7,
      type: 'event_msg',
      payload: {
        type: 'item_completed',
        thread_id: F,
        turn_id: 't3',
        item: { type: 'AgentMessage', id: 'a3', content: [{ type: 'Text', text: 'fork answer' }] },
      },
    },
  ]);

  // Archived (flat folder), compressed, mismatched id, legacy fork, undated, no user message.
  writeRollout(home, `archived_sessions/rollout-2025-09-01T10-00-00-${R}.jsonl`, [
    meta(R, {}, '2025-09-01T10:00:00.000Z'),
    userMsg('an archived thread'),
  ]);
  mkdirSync(path.join(home, 'sessions/2025/11/02'), { recursive: true });
  const zName = `rollout-2025-11-02T08-00-00-${Z}.jsonl.zst`;
  copyFileSync(path.join(fixtures, zName), path.join(home, 'sessions/2025/11/02', zName));
  writeRollout(home, `sessions/2025/10/03/rollout-2025-10-03T10-00-00-${FILE_ID}.jsonl`, [
    meta(META_ID, {}, '2025-10-03T10:00:00.000Z'),
    userMsg('listed under its session_meta id'),
  ]);
  writeRollout(home, `sessions/2025/10/04/rollout-2025-10-04T10-00-00-${L}.jsonl`, [
    meta(L, { forked_from_id: A }, '2025-10-04T10:00:00.000Z'),
    meta(A),
    userMsg('fix the failing test'),
    agentMsg('All tests pass now.'),
    userMsg('and now the fork continues'),
  ]);
  writeRollout(home, `sessions/rollout-2025-10-05T10-00-00-${X}.jsonl`, [
    meta(X, {}, '2025-10-05T10:00:00.000Z'),
    userMsg('not in a dated folder'),
  ]);
  writeRollout(home, `sessions/2025/10/06/rollout-2025-10-06T10-00-00-${N}.jsonl`, [
    meta(N, {}, '2025-10-06T10:00:00.000Z'),
    agentMsg('nobody asked'),
  ]);

  writeFileSync(
    path.join(home, 'session_index.jsonl'),
    [
      { id: A, thread_name: 'old name', updated_at: '2025-10-01T12:10:00.000000000Z' },
      { id: P, thread_name: 'paginated parent', updated_at: '2026-11-24T23:00:00.000000000Z' },
      { id: A, thread_name: 'Fix tests', updated_at: '2025-10-01T12:20:00.000000000Z' },
      { id: P, thread_name: '', updated_at: '2026-11-24T23:10:00.000000000Z' },
    ]
      .map((l) => JSON.stringify(l))
      .join('\n') + '\nnot json\n',
  );
  return { home, forkBase };
}

const all = { modelProviders: [], allowedSources: ['cli', 'vscode', 'exec'] } as const;

describe('reading a Codex home', () => {
  it('reads a legacy 2025 thread with Codex defaults and derivation rules', async () => {
    const { home } = codexHome();
    const store = openStore(home);
    const t = await store.readThread({ threadId: A, includeHistory: true });
    expect(t.source).toEqual({ kind: 'vscode' });
    expect(t.modelProvider).toBe('openai');
    expect(t.preview).toBe('fix the failing test');
    expect(t.name).toBe('Fix tests');
    expect(t.model).toBe('gpt-5-codex');
    expect(t.reasoningEffort).toBe('high');
    expect(t.tokenUsage?.totalTokens).toBe(2020);
    expect(t.gitInfo).toEqual({ sha: 'abc123', branch: 'main', originUrl: 'git@example.com:me/proj.git' });
    expect(t.createdAt.toISOString()).toBe('2025-10-01T12:00:00.100Z');
    expect(t.archivedAt).toBeNull();
    expect(t.rolloutPath).toBe(path.join(home, `sessions/2025/10/01/rollout-2025-10-01T12-00-00-${A}.jsonl`));
    const history = await collectHistory(t.history);
    // session_meta, env message, user event, turn_context, world_state, agent, token_count: the
    // ghost snapshot, the blank and the broken line are gone; the unknown line is verbatim.
    expect(history.map((i) => i.type)).toEqual([
      'session_meta',
      'response_item',
      'event_msg',
      'turn_context',
      'world_state',
      'event_msg',
      'event_msg',
    ]);
    expect(history[4]).toEqual({
      timestamp: '2025-10-01T12:00:01.700Z',
      type: 'world_state',
      payload: { full: true, state: { x: 1 } },
      extra_field: 42,
    });
  });

  it('uses a different default provider when configured', async () => {
    const { home } = codexHome();
    const store = openStore(home, { defaultModelProvider: 'mock' });
    expect((await store.readThread({ threadId: A })).modelProvider).toBe('mock');
    // The default provider filter now hides the openai threads and shows A.
    expect((await store.listThreads({})).items.map((t) => t.threadId)).toEqual([A]);
  });

  it('reads paginated threads and follows a fork to its parent prefix', async () => {
    const { home } = codexHome();
    const store = openStore(home);
    const p = await store.readThread({ threadId: P });
    expect(p.historyMode).toBe('paginated');
    expect(p.preview).toBe('paginated hello');
    expect(p.source).toEqual({ kind: 'exec' });
    expect(p.name).toBe('paginated parent'); // the later empty name is ignored
    const f = await store.readThread({ threadId: F, includeHistory: true });
    expect(f.forkedFromId).toBe(P);
    expect(f.preview).toBe('paginated hello');
    const h: RolloutItem[] = await collectHistory(f.history);
    expect(h.map((i) => i.ordinal)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    const texts = h.map((i) => userMessageText(i)).filter((x) => x !== undefined);
    expect(texts).toEqual(['paginated hello', 'fork prompt']);
  });

  it('reads .jsonl.zst rollouts, the archived folder, and session_meta ids over file-name ids', async () => {
    const { home } = codexHome();
    const store = openStore(home);
    const z = await store.readThread({ threadId: Z, includeHistory: true });
    expect(z.preview).toBe('compress me please');
    expect(z.rolloutPath?.endsWith(`${Z}.jsonl`)).toBe(true);
    expect((await collectHistory(z.history)).filter((i) => isEventMsg(i, 'agent_message'))).toHaveLength(1);
    await expect(store.readThread({ threadId: R })).rejects.toMatchObject({
      code: 'not_found',
      message: expect.stringContaining('archived'),
    });
    const r = await store.readThread({ threadId: R, includeArchived: true });
    expect(r.archivedAt).not.toBeNull();
    expect((await store.listThreads({ archived: true })).items.map((t) => t.threadId)).toEqual([R]);
    expect((await store.readThread({ threadId: META_ID })).preview).toBe('listed under its session_meta id');
  });

  it('lists like Codex: dated folders only, interactive sources and the default provider by default, no preview no listing', async () => {
    const { home } = codexHome();
    const store = openStore(home);
    const ids = (await store.listThreads({ pageSize: 100 })).items.map((t) => t.threadId);
    // Default: cli/vscode only (P and F are exec); X is undated; N has no user message.
    expect(ids.sort()).toEqual([A, Z, META_ID, L].sort());
    const everything = (await store.listThreads({ ...all, pageSize: 100 })).items.map((t) => t.threadId);
    expect(everything.sort()).toEqual([A, P, F, Z, META_ID, L].sort());
    // Readable by id even though not listed.
    expect((await store.readThread({ threadId: X })).preview).toBe('not in a dated folder');
    expect((await store.readThread({ threadId: N })).preview).toBe('');
  });

  it('takes a legacy fork’s metadata from its own first session_meta', async () => {
    const { home } = codexHome();
    const store = openStore(home);
    const l = await store.readThread({ threadId: L });
    expect(l.threadId).toBe(L);
    expect(l.forkedFromId).toBe(A);
    expect(l.createdAt.toISOString()).toBe('2025-10-04T10:00:00.000Z');
    expect(l.preview).toBe('fix the failing test');
  });

  it('finds message content in legacy, paginated and compressed threads', async () => {
    const { home } = codexHome();
    const store = openStore(home);
    const hits = async (term: string): Promise<string[]> =>
      (await store.searchThreads({ ...all, searchTerm: term, pageSize: 100 })).items
        .map((r) => r.thread.threadId)
        .sort();
    expect(await hits('TESTS PASS')).toEqual([A, L].sort());
    expect(await hits('paginated answer')).toEqual([P]);
    expect(await hits('fork answer')).toEqual([F]);
    expect(await hits('Zstandard')).toEqual([Z]);
    expect(await hits('no such words anywhere')).toEqual([]);
    const page = await store.searchThreads({ ...all, searchTerm: 'fork prompt' });
    expect(page.items[0]?.snippet).toContain('fork prompt');
  });

  it('resuming a compressed thread decompresses it first, as Codex does', async () => {
    const { home } = codexHome();
    const store = openStore(home);
    await store.resumeThread({ threadId: Z });
    await store.appendItems({ threadId: Z, items: [agentMsg('appended after resume') as RolloutItem] });
    await store.shutdownThread(Z);
    const t = await store.readThread({ threadId: Z, includeHistory: true });
    const h = await collectHistory(t.history);
    expect(h).toHaveLength(5);
    expect((h[4]?.payload as { message: string }).message).toBe('appended after resume');
  });

  it('continues a paginated thread in its own format, ordinals and all', async () => {
    const { home } = codexHome();
    const store = openStore(home);
    await store.resumeThread({ threadId: P });
    await store.appendItems({ threadId: P, items: [agentMsg('appended to a paginated thread') as RolloutItem] });
    await store.shutdownThread(P);
    const t = await store.readThread({ threadId: P, includeHistory: true });
    const h = await collectHistory(t.history);
    expect(h.map((i) => i.ordinal)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(h[6]).toMatchObject({
      type: 'event_msg',
      payload: { type: 'item_completed', thread_id: P, item: { type: 'AgentMessage' } },
    });
  });

  it('a patch of a paginated thread goes on a line Codex skips, using up no ordinal', async () => {
    const { home } = codexHome();
    const store = openStore(home);
    const t = await store.updateThreadMetadata({ threadId: P, patch: { model: 'patched-model' } });
    expect(t.model).toBe('patched-model');
    const lines = readFileSync(t.rolloutPath as string, 'utf8')
      .trim()
      .split('\n');
    const last = JSON.parse(lines.at(-1) as string) as { ordinal?: number; type: string };
    // A later session_meta would make Codex rebuild its model context from there.
    expect(last.type).toBe('skein_metadata_patch');
    expect(last.ordinal).toBeUndefined();
    // The next record continues the file's own numbering.
    await store.resumeThread({ threadId: P });
    await store.appendItems({ threadId: P, items: [agentMsg('after the patch') as RolloutItem] });
    await store.shutdownThread(P);
    const after = JSON.parse(
      readFileSync(t.rolloutPath as string, 'utf8')
        .trim()
        .split('\n')
        .at(-1) as string,
    ) as {
      ordinal: number;
    };
    expect(after.ordinal).toBe(6);
    // History is unchanged by the bookkeeping line.
    const h = await collectHistory((await store.readThread({ threadId: P, includeHistory: true })).history);
    expect(h.map((i) => i.ordinal)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect((await store.readThread({ threadId: P })).model).toBe('patched-model');
  });
});
