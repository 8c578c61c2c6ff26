import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { BIN, cleanEnv, ok } from './cli-harness.js';
import { useTestDatabase } from './pg-database.js';

const url = useTestDatabase('skein_app_server');
const env = cleanEnv();

type Answer = { result?: any; error?: { code: number; message: string } };

/** `skein app-server --store <url>` on stdio, initialized, with its notifications collected. */
class Client {
  readonly notifications: { method: string; params: any }[] = [];
  private readonly pending = new Map<number, (a: Answer) => void>();
  private readonly waiters: (() => void)[] = [];
  private nextId = 1;
  private stderr = '';

  constructor(private readonly child: ChildProcessWithoutNullStreams) {
    child.stderr.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    createInterface({ input: child.stdout }).on('line', (line) => {
      const msg = JSON.parse(line) as { id?: number; method?: string; params?: unknown } & Answer;
      if (msg.method !== undefined && msg.id === undefined) {
        this.notifications.push({ method: msg.method, params: msg.params });
        for (const w of this.waiters.splice(0)) w();
      } else if (msg.id !== undefined) {
        this.pending.get(msg.id)?.(msg);
        this.pending.delete(msg.id);
      }
    });
  }

  static async start(): Promise<Client> {
    const child = spawn(process.execPath, [BIN, 'app-server', '--store', url], { env, stdio: 'pipe' });
    const c = new Client(child);
    const init = await c.call('initialize', { clientInfo: { name: 'pg-test', version: '0' } });
    if (!init.result) throw new Error(`initialize failed: ${JSON.stringify(init)} ${c.stderr}`);
    child.stdin.write(JSON.stringify({ method: 'initialized' }) + '\n');
    return c;
  }

  call(method: string, params: unknown): Promise<Answer> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.child.stdin.write(JSON.stringify({ id, method, params }) + '\n');
    });
  }

  async result(method: string, params: unknown): Promise<any> {
    const a = await this.call(method, params);
    if (!a.result) throw new Error(`${method} failed: ${JSON.stringify(a.error)} ${this.stderr}`);
    return a.result;
  }

  /** Waits until a notification matching `match` has arrived. */
  async notified(match: (n: { method: string; params: any }) => boolean): Promise<{ method: string; params: any }> {
    for (;;) {
      const hit = this.notifications.find(match);
      if (hit) return hit;
      if (this.child.exitCode !== null) throw new Error(`app-server exited: ${this.stderr}`);
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  async close(): Promise<void> {
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.stdin.end();
    await exited;
  }
}

const clients: Client[] = [];
async function client(): Promise<Client> {
  const c = await Client.start();
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
