import { spawn } from 'node:child_process';
import { codexBinaryPath } from './codex-binary.js';
import { MOCK_API_KEY_ENV, type CodexHome } from './codex-home.js';

export type HomeArg = string | CodexHome;

export function homePath(home: HomeArg): string {
  return typeof home === 'string' ? home : home.path;
}

/**
 * The environment a Codex child gets: the parent's, minus anything that could point it at a real
 * account or another home (CODEX_*, OPENAI_*), plus CODEX_HOME and the mock provider's key.
 */
export function codexEnv(home: HomeArg, extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('CODEX_') || k.startsWith('OPENAI_')) continue;
    env[k] = v;
  }
  env.CODEX_HOME = homePath(home);
  env[MOCK_API_KEY_ENV] = 'mock-key';
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

export interface RunCodexOptions {
  /** Extra environment (e.g. `{ TZ: 'Pacific/Kiritimati' }`); `undefined` values remove a variable. */
  env?: Record<string, string | undefined>;
  /** The child's working directory (Codex records it as the thread's cwd unless `-C` is given). */
  cwd?: string;
  /** Kill the child after this long (default 90 s). */
  timeoutMs?: number;
  /** A command that wraps the binary, e.g. `['strace', '-f', '-o', file]`. */
  wrapper?: readonly string[];
}

export interface CodexRunResult {
  args: string[];
  /** null when killed by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  stdout: string;
  stderr: string;
}

/** Runs `codex <args>` once with stdin closed (`codex exec` otherwise waits for stdin). */
export function runCodex(
  home: HomeArg,
  args: readonly string[],
  options: RunCodexOptions = {},
): Promise<CodexRunResult> {
  const timeoutMs = options.timeoutMs ?? 90_000;
  return new Promise((resolve, reject) => {
    const [cmd, ...rest] = [...(options.wrapper ?? []), codexBinaryPath(), ...args];
    const child = spawn(cmd!, rest, {
      cwd: options.cwd ?? homePath(home),
      env: codexEnv(home, options.env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ args: [...args], code, signal, timedOut, stdout, stderr });
    });
  });
}

/** One `--json` event of `codex exec` (`thread.started`, `turn.started`, `item.completed`, …). */
export interface ExecEvent {
  type: string;
  [key: string]: unknown;
}

export interface CodexExecResult extends CodexRunResult {
  /** The JSON lines of stdout, parsed (non-JSON lines are skipped). */
  events: ExecEvent[];
  /** From the `thread.started` event, when there was one. */
  threadId: string | undefined;
  /** Texts of the agent messages Codex reported. */
  agentMessages: string[];
  /** Whether a `turn.failed` (or top-level `error`) event was seen. */
  turnFailed: boolean;
}

/**
 * Runs `codex exec --json --skip-git-repo-check <args>`: `args` is what follows `exec`, e.g.
 * `['hello']`, `['resume', id, 'next']`, `['fork', id, 'branch off']`, `['-C', dir, 'hi']`.
 */
export async function runCodexExec(
  home: HomeArg,
  args: readonly string[],
  options: RunCodexOptions = {},
): Promise<CodexExecResult> {
  const full = ['exec', '--json', '--skip-git-repo-check', ...args];
  const run = await runCodex(home, full, options);
  const events = parseJsonLines(run.stdout);
  const started = events.find((e) => e.type === 'thread.started');
  const threadId = typeof started?.thread_id === 'string' ? started.thread_id : undefined;
  const agentMessages: string[] = [];
  for (const e of events) {
    const item = e.item as { type?: unknown; text?: unknown } | undefined;
    if (e.type === 'item.completed' && item?.type === 'agent_message' && typeof item.text === 'string') {
      agentMessages.push(item.text);
    }
  }
  const turnFailed = events.some((e) => e.type === 'turn.failed' || e.type === 'error');
  return { ...run, events, threadId, agentMessages, turnFailed };
}

export function parseJsonLines(text: string): ExecEvent[] {
  const out: ExecEvent[] = [];
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (!t.startsWith('{')) continue;
    try {
      const v: unknown = JSON.parse(t);
      if (typeof v === 'object' && v !== null && typeof (v as { type?: unknown }).type === 'string')
        out.push(v as ExecEvent);
    } catch {
      // Not an event line (Codex prints occasional plain diagnostics).
    }
  }
  return out;
}

/** Throws with Codex's own output when a run did not exit 0: test failures then say why. */
export function assertRunOk(run: CodexRunResult): void {
  if (run.code === 0 && !run.timedOut) return;
  throw new Error(
    `codex ${run.args.join(' ')} ${run.timedOut ? 'timed out' : `exited ${run.code ?? run.signal}`}\n` +
      `--- stderr ---\n${run.stderr.slice(-4000)}\n--- stdout ---\n${run.stdout.slice(-4000)}`,
  );
}
