import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InMemoryThreadStore } from '@skein/thread-store-api';
import type { ThreadStore } from '@skein/thread-store-api';
import { LocalThreadStore } from '@skein/thread-store-local';
import { listenUnix, listenWebSocket } from '@skein/app-server';
import { startServer, stopServer } from './server-rig.js';
import type { ServerRig } from './server-rig.js';
import { RpcFailure, WsClient } from './ws-client.js';

interface Rig extends ServerRig {
  home: string;
}

const stores: { name: string; make: (home: string) => ThreadStore; paths: boolean }[] = [
  {
    name: 'LocalThreadStore',
    make: (home) => new LocalThreadStore({ home, defaultModelProvider: 'echo', fsync: 'never' }),
    paths: true,
  },
  { name: 'InMemoryThreadStore', make: () => new InMemoryThreadStore({ defaultModelProvider: 'echo' }), paths: false },
];

async function rig(make: (home: string) => ThreadStore): Promise<Rig> {
  const home = await mkdtemp(path.join(tmpdir(), 'skein-app-server-'));
  return { ...(await startServer(make(home), home)), home };
}

async function stop(r: Rig): Promise<void> {
  await stopServer(r);
  await rm(r.home, { recursive: true, force: true });
}

async function failure(p: Promise<unknown>): Promise<RpcFailure> {
  try {
    await p;
  } catch (e) {
    if (e instanceof RpcFailure) return e;
    throw e;
  }
  throw new Error('the request succeeded');
}

describe.each(stores)('app-server over $name', ({ make, paths }) => {
  let r: Rig;
  let c: WsClient;
  beforeEach(async () => {
    r = await rig(make);
    c = await WsClient.open(r.listener.url);
  });
  afterEach(async () => {
    await c.close();
    await stop(r);
  });

  it('starts a thread, runs an echo turn with its notifications, and the thread is stored', async () => {
    const started = await c.request('thread/start', { cwd: r.home });
    const threadId = started.thread.id as string;
    expect(started.thread).toMatchObject({ ephemeral: false, status: { type: 'idle' }, cwd: r.home, preview: '' });
    expect(started.modelProvider).toBe('echo');
    const res = await c.request('turn/start', {
      threadId,
      input: [{ type: 'text', text: 'hello there', text_elements: [] }],
    });
    expect(res.turn).toMatchObject({ status: 'inProgress', items: [], itemsView: 'notLoaded' });
    const done = await c.waitFor('turn/completed', (p) => p.turn.id === res.turn.id);
    expect(done.turn.status).toBe('completed');
    const agent = done.turn.items.find((i: any) => i.type === 'agentMessage');
    expect(agent.text).toBe('echo: hello there');
    const methods = c.notifications.map((n) => n.method);
    for (const m of [
      'thread/started',
      'turn/started',
      'item/started',
      'item/agentMessage/delta',
      'item/completed',
      'thread/tokenUsage/updated',
      'turn/completed',
    ])
      expect(methods).toContain(m);
    const deltas = c.notifications
      .filter((n) => n.method === 'item/agentMessage/delta')
      .map((n) => n.params.delta)
      .join('');
    expect(deltas).toBe('echo: hello there');
    const statuses = c.notifications
      .filter((n) => n.method === 'thread/status/changed')
      .map((n) => n.params.status.type);
    expect(statuses).toEqual(['active', 'idle']);

    const read = await c.request('thread/read', { threadId, includeTurns: true });
    expect(read.thread.preview).toBe('hello there');
    expect(read.thread.turns).toHaveLength(1);
    expect(read.thread.turns[0].items.map((i: any) => i.type)).toEqual(['userMessage', 'agentMessage']);
    expect(read.thread.originator).toBe('skein_test');
    expect(read.thread.path === null).toBe(!paths);
    const stored = await r.store.readThread({ threadId: threadId as never });
    expect(stored.preview).toBe('hello there');
  });

  it('lists with filters, sorts and cursors both ways', async () => {
    const ids: string[] = [];
    for (const text of ['one', 'two', 'three']) {
      const { thread } = await c.request('thread/start', {});
      const { turn } = await c.request('turn/start', { threadId: thread.id, input: [{ type: 'text', text }] });
      await c.waitFor('turn/completed', (p) => p.turn.id === turn.id);
      ids.push(thread.id);
    }
    const all = await c.request('thread/list', { sourceKinds: ['vscode'], modelProviders: [] });
    expect(all.data.map((t: any) => t.id)).toEqual([...ids].reverse());
    expect(all.data.every((t: any) => t.status.type === 'idle')).toBe(true);
    const asc = await c.request('thread/list', { sortKey: 'updated_at', sortDirection: 'asc', modelProviders: [] });
    expect(asc.data.map((t: any) => t.id)).toEqual(ids);
    // Paging forwards to the end, then backwards from the last page.
    const seen: string[] = [];
    let page = await c.request('thread/list', { limit: 1, modelProviders: [] });
    seen.push(...page.data.map((t: any) => t.id));
    while (page.nextCursor) {
      page = await c.request('thread/list', { limit: 1, cursor: page.nextCursor, modelProviders: [] });
      seen.push(...page.data.map((t: any) => t.id));
    }
    expect(seen).toEqual([...ids].reverse());
    // Codex's backwards cursor is followed in the other direction and holds the page's first thread.
    const back = await c.request('thread/list', {
      limit: 3,
      cursor: page.backwardsCursor,
      sortDirection: 'asc',
      modelProviders: [],
    });
    expect(back.data.map((t: any) => t.id)).toEqual(ids);
    expect(
      (await c.request('thread/list', { searchTerm: 'two', modelProviders: [] })).data.map((t: any) => t.id),
    ).toEqual([ids[1]]);
    expect((await c.request('thread/list', { sourceKinds: ['exec'], modelProviders: [] })).data).toEqual([]);
    expect((await c.request('thread/list', { modelProviders: ['openai'] })).data).toEqual([]);
    expect((await c.request('thread/list', { cwd: '/nowhere', modelProviders: [] })).data).toEqual([]);
    expect((await c.request('thread/list', { excludedThreadIds: [ids[0]], modelProviders: [] })).data).toHaveLength(2);
    expect((await c.request('thread/list', { sectionId: 'x', sortKey: 'section_position' })).data).toEqual([]);
    expect((await failure(c.request('thread/list', { sortKey: 'section_position' }))).code).toBe(-32600);
    expect((await failure(c.request('thread/list', { cursor: 'garbage' }))).message).toBe('invalid cursor: garbage');
    expect((await failure(c.request('thread/list', { sortKey: 'bogus' }))).code).toBe(-32600);
    expect((await failure(c.request('thread/list', { originators: ['codex_exec'] }))).code).toBe(-32602);

    // Turn and item pages.
    const turns = await c.request('thread/turns/list', { threadId: ids[0], limit: 1 });
    expect(turns.data).toHaveLength(1);
    const items = await c.request('thread/items/list', { threadId: ids[0], limit: 1 });
    expect(items.data[0].item.type).toBe('userMessage');
    const more = await c.request('thread/items/list', { threadId: ids[0], limit: 1, cursor: items.nextCursor });
    expect(more.data[0].item.type).toBe('agentMessage');
    expect(more.data[0].turnId).toBe(turns.data[0].id);
    expect((await failure(c.request('thread/turns/list', { threadId: ids[0], cursor: 'garbage' }))).code).toBe(-32600);
  });

  it("walks turn pages back with Codex's backwards cursors: the other direction, the anchor included", async () => {
    const { thread } = await c.request('thread/start', {});
    const threadId = thread.id as string;
    const turnIds: string[] = [];
    for (const text of ['t1', 't2', 't3', 't4', 't5']) {
      const { turn } = await c.request('turn/start', { threadId, input: [{ type: 'text', text }] });
      await c.waitFor('turn/completed', (p) => p.turn.id === turn.id);
      turnIds.push(turn.id);
    }
    const ids = (page: any): string[] => page.data.map((t: any) => t.id);
    const list = (params: Record<string, unknown>): Promise<any> =>
      c.request('thread/turns/list', { threadId, limit: 2, ...params });
    // Forwards, newest first: [t5 t4] [t3 t2] [t1]; every non-empty page has a backwards cursor.
    const p1 = await list({});
    const p2 = await list({ cursor: p1.nextCursor });
    const p3 = await list({ cursor: p2.nextCursor });
    expect([ids(p1), ids(p2), ids(p3)]).toEqual([
      turnIds.slice(3).reverse(),
      turnIds.slice(1, 3).reverse(),
      [turnIds[0]],
    ]);
    expect(p3.nextCursor).toBeNull();
    expect([p1, p2, p3].every((p) => typeof p.backwardsCursor === 'string')).toBe(true);
    // Back from the second page, oldest first from its first turn: [t3 t4] [t5].
    const b1 = await list({ sortDirection: 'asc', cursor: p2.backwardsCursor });
    expect(ids(b1)).toEqual([turnIds[2], turnIds[3]]);
    const b2 = await list({ sortDirection: 'asc', cursor: b1.nextCursor });
    expect(ids(b2)).toEqual([turnIds[4]]);
    expect(b2.nextCursor).toBeNull();
    // And back again from that walk: newest first from its first turn.
    const f1 = await list({ cursor: b1.backwardsCursor });
    expect(ids(f1)).toEqual([turnIds[2], turnIds[1]]);
    const f2 = await list({ cursor: b2.backwardsCursor, limit: 3 });
    expect(ids(f2)).toEqual([turnIds[4], turnIds[3], turnIds[2]]);
    // From the first page: only its first turn is at or after it.
    const top = await list({ sortDirection: 'asc', cursor: p1.backwardsCursor });
    expect(ids(top)).toEqual([turnIds[4]]);
    expect(top.nextCursor).toBeNull();
    // A cursor is served in the direction it was made for.
    expect((await failure(list({ sortDirection: 'asc', cursor: p1.nextCursor }))).message).toBe(
      `invalid cursor: ${p1.nextCursor}`,
    );
    // Items follow the same rule.
    const items = await c.request('thread/items/list', { threadId, limit: 3, sortDirection: 'desc' });
    const itemsBack = await c.request('thread/items/list', {
      threadId,
      limit: 2,
      sortDirection: 'asc',
      cursor: items.backwardsCursor,
    });
    expect(itemsBack.data.map((i: any) => i.item.id)).toEqual([items.data[0].item.id]);
    expect(itemsBack.nextCursor).toBeNull();
  });

  it('renames, archives, unarchives and deletes with notifications; unknown ids fail', async () => {
    const { thread } = await c.request('thread/start', {});
    const { turn } = await c.request('turn/start', { threadId: thread.id, input: [{ type: 'text', text: 'keep me' }] });
    await c.waitFor('turn/completed', (p) => p.turn.id === turn.id);
    await c.request('thread/name/set', { threadId: thread.id, name: 'A name' });
    expect((await c.waitFor('thread/name/updated')).threadName).toBe('A name');
    expect((await c.request('thread/read', { threadId: thread.id })).thread.name).toBe('A name');
    expect((await failure(c.request('thread/name/set', { threadId: thread.id, name: '' }))).message).toBe(
      'thread name must not be empty',
    );
    await c.request('thread/archive', { threadId: thread.id });
    await c.waitFor('thread/archived');
    expect((await c.request('thread/loaded/list', {})).data).toEqual([]);
    expect((await c.request('thread/list', { archived: true, modelProviders: [] })).data.map((t: any) => t.id)).toEqual(
      [thread.id],
    );
    const un = await c.request('thread/unarchive', { threadId: thread.id });
    expect(un.thread.id).toBe(thread.id);
    await c.waitFor('thread/unarchived');
    const meta = await c.request('thread/metadata/update', { threadId: thread.id, gitInfo: { branch: 'main' } });
    expect(meta.thread.gitInfo).toEqual({ sha: null, branch: 'main', originUrl: null });
    await c.request('thread/delete', { threadId: thread.id });
    await c.waitFor('thread/deleted');
    const unknown = '00000000-0000-7000-8000-000000000000';
    expect((await failure(c.request('thread/read', { threadId: unknown }))).message).toBe(
      `thread not loaded: ${unknown}`,
    );
    expect((await failure(c.request('thread/read', { threadId: thread.id }))).code).toBe(-32600);
    expect((await failure(c.request('thread/archive', { threadId: unknown }))).code).toBe(-32600);
    expect((await failure(c.request('thread/read', {}))).message).toBe('Invalid request: missing field `threadId`');
    expect((await failure(c.request('thread/read', { threadId: 'nope' }))).message).toBe('invalid thread id: nope');
    expect((await failure(c.request('turn/start', { threadId: unknown, input: [] }))).code).toBe(-32600);
    expect((await failure(c.request('thread/compact/start', { threadId: unknown }))).code).toBe(-32601);
    expect((await c.request('model/list', {})).data).toEqual([]);
  });

  it('resumes and forks a stored thread; ephemeral threads are never stored', async () => {
    const { thread } = await c.request('thread/start', {});
    for (const text of ['first', 'second']) {
      const { turn } = await c.request('turn/start', { threadId: thread.id, input: [{ type: 'text', text }] });
      await c.waitFor('turn/completed', (p) => p.turn.id === turn.id);
    }
    await c.request('thread/unsubscribe', { threadId: thread.id });
    const other = await WsClient.open(r.listener.url);
    try {
      const resumed = await other.request('thread/resume', { threadId: thread.id });
      expect(resumed.thread.turns).toHaveLength(2);
      expect(resumed.thread.status.type).toBe('idle');
      const turns = resumed.thread.turns as { id: string }[];
      const fork = await other.request('thread/fork', { threadId: thread.id, lastTurnId: turns[0]!.id });
      expect(fork.thread.forkedFromId).toBe(thread.id);
      expect(fork.thread.turns).toHaveLength(1);
      const eph = await other.request('thread/start', { ephemeral: true });
      expect(eph.thread).toMatchObject({ ephemeral: true, path: null });
      const { turn } = await other.request('turn/start', {
        threadId: eph.thread.id,
        input: [{ type: 'text', text: 'x' }],
      });
      const done = await other.waitFor('turn/completed', (p) => p.turn.id === turn.id);
      expect(done.turn.status).toBe('completed');
      await expect(r.store.readThread({ threadId: eph.thread.id })).rejects.toMatchObject({ code: 'not_found' });
      expect((await other.request('thread/unsubscribe', { threadId: eph.thread.id })).status).toBe('unsubscribed');
      expect((await other.request('thread/unsubscribe', { threadId: eph.thread.id })).status).toBe('notLoaded');
    } finally {
      await other.close();
    }
  });
});

describe('transports', () => {
  it('answers /readyz and /healthz, refuses bad tokens, and refuses a public address without auth', async () => {
    const r = await rig(stores[1]!.make);
    try {
      const http = r.listener.url.replace(/^ws:/, 'http:');
      expect((await fetch(`${http}/readyz`)).status).toBe(200);
      expect((await fetch(`${http}/healthz`)).status).toBe(200);
      await expect(listenWebSocket(r.server, { host: '0.0.0.0', port: 0 })).rejects.toMatchObject({
        code: 'invalid_request',
      });
      const authed = await listenWebSocket(r.server, {
        host: '127.0.0.1',
        port: 0,
        auth: { mode: 'capability-token', token: 's3cret' },
      });
      try {
        await expect(WsClient.open(authed.url)).rejects.toThrow(/401/);
        await expect(WsClient.open(authed.url, { authorization: 'Bearer wrong' })).rejects.toThrow(/401/);
        const ok = await WsClient.open(authed.url, { authorization: 'Bearer s3cret' });
        expect((await ok.request('thread/loaded/list', {})).data).toEqual([]);
        await ok.close();
      } finally {
        await authed.close();
      }
      // Before initialize, requests are refused; bad JSON is a parse error.
      const raw = await WsClient.open(r.listener.url, {}, false);
      expect((await failure(raw.request('thread/list', {}))).message).toBe('Not initialized');
      await raw.close();
      // A unix socket carries the same protocol.
      const sock = path.join(r.home, 'app.sock');
      const unix = await listenUnix(r.server, sock);
      try {
        const viaUnix = await WsClient.open(`ws+unix://${sock}:/`);
        expect((await viaUnix.request('thread/list', {})).data).toEqual([]);
        await viaUnix.close();
      } finally {
        await unix.close();
      }
      await writeFile(path.join(r.home, 'x'), '');
    } finally {
      await stop(r);
    }
  });
});
