import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { InMemoryThreadStore } from '@skein/thread-store-api';
import type { ThreadStore } from '@skein/thread-store-api';
import { LocalThreadStore } from '@skein/thread-store-local';
import { startServer, stopServer } from './server-rig.js';
import type { ServerRig } from './server-rig.js';
import { WsClient } from './ws-client.js';

/**
 * The ids of a turn's items in `item/started` / `item/completed` are the ids `thread/read`,
 * `thread/turns/list` and `thread/items/list` return for them afterwards, from the server that ran
 * the turn and from a new server over a re-opened store (Codex 0.169 keeps one id per item).
 */

interface Backend {
  name: string;
  open(home: string, shared: { memory?: InMemoryThreadStore }): ThreadStore;
}

const backends: Backend[] = [
  {
    name: 'LocalThreadStore (paginated, the default)',
    open: (home) => new LocalThreadStore({ home, defaultModelProvider: 'echo', fsync: 'never' }),
  },
  {
    name: 'LocalThreadStore (legacy)',
    open: (home) => new LocalThreadStore({ home, defaultModelProvider: 'echo', fsync: 'never', historyMode: 'legacy' }),
  },
  {
    name: 'InMemoryThreadStore',
    open: (_home, shared) =>
      shared.memory
        ? new InMemoryThreadStore({ defaultModelProvider: 'echo', storage: shared.memory.storage })
        : (shared.memory = new InMemoryThreadStore({ defaultModelProvider: 'echo' })),
  },
];

interface Running extends ServerRig {
  client: WsClient;
}

async function serve(store: ThreadStore, home: string): Promise<Running> {
  const rig = await startServer(store, home);
  return { ...rig, client: await WsClient.open(rig.listener.url) };
}

async function stop(r: Running): Promise<void> {
  await r.client.close();
  await stopServer(r);
}

/** `[turnId, itemId, type]` of every item the reads return, in order. */
async function readIds(c: WsClient, threadId: string): Promise<Record<string, string[][]>> {
  const read = await c.request('thread/read', { threadId, includeTurns: true });
  const turns = await c.request('thread/turns/list', { threadId, itemsView: 'full', sortDirection: 'asc' });
  const items = await c.request('thread/items/list', { threadId });
  const ofTurns = (ts: any[]) => ts.flatMap((t: any) => t.items.map((i: any) => [t.id, i.id, i.type]));
  return {
    'thread/read': ofTurns(read.thread.turns),
    'thread/turns/list': ofTurns(turns.data),
    'thread/items/list': items.data.map((e: any) => [e.turnId, e.item.id, e.item.type]),
  };
}

describe.each(backends)('item ids over $name', ({ open }) => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('notifies each item under the id later reads return, also after the store is re-opened', async () => {
    const home = await mkdtemp(path.join(tmpdir(), 'skein-app-server-ids-'));
    cleanups.push(() => rm(home, { recursive: true, force: true }));
    const shared: { memory?: InMemoryThreadStore } = {};
    const first = await serve(open(home, shared), home);
    let running: Running | null = first;
    cleanups.push(async () => {
      if (running) await stop(running);
    });
    const c = first.client;
    const { thread } = await c.request('thread/start', { cwd: home });
    const live: string[][] = [];
    for (const text of ['first prompt', 'second prompt']) {
      const { turn } = await c.request('turn/start', { threadId: thread.id, input: [{ type: 'text', text }] });
      await c.waitFor('turn/completed', (p) => p.turn.id === turn.id);
    }
    const started = new Map<string, string>();
    for (const n of c.notifications) {
      if (n.method !== 'item/started' && n.method !== 'item/completed') continue;
      const { item, turnId } = n.params;
      if (n.method === 'item/started') started.set(item.id, item.type);
      else {
        // Every completed item was started under the same id.
        expect(started.get(item.id)).toBe(item.type);
        live.push([turnId, item.id, item.type]);
      }
    }
    expect(live.map((x) => x[2])).toEqual(['userMessage', 'agentMessage', 'userMessage', 'agentMessage']);
    expect(new Set(live.map((x) => x[1])).size).toBe(4);
    // The completed turn carries its agent message under the same id.
    const completed = c.notifications.filter((n) => n.method === 'turn/completed');
    expect(completed.map((n) => n.params.turn.items.map((i: any) => i.id))).toEqual([[live[1]?.[1]], [live[3]?.[1]]]);

    const expected = { 'thread/read': live, 'thread/turns/list': live, 'thread/items/list': live };
    expect(await readIds(c, thread.id)).toEqual(expected);

    await stop(first);
    running = null;
    const second = await serve(open(home, shared), home);
    running = second;
    expect(await readIds(second.client, thread.id)).toEqual(expected);
  });
});
