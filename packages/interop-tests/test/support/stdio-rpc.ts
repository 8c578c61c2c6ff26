import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';

/** The outcome of one request: its result, or its error's code and message. */
export type RpcOutcome = { result: any } | { error: { code: number; message: string } };

/**
 * A line-delimited JSON-RPC client of any app-server process (`codex app-server` or
 * `skein app-server`) on stdio, for running one request script against both.
 */
export class StdioRpc {
  readonly notifications: { method: string; params: any }[] = [];
  private nextId = 1;
  private readonly pending = new Map<number, (o: RpcOutcome) => void>();
  private stderrText = '';

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      this.stderrText = (this.stderrText + d).slice(-8000);
    });
    createInterface({ input: child.stdout }).on('line', (line) => {
      let msg: any;
      try {
        msg = JSON.parse(line);
      } catch {
        return;
      }
      if (msg.method !== undefined && msg.id !== undefined) {
        child.stdin.write(JSON.stringify({ id: msg.id, error: { code: -32601, message: 'not handled' } }) + '\n');
      } else if (msg.method !== undefined) {
        this.notifications.push({ method: msg.method, params: msg.params });
      } else {
        const p = this.pending.get(msg.id);
        this.pending.delete(msg.id);
        p?.(msg.error ? { error: { code: msg.error.code, message: msg.error.message } } : { result: msg.result });
      }
    });
    child.on('close', () => {
      for (const p of this.pending.values()) p({ error: { code: 0, message: `exited: ${this.stderrText}` } });
      this.pending.clear();
    });
  }

  static async start(cmd: string, args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<StdioRpc> {
    const child = spawn(cmd, args, { env, cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    const rpc = new StdioRpc(child);
    const init = await rpc.call('initialize', {
      clientInfo: { name: 'skein_differential', title: null, version: '0.0.0' },
      capabilities: { experimentalApi: true },
    });
    if ('error' in init) throw new Error(`initialize failed: ${init.error.message}\n${rpc.stderrText}`);
    child.stdin.write(JSON.stringify({ method: 'initialized' }) + '\n');
    return rpc;
  }

  call(method: string, params?: unknown, timeoutMs = 60_000): Promise<RpcOutcome> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${method} timed out\n${this.stderrText}`)), timeoutMs);
      this.pending.set(id, (o) => {
        clearTimeout(timer);
        resolve(o);
      });
      this.child.stdin.write(JSON.stringify({ id, method, ...(params === undefined ? {} : { params }) }) + '\n');
    });
  }

  /** The first notification from index `from` on that `match` accepts, waiting up to `timeoutMs` for it. */
  async waitFor(
    match: (n: { method: string; params: any }) => boolean,
    from = 0,
    timeoutMs = 30_000,
  ): Promise<{ method: string; params: any }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.notifications.slice(from).find(match);
      if (hit) return hit;
      if (Date.now() > deadline) throw new Error(`no matching notification in ${timeoutMs} ms\n${this.stderrText}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('close', () => resolve()));
    this.child.stdin.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}
