import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Client } from './app-server-stdio.js';
import { cleanEnv, ok, serve } from './cli-harness.js';
import type { Server } from './cli-harness.js';
import { useTestDatabase } from './pg-database.js';

/**
 * The built `skein app-server` over each kind of store (a Codex home, a PostgreSQL database, a
 * `skein serve` endpoint): the ids `item/started` / `item/completed` give a turn's items are the
 * ids `thread/read`, `thread/turns/list` and `thread/items/list` return afterwards, from the same
 * server and from a new server process.
 */

const url = useTestDatabase('skein_item_ids');
const env = cleanEnv();
const clients: Client[] = [];
const servers: Server[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  for (const s of servers.splice(0)) await s.stop();
});

/** A new, empty Codex home. */
function newHome(): string {
  const home = mkdtempSync(join(tmpdir(), 'skein-item-ids-'));
  mkdirSync(join(home, 'sessions'));
  return home;
}

async function client(storeArgs: string[]): Promise<Client> {
  const c = await Client.start(storeArgs, env);
  clients.push(c);
  return c;
}

/** `[turnId, itemId, type]` of every item the three reads return, in order. */
async function readIds(c: Client, threadId: string): Promise<Record<string, string[][]>> {
  const read = await c.result('thread/read', { threadId, includeTurns: true });
  const turns = await c.result('thread/turns/list', { threadId, itemsView: 'full', sortDirection: 'asc' });
  const items = await c.result('thread/items/list', { threadId });
  const ofTurns = (ts: any[]) => ts.flatMap((t: any) => t.items.map((i: any) => [t.id, i.id, i.type]));
  return {
    'thread/read': ofTurns(read.thread.turns),
    'thread/turns/list': ofTurns(turns.data),
    'thread/items/list': items.data.map((e: any) => [e.turnId, e.item.id, e.item.type]),
  };
}

const backends: { name: string; storeArgs: () => Promise<string[]> }[] = [
  { name: 'a Codex home', storeArgs: async () => ['--home', newHome()] },
  {
    name: 'PostgreSQL',
    storeArgs: async () => {
      await ok(['db', 'migrate', '--store', url], { env });
      return ['--store', url];
    },
  },
  {
    name: 'a skein serve endpoint over a Codex home',
    storeArgs: async () => {
      const s = await serve(newHome(), [], env);
      servers.push(s);
      return ['--endpoint', s.url];
    },
  },
];

/** Runs `texts` as turns of `threadId` and returns `[turnId, itemId, type]` of every completed item. */
async function runTurns(c: Client, threadId: string, texts: string[]): Promise<string[][]> {
  const from = c.notifications.length;
  for (const text of texts) {
    const { turn } = await c.result('turn/start', { threadId, input: [{ type: 'text', text }] });
    await c.notified((n) => n.method === 'turn/completed' && n.params.turn.id === turn.id);
  }
  const started = new Map<string, string>();
  const live: string[][] = [];
  for (const n of c.notifications.slice(from)) {
    if (n.method === 'item/started') started.set(n.params.item.id, n.params.item.type);
    if (n.method !== 'item/completed') continue;
    expect(started.get(n.params.item.id)).toBe(n.params.item.type);
    live.push([n.params.turnId, n.params.item.id, n.params.item.type]);
  }
  return live;
}

describe.each(backends)('skein app-server over $name', ({ storeArgs }) => {
  it('notifies each item under the id later reads return, also from a new server', async () => {
    const args = await storeArgs();
    const first = await client(args);
    const { thread } = await first.result('thread/start', { cwd: '/work/project' });
    const live = await runTurns(first, thread.id, ['first prompt', 'second prompt']);
    expect(live.map((x) => x[2])).toEqual(['userMessage', 'agentMessage', 'userMessage', 'agentMessage']);
    expect(new Set(live.map((x) => x[1])).size).toBe(4);
    const expected = { 'thread/read': live, 'thread/turns/list': live, 'thread/items/list': live };
    expect(await readIds(first, thread.id)).toEqual(expected);
    await first.close();
    clients.splice(clients.indexOf(first), 1);

    const second = await client(args);
    expect(await readIds(second, thread.id)).toEqual(expected);
  });
});

describe('skein app-server over PostgreSQL, on a paginated thread moved there from a home', () => {
  it('continues the thread with items whose ids every read returns', async () => {
    const home = newHome();
    const local = await client(['--home', home]);
    const { thread } = await local.result('thread/start', { cwd: '/work/project' });
    const before = await runTurns(local, thread.id, ['made in a home']);
    await local.close();
    clients.splice(clients.indexOf(local), 1);
    await ok(['db', 'migrate', '--store', url], { env });
    await ok(['migrate', '--from', home, '--to', url], { env });

    const pg = await client(['--store', url]);
    const resumed = await pg.result('thread/resume', { threadId: thread.id });
    expect(resumed.thread.historyMode).toBe('paginated');
    const after = await runTurns(pg, thread.id, ['continued in PostgreSQL']);
    expect(after.map((x) => x[2])).toEqual(['userMessage', 'agentMessage']);
    const all = [...before, ...after];
    expect(await readIds(pg, thread.id)).toEqual({
      'thread/read': all,
      'thread/turns/list': all,
      'thread/items/list': all,
    });
  });
});
