import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EchoModelClient } from '@skein/core-session';
import { InMemoryThreadStore, newThreadId } from '@skein/thread-store-api';
import type { ThreadId, ThreadStore } from '@skein/thread-store-api';
import { LocalThreadStore } from '@skein/thread-store-local';
import { ThreadManager } from '@skein/thread-manager';
import { AppServer, listenWebSocket } from '@skein/app-server';
import type { AppServerListener } from '@skein/app-server';
import { parseCodexListCursor, parseRfc3339 } from '../src/internal/list-cursors.js';
import { RpcFailure, WsClient } from './ws-client.js';

describe("Codex's thread/list cursor formats", () => {
  it('reads RFC 3339 times the way Codex does', () => {
    const t = Date.UTC(2026, 0, 10, 10, 0, 2);
    expect(parseRfc3339('2026-01-10T10:00:02Z')).toBe(t);
    expect(parseRfc3339('2026-01-10t10:00:02z')).toBe(t);
    expect(parseRfc3339('2026-01-10 10:00:02Z')).toBe(t);
    expect(parseRfc3339('2026-01-10T12:00:02+02:00')).toBe(t);
    expect(parseRfc3339('2026-01-10T09:30:02-00:30')).toBe(t);
    expect(parseRfc3339('2026-01-10T10:00:02.5Z')).toBe(t + 500);
    expect(parseRfc3339('2026-01-10T10:00:02.123456789Z')).toBeCloseTo(t + 123.456789, 6);
    expect(parseRfc3339('2024-02-29T00:00:00Z')).toBe(Date.UTC(2024, 1, 29));
    expect(parseRfc3339('0000-01-01T00:00:00Z')).toBe(-62_167_219_200_000);
    for (const bad of [
      '2026-01-10T10:00:02',
      '1768039202',
      '',
      ' 2026-01-10T10:00:02Z',
      '2026-01-10T10:00:60Z',
      '2026-02-30T10:00:00Z',
      '2025-02-29T10:00:00Z',
      '2026-13-01T10:00:00Z',
      '2026-01-10T24:00:00Z',
      '2026-01-10T10:00:02.Z',
      '2026-01-10T10:00:02,5Z',
    ])
      expect(parseRfc3339(bad), bad).toBeNull();
  });

  it('reads positions with a UUID in any form, and bare instants; anything else is no cursor', () => {
    const id = '019b0000-0000-7000-8000-00000000000e';
    const at = Date.UTC(2026, 0, 10, 10, 0, 2);
    for (const form of [id, id.toUpperCase(), id.replace(/-/g, ''), `{${id}}`, `urn:uuid:${id}`])
      expect(parseCodexListCursor(`2026-01-10T10:00:02Z|${form}`), form).toEqual({
        kind: 'position',
        atMs: at,
        threadId: id,
      });
    expect(parseCodexListCursor('2026-01-10T10:00:02.25Z')).toEqual({ kind: 'instant', atMs: at + 250 });
    for (const bad of ['|', `|${id}`, '2026-01-10T10:00:02Z|', '2026-01-10T10:00:02Z|x|y', '2026-01-10T10:00:02Z|nope'])
      expect(parseCodexListCursor(bad), bad).toBeNull();
  });
});

const stores: { name: string; make: (home: string) => ThreadStore }[] = [
  {
    name: 'LocalThreadStore',
    make: (home) => new LocalThreadStore({ home, defaultModelProvider: 'echo', fsync: 'never' }),
  },
  { name: 'InMemoryThreadStore', make: () => new InMemoryThreadStore({ defaultModelProvider: 'echo' }) },
];

const T = (s: string): Date => new Date(`2026-01-10T${s}Z`);

/** Six threads: creation times with two in one second and a thread exactly on a second. */
const CREATED = ['10:00:00.250', '10:00:00.750', '10:00:01.100', '10:00:02.000', '10:00:02.900', '10:00:03.500'];
const UPDATED = ['11:00:05.000', '11:00:01.100', '11:00:04.400', '11:00:02.999', '11:00:03.000', '11:00:00.001'];

async function seed(store: ThreadStore, home: string): Promise<ThreadId[]> {
  const ids: ThreadId[] = [];
  for (const [i, created] of CREATED.entries()) {
    const threadId = newThreadId();
    await store.createThread({
      threadId,
      source: { kind: 'cli' },
      originator: 'skein_test',
      cliVersion: '9.9.9',
      createdAt: T(created),
      metadata: { cwd: home, modelProvider: 'echo' },
    });
    await store.appendItems({
      threadId,
      items: [{ type: 'event_msg', payload: { type: 'user_message', message: `thread ${i}`, images: [] } }],
    });
    await store.flushThread(threadId);
    await store.shutdownThread(threadId);
    await store.updateThreadMetadata({ threadId, patch: { updatedAt: T(UPDATED[i] as string) } });
    ids.push(threadId);
  }
  return ids;
}

describe.each(stores)('thread/list cursors over $name', ({ make }) => {
  let home: string;
  let store: ThreadStore;
  let manager: ThreadManager;
  let server: AppServer;
  let listener: AppServerListener;
  let c: WsClient;
  let ids: ThreadId[];

  beforeEach(async () => {
    home = await mkdtemp(path.join(tmpdir(), 'skein-list-cursors-'));
    store = make(home);
    ids = await seed(store, home);
    manager = new ThreadManager({ store, model: new EchoModelClient(), defaults: { cwd: home } });
    server = new AppServer({ manager, codexHome: home, defaultCwd: home, cliVersion: '9.9.9' });
    listener = await listenWebSocket(server, { host: '127.0.0.1', port: 0 });
    c = await WsClient.open(listener.url);
  });
  afterEach(async () => {
    await c.close();
    await listener.close();
    await server.close();
    await manager.shutdownAll();
    await store.close();
    await rm(home, { recursive: true, force: true });
  });

  const list = async (params: Record<string, unknown>): Promise<{ ids: number[]; next: any; back: any }> => {
    const page = await c.request('thread/list', { modelProviders: [], ...params });
    return {
      ids: page.data.map((t: any) => ids.indexOf(t.id)),
      next: page.nextCursor,
      back: page.backwardsCursor,
    };
  };

  it('writes next cursors as positions and backwards cursors as instants, as Codex does', async () => {
    const first = await list({ limit: 2 });
    expect(first).toEqual({ ids: [5, 4], next: `2026-01-10T10:00:02.9Z|${ids[4]}`, back: '2026-01-10T10:00:02.999Z' });
    const second = await list({ limit: 2, cursor: first.next });
    expect(second).toEqual({ ids: [3, 2], next: `2026-01-10T10:00:01.1Z|${ids[2]}`, back: '2026-01-10T10:00:01.999Z' });
    const last = await list({ limit: 2, cursor: second.next });
    expect(last).toEqual({ ids: [1, 0], next: null, back: '2026-01-10T09:59:59.999Z' });
    const asc = await list({ limit: 4, sortDirection: 'asc' });
    expect(asc).toEqual({
      ids: [0, 1, 2, 3],
      next: `2026-01-10T10:00:02Z|${ids[3]}`,
      back: '2026-01-10T10:00:00.001Z',
    });
    const updated = await list({ limit: 2, sortKey: 'updated_at' });
    expect(updated).toEqual({
      ids: [0, 2],
      next: `2026-01-10T11:00:04.4Z|${ids[2]}`,
      back: '2026-01-10T11:00:04.999Z',
    });
  });

  it('lists from a backwards cursor in the other direction what lies strictly beyond it', async () => {
    // Descending page [3 2]: its cursor is 10:00:01.999 (creation times go to the second first),
    // and ascending from it lists 3, 4 and 5.
    const second = await list({ limit: 2, cursor: (await list({ limit: 2 })).next });
    expect((await list({ limit: 10, sortDirection: 'asc', cursor: second.back })).ids).toEqual([3, 4, 5]);
    // Ascending page [2 3]: 10:00:01.001, and descending from it lists what was created before:
    // thread 2 itself (01.100) is not (Codex loses the anchor the same way).
    const ascFirst = await list({ limit: 2, sortDirection: 'asc' });
    const ascSecond = await list({ limit: 2, sortDirection: 'asc', cursor: ascFirst.next });
    expect(ascSecond.ids).toEqual([2, 3]);
    expect(ascSecond.back).toBe('2026-01-10T10:00:01.001Z');
    expect((await list({ limit: 10, cursor: ascSecond.back })).ids).toEqual([1, 0]);
    // Update times keep their milliseconds: ascending [5 1] starts at 11:00:00.001, its cursor is
    // 11:00:00.002, and descending from it lists thread 5.
    const updatedAsc = await list({ limit: 2, sortKey: 'updated_at', sortDirection: 'asc' });
    expect(updatedAsc).toMatchObject({ ids: [5, 1], back: '2026-01-10T11:00:00.002Z' });
    expect((await list({ limit: 10, sortKey: 'updated_at', cursor: updatedAsc.back })).ids).toEqual([5]);
    const fromTop = await list({ limit: 10, sortKey: 'updated_at', cursor: '2026-01-10T11:00:05.001Z' });
    expect(fromTop.ids).toEqual([0, 2, 4, 3, 1, 5]);
  });

  it('takes bare instants and lists strictly beyond them, in milliseconds', async () => {
    expect((await list({ cursor: '2026-01-10T10:00:02Z' })).ids).toEqual([2, 1, 0]);
    expect((await list({ cursor: '2026-01-10T10:00:02.001Z' })).ids).toEqual([3, 2, 1, 0]);
    expect((await list({ cursor: '2026-01-10T10:00:00.750Z' })).ids).toEqual([0]);
    expect((await list({ cursor: '2026-01-10T10:00:00.250Z', sortDirection: 'asc' })).ids).toEqual([1, 2, 3, 4, 5]);
    expect((await list({ cursor: '2026-01-10T10:00:02.999Z', sortDirection: 'asc' })).ids).toEqual([5]);
    expect((await list({ cursor: '2026-01-10T10:00:01.999Z', sortDirection: 'asc' })).ids).toEqual([3, 4, 5]);
    expect((await list({ cursor: '2026-01-10T12:00:02+02:00' })).ids).toEqual([2, 1, 0]);
    expect((await list({ cursor: '9999-12-31T23:59:59Z' })).ids).toEqual([5, 4, 3, 2, 1, 0]);
    expect((await list({ cursor: '0000-01-01T00:00:00Z' })).ids).toEqual([]);
    expect((await list({ cursor: '0000-01-01T00:00:00Z', sortDirection: 'asc' })).ids).toEqual([0, 1, 2, 3, 4, 5]);
    const u = { sortKey: 'updated_at' };
    expect((await list({ ...u, cursor: '2026-01-10T11:00:03Z' })).ids).toEqual([3, 1, 5]);
    expect((await list({ ...u, cursor: '2026-01-10T11:00:03.001Z' })).ids).toEqual([4, 3, 1, 5]);
    expect((await list({ ...u, cursor: '2026-01-10T11:00:02.999Z', sortDirection: 'asc' })).ids).toEqual([4, 2, 0]);
    expect((await list({ ...u, cursor: '2026-01-10T11:00:02.9985Z', sortDirection: 'asc' })).ids).toEqual([3, 4, 2, 0]);
  });

  it("continues after a position, including Codex's whole-second creation positions", async () => {
    // Codex's file-scan listings write creation positions to the second: thread 1 (00.750) is at 10:00:00.
    expect((await list({ cursor: `2026-01-10T10:00:00Z|${ids[1]}` })).ids).toEqual([0]);
    expect((await list({ cursor: `2026-01-10T10:00:00Z|${ids[0]}`, sortDirection: 'asc' })).ids).toEqual([
      1, 2, 3, 4, 5,
    ]);
    expect((await list({ cursor: `2026-01-10T10:00:00.75Z|${ids[1]?.toUpperCase()}` })).ids).toEqual([0]);
    // A position whose thread is gone is taken as written.
    const gone = 'ffffffff-ffff-7fff-bfff-ffffffffffff';
    expect((await list({ cursor: `2026-01-10T10:00:02Z|${gone}` })).ids).toEqual([3, 2, 1, 0]);
    expect((await list({ cursor: `2026-01-10T11:00:03Z|${ids[4]}`, sortKey: 'updated_at' })).ids).toEqual([3, 1, 5]);
  });

  it("still takes the store cursors skein app-server handed out before it wrote Codex's formats", async () => {
    const page = await store.listThreads({ pageSize: 2, sortKey: 'createdAt', modelProviders: [] });
    expect(page.nextCursor).toMatch(/^sk1\./);
    expect((await list({ limit: 2, cursor: page.nextCursor })).ids).toEqual([3, 2]);
  });

  it('rejects malformed cursors with Codex’s invalid-request error', async () => {
    for (const cursor of [
      'garbage',
      '',
      '|',
      '2026-01-10T10:00:02',
      '2026-01-10T10:00:02Z|nope',
      '1768039202',
      'sk1.x',
    ]) {
      const err = await c.request('thread/list', { cursor }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err, cursor).toBeInstanceOf(RpcFailure);
      expect((err as RpcFailure).code).toBe(-32600);
      expect((err as RpcFailure).message).toBe(`invalid cursor: ${cursor}`);
    }
  });
});
