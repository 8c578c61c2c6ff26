import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { BIN } from './cli-harness.js';

export type Answer = { result?: any; error?: { code: number; message: string } };

/** `skein app-server` on stdio, initialized, with its notifications collected. */
export class Client {
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
    // A server that exits answers nothing more: its pending calls fail with what it printed.
    child.on('exit', (code) => {
      for (const answer of this.pending.values())
        answer({ error: { code: -1, message: `app-server exited ${String(code)}: ${this.stderr}` } });
      this.pending.clear();
    });
  }

  /** `skein app-server` with `storeArgs` (`--home DIR`, `--store URL`, `--endpoint URL`). */
  static async start(storeArgs: string[], env: NodeJS.ProcessEnv): Promise<Client> {
    const child = spawn(process.execPath, [BIN, 'app-server', ...storeArgs], { env, stdio: 'pipe' });
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
