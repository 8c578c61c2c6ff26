import { cp, mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { codexBinaryPath, codexEnv, makeCodexHome, startMockResponsesServer } from '../src/harness.js';
import type { CodexHome, MockResponsesServer } from '../src/harness.js';
import { generateCodexThreads } from './support/codex-threads.js';
import type { CodexThreadSet } from './support/codex-threads.js';
import { StdioRpc } from './support/stdio-rpc.js';
import type { RpcOutcome } from './support/stdio-rpc.js';

/**
 * The same request scripts against the real `codex app-server` 0.169 and `skein app-server`, each
 * on its own byte-identical copy of a home real Codex wrote, compared field by field after these
 * normalisations (and nothing else):
 *
 * 1. Paths: Codex serves the home it wrote, Skein a byte-identical copy made before either
 *    server started, so each home's folder is replaced by `<home>`.
 * 2. Cursors: opaque, so only whether one is present is compared, and every page after the
 *    first is fetched with the server's own cursor, so the pages themselves are compared. Turn
 *    and item cursors are in each server's own format (Codex: JSON anchors; Skein: versioned
 *    keyset tokens). `thread/list` cursors are in Codex's formats on both (`<time>|<id>`
 *    positions, bare-time backwards cursors), but a Skein position keeps a creation time's
 *    milliseconds where Codex's state database has whole seconds, so even those strings can
 *    differ. Every page's backwards cursor is followed too, with the opposite `sortDirection`
 *    as the protocol means it (`pageBothWays`), for listings as for turns and items.
 * 3. Read state (`readStates`, `readState`): Codex keeps a per-thread unread marker, Skein keeps
 *    no read state (it answers `{}` and `null`); dropped.
 * 4. The thread made under TZ=Pacific/Kiritimati is left out of listings (`excludedThreadIds`):
 *    Codex orders it by its local-time file name read as UTC, fourteen hours late; Skein orders
 *    it by its true creation time (a known Codex quirk, pinned in far-timezone.test.ts).
 * 5. `thread/items/list` is compared on paginated threads: on legacy ones Codex 0.169 answers
 *    -32601 "thread/items/list is not supported yet", and Skein pages their items like any other.
 * 6. Listings in the mutation scripts leave out the far-TZ thread too (see 4).
 * 7. `recencyAt` / `updatedAt` one second apart: Codex reports them from its state database,
 *    Skein from the rollout (last turn start, last write); on a few threads they land on either
 *    side of a second boundary. Such gaps are collected and bounded (at most three distinct
 *    values, each exactly one second) instead of hidden; any larger difference fails.
 *    (The legacy-mode thread's turns are two seconds apart, so `thread/read` without turns, where
 *    Codex reports a legacy thread's creation time as updatedAt, is checked to the second.)
 * 8. Error messages: compared where Skein uses Codex's words (listed per request); elsewhere only
 *    the JSON-RPC code is compared, since the reason is worded by each server.
 */

const SKEIN_BIN = path.resolve(fileURLToPath(new URL('.', import.meta.url)), '../../skein/dist/bin.js');
const ALL_KINDS = [
  'cli',
  'vscode',
  'exec',
  'appServer',
  'subAgent',
  'subAgentReview',
  'subAgentCompact',
  'subAgentThreadSpawn',
  'subAgentOther',
  'unknown',
];

type Call = (method: string, params?: unknown) => Promise<RpcOutcome>;

function normalise(value: unknown, homes: string[], key = ''): unknown {
  if (key === 'nextCursor') return value === null ? null : '<cursor>';
  if (key === 'backwardsCursor') return value === null ? null : '<backwards cursor>';
  if (typeof value === 'string') return homes.reduce((s, h) => s.split(h).join('<home>'), value);
  if (Array.isArray(value)) return value.map((v) => normalise(v, homes));
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (k === 'readStates' || k === 'readState') continue;
      out[k] = normalise(v, homes, k);
    }
    return out;
  }
  return value;
}

/** Pages `method` to the end with `limit` and returns every page. */
async function pageForward(call: Call, method: string, params: Record<string, unknown>): Promise<RpcOutcome[]> {
  const trace: RpcOutcome[] = [];
  let o = await call(method, params);
  trace.push(o);
  for (let i = 0; i < 200 && 'result' in o && o.result.nextCursor; i++) {
    o = await call(method, { ...params, cursor: o.result.nextCursor });
    trace.push(o);
  }
  return trace;
}

/**
 * Pages `method` to the end in `sortDirection`, and from every page follows its backwards cursor
 * the way the protocol means it (with the opposite `sortDirection`), paging that walk to its end
 * too.
 */
async function pageBothWays(call: Call, method: string, params: Record<string, unknown>): Promise<unknown[]> {
  const flipped = params.sortDirection === 'asc' ? 'desc' : 'asc';
  const forward = await pageForward(call, method, params);
  const trace: unknown[] = [forward];
  for (const o of forward)
    if ('result' in o && o.result.backwardsCursor)
      trace.push(
        await pageForward(call, method, { ...params, sortDirection: flipped, cursor: o.result.backwardsCursor }),
      );
  return trace;
}

/** `recencyAt` / `updatedAt` values one second apart (normalisation 7), collected instead of failing. */
const recencyGaps: string[] = [];

/** Every path where `skein` differs from `codex`, with both values. */
function differences(codex: unknown, skein: unknown, at: string): string[] {
  if (
    (at.endsWith('.recencyAt') || at.endsWith('.updatedAt')) &&
    typeof codex === 'number' &&
    typeof skein === 'number' &&
    Math.abs(codex - skein) === 1
  ) {
    recencyGaps.push(`${at}: codex ${codex} skein ${skein}`);
    return [];
  }
  if (typeof codex === 'object' && codex !== null && typeof skein === 'object' && skein !== null) {
    if (Array.isArray(codex) !== Array.isArray(skein)) return [`${at}: codex ${show(codex)} skein ${show(skein)}`];
    const keys = new Set([...Object.keys(codex), ...Object.keys(skein)]);
    const out: string[] = [];
    if (Array.isArray(codex) && Array.isArray(skein) && codex.length !== skein.length)
      out.push(`${at}.length: codex ${codex.length} skein ${skein.length}`);
    for (const k of keys) {
      const a = (codex as Record<string, unknown>)[k];
      const b = (skein as Record<string, unknown>)[k];
      if (!(k in codex) || !(k in skein)) out.push(`${at}.${k}: codex ${show(a)} skein ${show(b)}`);
      else out.push(...differences(a, b, `${at}.${k}`));
    }
    return out;
  }
  return Object.is(codex, skein) ? [] : [`${at}: codex ${show(codex)} skein ${show(skein)}`];
}

/** `[turnId, itemId, type]` of every item of `turns`, in order. */
function ofTurns(turns: any[]): string[][] {
  return turns.flatMap((t: any) => t.items.map((i: any) => [t.id, i.id, i.type]));
}

function show(v: unknown): string {
  return v === undefined ? 'absent' : JSON.stringify(v).slice(0, 160);
}

interface Server {
  name: string;
  rpc: StdioRpc;
  home: string;
}

describe('skein app-server answers like codex app-server 0.169 on a home Codex wrote', () => {
  let mock: MockResponsesServer;
  let source: CodexHome;
  let set: CodexThreadSet;
  let codex: Server;
  let skein: Server;
  const copies: string[] = [];
  const mismatches: string[] = [];

  beforeAll(async () => {
    mock = await startMockResponsesServer({ port: 0 });
    source = await makeCodexHome(mock.url);
    set = await generateCodexThreads(source);
    // Skein gets a byte-identical copy made before either server starts; Codex keeps the home it
    // wrote, since its state database records absolute rollout paths there.
    const copy = await mkdtemp(path.join(path.dirname(source.path), 'skein-diff-copy-'));
    await cp(source.path, copy, { recursive: true, preserveTimestamps: true });
    copies.push(copy);
    const start = async (name: string, home: string, cmd: string, args: string[]): Promise<Server> => ({
      name,
      home,
      rpc: await StdioRpc.start(cmd, args, codexEnv(home), set.workDir),
    });
    codex = await start('codex', source.path, codexBinaryPath(), ['app-server']);
    skein = await start('skein', copy, process.execPath, [SKEIN_BIN, 'app-server', '--home', copy]);
  }, 240_000);

  afterAll(() => {
    expect(new Set(recencyGaps.map((g) => g.replace(/^.*?: /, ''))).size).toBeLessThanOrEqual(3);
  });

  afterAll(async () => {
    await codex?.rpc.close();
    await skein?.rpc.close();
    for (const c of copies) await rm(c, { recursive: true, force: true });
    await source?.remove();
    await mock?.close();
  });

  /** Runs `script` against both servers and records every difference. */
  async function same(label: string, script: (call: Call) => Promise<unknown>, messages = false): Promise<void> {
    const run = async (s: Server): Promise<unknown> =>
      normalise(await script((m, p) => s.rpc.call(m, p)), [s.home, source.path]);
    const [a, b] = [await run(codex), await run(skein)];
    const strip = (v: unknown): unknown =>
      messages
        ? v
        : JSON.parse(JSON.stringify(v), (k, x: unknown) =>
            k === 'message' && typeof x === 'string' ? '<message>' : x,
          );
    const found = differences(strip(a), strip(b), '');
    if (found.length > 0) mismatches.push(`${label}: ${found.slice(0, 12).join(' | ')}`);
  }

  beforeEach(() => {
    mismatches.length = 0;
  });

  it('lists with every filter and sort, paging to the end and back', async () => {
    const lists: [string, Record<string, unknown>][] = [
      ['default', {}],
      ['every kind and provider', { sourceKinds: ALL_KINDS, modelProviders: [] }],
      ['exec only', { sourceKinds: ['exec'] }],
      ['vscode only', { sourceKinds: ['vscode'] }],
      ['appServer only', { sourceKinds: ['appServer'], modelProviders: [] }],
      ['provider mock', { sourceKinds: ALL_KINDS, modelProviders: ['mock'] }],
      ['unknown provider', { sourceKinds: ALL_KINDS, modelProviders: ['nobody'] }],
      ['cwd', { sourceKinds: ALL_KINDS, cwd: set.workDir }],
      ['cwd list', { sourceKinds: ALL_KINDS, cwd: [set.unicodeDir] }],
      ['archived', { sourceKinds: ALL_KINDS, archived: true }],
      ['search', { sourceKinds: ALL_KINDS, searchTerm: 'alpha' }],
      ['state db only', { sourceKinds: ALL_KINDS, useStateDbOnly: true }],
      [
        'section filter',
        { sourceKinds: ALL_KINDS, sectionId: '01984de2-8f74-7c91-a3b2-5c5e937cf318', sortKey: 'section_position' },
      ],
    ];
    const listing = { sourceKinds: ALL_KINDS, modelProviders: [], excludedThreadIds: [set.farTz] };
    for (const [label, params] of lists)
      await same(`thread/list ${label}`, (call) => call('thread/list', { excludedThreadIds: [set.farTz], ...params }));
    for (const sortKey of ['created_at', 'updated_at', 'recency_at'])
      for (const sortDirection of ['asc', 'desc']) {
        await same(`thread/list paged ${sortKey} ${sortDirection}`, (call) =>
          pageBothWays(call, 'thread/list', { ...listing, sortKey, sortDirection, limit: 2 }),
        );
        // Cursors a client may hold from elsewhere: instants in every RFC 3339 spelling Codex
        // reads, before, inside and after the home's threads, and positions with ids in other forms.
        const now = new Date();
        const hourAgo = new Date(now.getTime() - 3_600_000);
        const cursors = [
          '0000-01-01T00:00:00Z',
          '9999-12-31T23:59:59Z',
          hourAgo.toISOString(),
          `${hourAgo.toISOString().slice(0, 10)} ${hourAgo.toISOString().slice(11, 19)}+00:00`,
          `${hourAgo.toISOString().slice(0, 19)}.123456789z`.replace('T', 't'),
          `${now.toISOString().slice(0, 19)}+02:00`,
          `9999-12-31T23:59:59Z|${set.single.toUpperCase()}`,
          `0000-01-01T00:00:00Z|${set.single.replace(/-/g, '')}`,
        ];
        for (const cursor of cursors)
          await same(`thread/list from ${cursor} ${sortKey} ${sortDirection}`, (call) =>
            pageBothWays(call, 'thread/list', { ...listing, sortKey, sortDirection, limit: 3, cursor }),
          );
      }
    expect(mismatches).toEqual([]);
  });

  it('reads every thread, its turn pages and item pages', async () => {
    const legacy = new Set([set.legacy, set.legacyFork]);
    const ids = [
      set.farTz,
      set.single,
      set.multi,
      set.fork,
      set.failed,
      set.unicode,
      set.archived,
      set.named,
      set.legacy,
      set.legacyFork,
    ];
    for (const threadId of ids) {
      await same(`thread/read ${threadId}`, (call) => call('thread/read', { threadId }));
      await same(`thread/read turns ${threadId}`, (call) => call('thread/read', { threadId, includeTurns: true }));
      await same(`thread/turns/list ${threadId}`, (call) => call('thread/turns/list', { threadId }));
      for (const itemsView of ['notLoaded', 'summary', 'full'])
        await same(`thread/turns/list ${itemsView} ${threadId}`, (call) =>
          call('thread/turns/list', { threadId, itemsView }),
        );
      for (const sortDirection of ['asc', 'desc'])
        for (const limit of [1, 2])
          await same(`thread/turns/list paged ${sortDirection} ${limit} ${threadId}`, (call) =>
            pageBothWays(call, 'thread/turns/list', { threadId, limit, sortDirection }),
          );
      if (legacy.has(threadId)) continue;
      for (const sortDirection of ['asc', 'desc'])
        for (const limit of [1, 3])
          await same(`thread/items/list paged ${sortDirection} ${limit} ${threadId}`, (call) =>
            pageBothWays(call, 'thread/items/list', { threadId, limit, sortDirection }),
          );
      await same(`thread/items/list ${threadId}`, (call) => call('thread/items/list', { threadId }));
      const first = await skein.rpc.call('thread/turns/list', { threadId, sortDirection: 'asc', limit: 1 });
      const turnId = 'result' in first ? (first.result.data[0]?.id as string | undefined) : undefined;
      if (turnId !== undefined)
        await same(`thread/items/list of a turn ${threadId}`, (call) =>
          call('thread/items/list', { threadId, turnId }),
        );
    }
    expect(mismatches).toEqual([]);
  });

  it('fails the same way on unknown ids, bad cursors and bad params', async () => {
    const unknown = '00000000-0000-7000-8000-000000000000';
    const worded: [string, string, unknown][] = [
      ['read unknown', 'thread/read', { threadId: unknown }],
      ['read missing id', 'thread/read', {}],
      ['list bad cursor', 'thread/list', { cursor: 'garbage' }],
      ['list cursor without offset', 'thread/list', { cursor: '2026-01-10T10:00:02' }],
      ['list cursor with a bad id', 'thread/list', { cursor: '2026-01-10T10:00:02Z|nonsense' }],
      ['list cursor of three parts', 'thread/list', { cursor: '2026-01-10T10:00:02Z|x|y' }],
      ['list cursor past a month end', 'thread/list', { cursor: '2026-02-30T10:00:00Z' }],
      ['list empty cursor', 'thread/list', { cursor: '' }],
      ['list section sort', 'thread/list', { sortKey: 'section_position' }],
      ['list bad sort', 'thread/list', { sortKey: 'bogus' }],
      ['turns bad cursor', 'thread/turns/list', { threadId: set.single, cursor: 'garbage' }],
      ['archive unknown', 'thread/archive', { threadId: unknown }],
      ['unarchive active', 'thread/unarchive', { threadId: set.single }],
      ['name empty', 'thread/name/set', { threadId: set.single, name: '' }],
      ['interrupt not loaded', 'turn/interrupt', { threadId: set.single, turnId: 'x' }],
    ];
    for (const [label, method, params] of worded) await same(label, (call) => call(method, params), true);
    await same('read bad id', (call) => call('thread/read', { threadId: 'nope' }));
    await same('list originators', (call) => call('thread/list', { originators: ['codex_exec'] }));
    await same('items of an unknown turn', (call) =>
      call('thread/items/list', { threadId: set.single, turnId: 'nope' }),
    );
    await same('limit 0', (call) => call('thread/list', { limit: 0, excludedThreadIds: [set.farTz] }));
    await same('loaded list', (call) => call('thread/loaded/list', {}));
    await same('unsubscribe not loaded', (call) => call('thread/unsubscribe', { threadId: set.single }));
    expect(mismatches).toEqual([]);
  });

  it('renames, archives, unarchives, updates metadata and deletes the same way', async () => {
    const t = set.multi;
    await same('rename', async (call) => [
      await call('thread/name/set', { threadId: t, name: 'Renamed ✓' }),
      await call('thread/read', { threadId: t }),
    ]);
    await same(
      'archive',
      async (call) => [
        await call('thread/archive', { threadId: t }),
        await call('thread/read', { threadId: t }),
        await call('thread/list', { sourceKinds: ALL_KINDS, archived: true, excludedThreadIds: [set.farTz] }),
        await call('thread/turns/list', { threadId: t }),
      ],
      true,
    );
    await same('archived errors', async (call) => [await call('thread/name/set', { threadId: t, name: 'x' })], true);
    await same('unarchive', async (call) => [
      await call('thread/unarchive', { threadId: t }),
      await call('thread/list', { sourceKinds: ALL_KINDS, archived: false, excludedThreadIds: [set.farTz] }),
    ]);
    await same('metadata', async (call) => [
      await call('thread/metadata/update', { threadId: set.single, gitInfo: { branch: 'main', sha: 'abc' } }),
      await call('thread/metadata/update', { threadId: set.single, gitInfo: { sha: null } }),
    ]);
    await same(
      'delete',
      async (call) => [
        await call('thread/delete', { threadId: set.unicode }),
        await call('thread/read', { threadId: set.unicode }),
        await call('thread/list', { sourceKinds: ALL_KINDS, modelProviders: [], excludedThreadIds: [set.farTz] }),
      ],
      true,
    );
    expect(mismatches).toEqual([]);
  });

  it('runs a turn whose items keep the ids they were notified with, on both servers', async () => {
    // Last in this file: each server gets a thread of its own, which the listings above would show.
    const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
    const ran: Record<string, { threadId: string; live: string[][] }> = {};
    for (const s of [codex, skein]) {
      const call = (m: string, p: unknown) =>
        s.rpc
          .call(m, p)
          .then((o) => ('result' in o ? o.result : Promise.reject(new Error(`${s.name} ${m}: ${o.error.message}`))));
      const { thread } = await call('thread/start', { cwd: set.workDir });
      const from = s.rpc.notifications.length;
      const { turn } = await call('turn/start', {
        threadId: thread.id,
        input: [{ type: 'text', text: 'ids stay', text_elements: [] }],
      });
      await s.rpc.waitFor((n) => n.method === 'turn/completed' && n.params.turn.id === turn.id, from);
      const seen = s.rpc.notifications.slice(from).filter((n) => n.params?.threadId === thread.id);
      const started = new Set(seen.filter((n) => n.method === 'item/started').map((n) => n.params.item.id));
      const live = seen
        .filter((n) => n.method === 'item/completed')
        .map((n) => [n.params.turnId, n.params.item.id, n.params.item.type] as string[]);
      expect(
        live.map((x) => x[2]),
        s.name,
      ).toEqual(['userMessage', 'agentMessage']);
      expect(
        live.every((x) => started.has(x[1])),
        s.name,
      ).toBe(true);
      expect(live[0]?.[1], s.name).toMatch(UUID_V7);
      const read = await call('thread/read', { threadId: thread.id, includeTurns: true });
      const turns = await call('thread/turns/list', { threadId: thread.id, itemsView: 'full' });
      const items = await call('thread/items/list', { threadId: thread.id });
      expect(ofTurns(read.thread.turns), `${s.name} thread/read`).toEqual(live);
      expect(ofTurns(turns.data), `${s.name} thread/turns/list`).toEqual(live);
      expect(
        items.data.map((e: any) => [e.turnId, e.item.id, e.item.type]),
        `${s.name} thread/items/list`,
      ).toEqual(live);
      ran[s.name] = { threadId: thread.id, live };
    }
    // Codex reads the turn Skein wrote under the ids Skein notified.
    const mine = ran.skein!;
    const reader = await StdioRpc.start(codexBinaryPath(), ['app-server'], codexEnv(skein.home), set.workDir);
    try {
      const read = await reader.call('thread/read', { threadId: mine.threadId, includeTurns: true });
      expect('result' in read ? ofTurns(read.result.thread.turns) : read).toEqual(mine.live);
    } finally {
      await reader.close();
    }
  });
});
