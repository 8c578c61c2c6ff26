import { afterEach, describe, expect, it } from 'vitest';
import { Client } from './app-server-stdio.js';
import { cleanEnv, ok } from './cli-harness.js';
import { useTestDatabase } from './pg-database.js';

const url = useTestDatabase('skein_app_server');
const env = cleanEnv();

const clients: Client[] = [];
async function client(): Promise<Client> {
  const c = await Client.start(['--store', url], env);
  clients.push(c);
  return c;
}

afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
});

describe('skein app-server --store postgres://…', () => {
  it('starts a thread, runs a turn, and lists and reads it from a new server', async () => {
    await ok(['db', 'migrate', '--store', url], { env });
    const first = await client();
    expect((await first.result('thread/list', { sourceKinds: [], modelProviders: [] })).data).toEqual([]);
    const started = await first.result('thread/start', { cwd: '/work/project' });
    const threadId = started.thread.id as string;
    expect(started.thread.path).toBeNull();
    expect(started.modelProvider).toBe('echo');
    const turn = await first.result('turn/start', {
      threadId,
      input: [{ type: 'text', text: 'hello from postgres' }],
    });
    const done = await first.notified((n) => n.method === 'turn/completed' && n.params.turn.id === turn.turn.id);
    expect(done.params.turn.status).toBe('completed');
    await first.close();
    clients.length = 0;

    // A new server process sees what the first one wrote, through the database only.
    const second = await client();
    const listed = await second.result('thread/list', { sourceKinds: ['vscode'], modelProviders: [] });
    expect(listed.data.map((t: { id: string }) => t.id)).toEqual([threadId]);
    expect(listed.data[0]).toMatchObject({ originator: 'pg-test', source: 'vscode', cwd: '/work/project', path: null });
    expect(listed.data[0].preview).toBe('hello from postgres');
    const read = await second.result('thread/read', { threadId, includeTurns: true });
    expect(read.thread.turns).toHaveLength(1);
    const items = read.thread.turns[0].items as { type: string; text?: string; content?: { text: string }[] }[];
    expect(items.find((i) => i.type === 'userMessage')?.content?.[0]?.text).toBe('hello from postgres');
    expect(items.find((i) => i.type === 'agentMessage')?.text).toBe('echo: hello from postgres');
    const turns = await second.result('thread/turns/list', { threadId, limit: 1 });
    expect(turns.data.map((t: { id: string }) => t.id)).toEqual([turn.turn.id]);
    expect(turns.nextCursor).toBeNull();
    const unknown = await second.call('thread/read', { threadId: '00000000-0000-7000-8000-000000000000' });
    expect(unknown.error).toMatchObject({ code: -32600 });
    // A path-needing call fails on a store without paths, and says why.
    const byPath = await second.call('thread/fork', { threadId, path: '/tmp/rollout.jsonl' });
    expect(byPath.error?.message).toContain('no paths');
    expect(await ok(['threads', 'list', '--store', url, '--all-providers'], { env })).toContain(threadId);
  });
});
