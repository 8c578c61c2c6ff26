/**
 * A minimal JSON-RPC 2.0 client for `codex app-server` (newline-delimited JSON over stdio), just
 * enough to time its start-up and `thread/list`.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const TRIPLES: Record<string, string> = {
  'linux-x64': 'x86_64-unknown-linux-musl',
  'linux-arm64': 'aarch64-unknown-linux-musl',
  'darwin-x64': 'x86_64-apple-darwin',
  'darwin-arm64': 'aarch64-apple-darwin',
};

/**
 * The native Codex binary installed for packages/interop-tests (`@openai/codex` 0.169.0). The
 * npm launcher would add a Node process in front of it, which would count in its start-up time.
 */
export function codexBinary(): string {
  if (process.env.SKEIN_CODEX_BIN) return process.env.SKEIN_CODEX_BIN;
  const key = `${process.platform}-${process.arch}`;
  const triple = TRIPLES[key];
  if (!triple) throw new Error(`no prebuilt Codex binary for ${key}; set SKEIN_CODEX_BIN`);
  const fromInterop = createRequire(path.join(REPO, 'packages/interop-tests/package.json'));
  const launcher = realpathSync(fromInterop.resolve('@openai/codex/package.json'));
  const platformPkg = createRequire(launcher).resolve(`@openai/codex-${key}/package.json`);
  const bin = path.join(path.dirname(platformPkg), 'vendor', triple, 'bin', 'codex');
  if (!existsSync(bin)) throw new Error(`the Codex binary is missing at ${bin}; run pnpm install`);
  return bin;
}

export function codexVersion(): string {
  const launcher = createRequire(path.join(REPO, 'packages/interop-tests/package.json')).resolve(
    '@openai/codex/package.json',
  );
  return (createRequire(launcher)('./package.json') as { version: string }).version;
}

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  method: string;
}

export class AppServerClient {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private buffer = '';
  private stderr = '';
  private exited = false;

  private constructor(home: string, command: readonly string[]) {
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) {
      if (k.startsWith('CODEX_') || k.startsWith('OPENAI_')) continue;
      env[k] = v;
    }
    env.CODEX_HOME = home;
    env.MOCK_API_KEY = 'mock-key';
    const [cmd, ...args] = command;
    this.child = spawn(cmd!, args, { cwd: home, env, stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout.setEncoding('utf8').on('data', (d: string) => this.onData(d));
    this.child.stderr.setEncoding('utf8').on('data', (d: string) => {
      this.stderr = (this.stderr + d).slice(-8000);
    });
    this.child.on('exit', (code, signal) => {
      this.exited = true;
      const err = new Error(`codex app-server exited (${code ?? signal}) before answering:\n${this.stderr}`);
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    });
  }

  /**
   * Spawns `codex app-server` (or another app-server `command` speaking the same protocol on
   * stdio, such as `skein app-server`) and completes the initialize handshake.
   */
  static async start(
    home: string,
    command: readonly string[] = [codexBinary(), 'app-server'],
  ): Promise<{ client: AppServerClient; initializeMs: number }> {
    const t0 = performance.now();
    const client = new AppServerClient(home, command);
    await client.request('initialize', {
      clientInfo: { name: 'skein_bench', title: 'Skein benchmarks', version: '0.0.0' },
      capabilities: { experimentalApi: true },
    });
    const initializeMs = performance.now() - t0;
    client.notify('initialized', {});
    return { client, initializeMs };
  }

  private onData(chunk: string): void {
    this.buffer += chunk;
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, nl).trim();
      this.buffer = this.buffer.slice(nl + 1);
      if (!line) continue;
      let msg: { id?: number; result?: unknown; error?: { code: number; message: string }; method?: string };
      try {
        msg = JSON.parse(line) as typeof msg;
      } catch {
        continue;
      }
      if (msg.id === undefined || msg.method !== undefined) {
        // A notification, or a request from the server (none are expected while listing).
        if (msg.id !== undefined)
          this.write({
            jsonrpc: '2.0',
            id: msg.id,
            error: { code: -32601, message: 'not supported by the benchmark client' },
          });
        continue;
      }
      const p = this.pending.get(msg.id);
      if (!p) continue;
      this.pending.delete(msg.id);
      if (msg.error) p.reject(new Error(`${p.method} failed: ${msg.error.code} ${msg.error.message}`));
      else p.resolve(msg.result);
    }
  }

  private write(msg: unknown): void {
    this.child.stdin.write(JSON.stringify(msg) + '\n');
  }

  request<T = unknown>(method: string, params: unknown): Promise<T> {
    if (this.exited) return Promise.reject(new Error(`codex app-server has exited:\n${this.stderr}`));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, method });
      this.write({ jsonrpc: '2.0', id, method, params });
    });
  }

  notify(method: string, params: unknown): void {
    this.write({ jsonrpc: '2.0', method, params });
  }

  /** Closes stdin and waits for the process to exit (killing it after 5 s). */
  async close(): Promise<void> {
    if (this.exited) return;
    const done = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.stdin.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await done;
    clearTimeout(timer);
  }
}

export interface CodexThreadListResult {
  data: { id: string; preview: string; createdAt: number; updatedAt: number }[];
  nextCursor: string | null;
}
