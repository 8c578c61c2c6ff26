import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { codexBinaryPath } from './codex-binary.js';
import { codexEnv, homePath, type HomeArg } from './codex-process.js';

/**
 * A client for `codex app-server`: JSON-RPC 2.0, one JSON object per line on stdio.
 *
 * `AppServerClient.start(home)` spawns the server, sends `initialize` (with
 * `capabilities.experimentalApi: true`, so experimental parameters such as
 * `thread/start {historyMode}` are accepted) and then the `initialized` notification.
 * Requests the server sends us (approvals and the like) are answered with a JSON-RPC error so
 * that a turn never waits on a client that will not answer.
 */
export interface AppServerOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Client name reported in `initialize`; Codex records it as the thread's originator. */
  clientName?: string;
  /** Per-request timeout (default 60 s). Startup indexes every rollout, so it may be slow. */
  requestTimeoutMs?: number;
  /** A command that wraps the binary, e.g. `['strace', '-f', '-o', file]`. */
  wrapper?: readonly string[];
}

export interface JsonRpcNotification {
  method: string;
  params: unknown;
}

export class AppServerError extends Error {
  constructor(
    readonly method: string,
    readonly code: number,
    readonly rpcMessage: string,
    readonly data: unknown,
  ) {
    super(`app-server ${method} failed (${code}): ${rpcMessage}`);
    this.name = 'AppServerError';
  }
}

interface Pending {
  method: string;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

interface Waiter {
  match: (n: JsonRpcNotification) => boolean;
  resolve: (n: JsonRpcNotification) => void;
}

export class AppServerClient {
  /** Every notification received, in order. */
  readonly notifications: JsonRpcNotification[] = [];
  private stderrText = '';
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private waiters: Waiter[] = [];
  private readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private readonly requestTimeoutMs: number;
  /** The `initialize` result (userAgent, codexHome, …). */
  initializeResult: unknown;

  private constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    options: AppServerOptions,
  ) {
    this.requestTimeoutMs = options.requestTimeoutMs ?? 60_000;
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      // Keep the tail only: enough to explain a failure.
      this.stderrText = (this.stderrText + d).slice(-20_000);
    });
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => this.onLine(line));
    this.exited = new Promise((resolve) => {
      child.on('close', (code, signal) => {
        this.exitInfo = { code, signal };
        const err = new Error(`codex app-server exited (${code ?? signal})\n${this.stderrText.slice(-4000)}`);
        for (const p of this.pending.values()) {
          clearTimeout(p.timer);
          p.reject(err);
        }
        this.pending.clear();
        resolve({ code, signal });
      });
    });
  }

  static async start(home: HomeArg, options: AppServerOptions = {}): Promise<AppServerClient> {
    const [cmd, ...args] = [...(options.wrapper ?? []), codexBinaryPath(), 'app-server'];
    const child = spawn(cmd!, args, {
      cwd: options.cwd ?? homePath(home),
      env: codexEnv(home, options.env),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const client = new AppServerClient(child, options);
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', () => resolve());
      child.once('error', reject);
    });
    try {
      client.initializeResult = await client.request('initialize', {
        clientInfo: { name: options.clientName ?? 'skein_interop', title: 'Skein interop tests', version: '0.0.0' },
        capabilities: { experimentalApi: true },
      });
      client.notify('initialized');
    } catch (err) {
      await client.close();
      throw err;
    }
    return client;
  }

  /** What the server wrote to stderr (tail). */
  get stderr(): string {
    return this.stderrText;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  request<T = unknown>(method: string, params?: unknown, timeoutMs = this.requestTimeoutMs): Promise<T> {
    if (this.exitInfo) return Promise.reject(new Error(`codex app-server has exited; cannot send ${method}`));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`app-server ${method} timed out after ${timeoutMs} ms\n${this.stderrText.slice(-2000)}`));
      }, timeoutMs);
      this.pending.set(id, { method, resolve: resolve as (v: unknown) => void, reject, timer });
      this.write({ jsonrpc: '2.0', id, method, ...(params === undefined ? {} : { params }) });
    });
  }

  notify(method: string, params?: unknown): void {
    this.write({ jsonrpc: '2.0', method, ...(params === undefined ? {} : { params }) });
  }

  /**
   * Resolves with the first notification (already received, or future) that has this method
   * and passes `predicate`.
   */
  waitForNotification(
    method: string,
    predicate: (params: unknown) => boolean = () => true,
    timeoutMs = this.requestTimeoutMs,
  ): Promise<JsonRpcNotification> {
    const match = (n: JsonRpcNotification): boolean => n.method === method && predicate(n.params);
    const seen = this.notifications.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        match,
        resolve: (n) => {
          clearTimeout(timer);
          resolve(n);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`no ${method} notification within ${timeoutMs} ms\n${this.stderrText.slice(-2000)}`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /**
   * Sends `turn/start` with one text input and waits for its `turn/completed`. Returns the
   * completed turn (`status` is `completed`, `failed` or `interrupted`).
   */
  async runTurn(threadId: string, text: string, extra: Record<string, unknown> = {}): Promise<AppServerTurn> {
    const started = await this.request<{ turn: AppServerTurn }>('turn/start', {
      threadId,
      input: [{ type: 'text', text, text_elements: [] }],
      ...extra,
    });
    const turnId = started.turn.id;
    const done = await this.waitForNotification('turn/completed', (p) => {
      const params = p as { threadId?: string; turn?: { id?: string } };
      return params.threadId === threadId && params.turn?.id === turnId;
    });
    return (done.params as { turn: AppServerTurn }).turn;
  }

  /**
   * Pages through `thread/list` with these params (limit defaults to 100, Codex's cap) and returns
   * every thread in order.
   */
  async listAllThreads(params: Record<string, unknown> = {}): Promise<AppServerThread[]> {
    const out: AppServerThread[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 10_000; page++) {
      const res: AppServerThreadPage = await this.request<AppServerThreadPage>('thread/list', {
        limit: 100,
        ...params,
        ...(cursor ? { cursor } : {}),
      });
      out.push(...res.data);
      if (!res.nextCursor) return out;
      cursor = res.nextCursor;
    }
    throw new Error('thread/list did not finish paging');
  }

  /** Ends stdin, waits for the server to exit; SIGTERM then SIGKILL if it lingers. */
  async close(graceMs = 5_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.exitInfo) return this.exitInfo;
    this.child.stdin.end();
    const timeout = (ms: number) => new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), ms).unref());
    if ((await Promise.race([this.exited, timeout(graceMs)])) === 'timeout') {
      this.child.kill('SIGTERM');
      if ((await Promise.race([this.exited, timeout(graceMs)])) === 'timeout') this.child.kill('SIGKILL');
    }
    return this.exited;
  }

  private write(msg: object): void {
    this.child.stdin.write(JSON.stringify(msg) + '\n');
  }

  private onLine(line: string): void {
    const t = line.trim();
    if (!t) return;
    let msg: {
      id?: number | string;
      method?: string;
      params?: unknown;
      result?: unknown;
      error?: { code: number; message: string; data?: unknown };
    };
    try {
      msg = JSON.parse(t) as typeof msg;
    } catch {
      return; // not protocol output
    }
    if (msg.method !== undefined && msg.id !== undefined) {
      // A server→client request: we never approve anything.
      this.write({
        jsonrpc: '2.0',
        id: msg.id,
        error: { code: -32601, message: 'the interop test client does not handle server requests' },
      });
      return;
    }
    if (msg.method !== undefined) {
      const n: JsonRpcNotification = { method: msg.method, params: msg.params };
      this.notifications.push(n);
      const ready = this.waiters.filter((w) => w.match(n));
      this.waiters = this.waiters.filter((w) => !w.match(n));
      for (const w of ready) w.resolve(n);
      return;
    }
    if (typeof msg.id === 'number') {
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      clearTimeout(p.timer);
      if (msg.error) p.reject(new AppServerError(p.method, msg.error.code, msg.error.message, msg.error.data));
      else p.resolve(msg.result);
    }
  }
}

/** The parts of the v2 `Thread` the interop tests look at (the server sends more). */
export interface AppServerThread {
  id: string;
  sessionId: string;
  forkedFromId: string | null;
  parentThreadId: string | null;
  preview: string;
  name: string | null;
  ephemeral: boolean;
  historyMode: 'legacy' | 'paginated';
  modelProvider: string;
  model: string | null;
  createdAt: number;
  updatedAt: number;
  recencyAt: number;
  status: { type: string };
  path: string | null;
  cwd: string;
  cliVersion: string;
  originator: string;
  source: unknown;
  gitInfo: unknown;
  turns: AppServerTurn[];
  [key: string]: unknown;
}

export interface AppServerTurn {
  id: string;
  status: 'completed' | 'interrupted' | 'failed' | 'inProgress';
  items: AppServerThreadItem[];
  error?: unknown;
  startedAt?: number | null;
  completedAt?: number | null;
  [key: string]: unknown;
}

export interface AppServerThreadItem {
  type: string;
  id: string;
  [key: string]: unknown;
}

export interface AppServerThreadPage {
  data: AppServerThread[];
  nextCursor: string | null;
  backwardsCursor: string | null;
}

/** User texts of a v2 turn's items (`userMessage` content of type `text`). */
export function turnUserTexts(turn: AppServerTurn): string[] {
  const out: string[] = [];
  for (const item of turn.items) {
    if (item.type !== 'userMessage' || !Array.isArray(item.content)) continue;
    const texts = (item.content as { type?: unknown; text?: unknown }[])
      .filter((c) => c.type === 'text' && typeof c.text === 'string')
      .map((c) => c.text as string);
    out.push(texts.join('\n'));
  }
  return out;
}

/** Agent texts of a v2 turn's items (`agentMessage.text`). */
export function turnAgentTexts(turn: AppServerTurn): string[] {
  return turn.items.filter((i) => i.type === 'agentMessage' && typeof i.text === 'string').map((i) => i.text as string);
}

/** The `sourceKinds` value that lists every kind of thread. */
export const ALL_SOURCE_KINDS = [
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
] as const;
