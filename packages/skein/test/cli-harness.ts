import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const BIN = resolve(fileURLToPath(new URL('.', import.meta.url)), '../dist/bin.js');

/** The tests run the built CLI; say how to build it instead of failing obscurely. */
export function requireBuiltBinary(): void {
  if (!existsSync(BIN))
    throw new Error(
      `${BIN} is missing: build the CLI first with \`pnpm turbo run build --filter=skein...\` (\`pnpm run ci\` at the root builds before it tests)`,
    );
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * An environment that cannot reach the developer's own ~/.codex or a configured server: HOME
 * and CODEX_HOME point into a temp folder, SKEIN_* are removed, time zone fixed.
 */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const sandbox = mkdtempSync(join(tmpdir(), 'skein-cli-env-'));
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(env))
    if (k.startsWith('SKEIN_') || k === 'FORCE_COLOR' || k === 'NO_COLOR') delete env[k];
  return { ...env, HOME: sandbox, CODEX_HOME: join(sandbox, '.codex'), TZ: 'UTC', ...extra };
}

export function run(
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number; cwd?: string } = {},
): Promise<RunResult> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: opts.env ?? cleanEnv(),
      ...(opts.cwd === undefined ? {} : { cwd: opts.cwd }),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`skein ${args.join(' ')} did not finish in time\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, opts.timeoutMs ?? 30_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolveRun({ code, signal, stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}

/** Runs and insists on success, showing stderr when it fails. */
export async function ok(
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; input?: string; cwd?: string } = {},
): Promise<string> {
  const r = await run(args, opts);
  if (r.code !== 0)
    throw new Error(`skein ${args.join(' ')} exited ${String(r.code)}\nstderr: ${r.stderr}\nstdout: ${r.stdout}`);
  return r.stdout;
}

export interface Server {
  url: string;
  port: number;
  child: ChildProcessWithoutNullStreams;
  output(): { stdout: string; stderr: string };
  /** Sends a signal and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `skein serve --port 0` and reads the endpoint it prints. */
export function serve(home: string, extra: string[] = [], env: NodeJS.ProcessEnv = cleanEnv()): Promise<Server> {
  return new Promise((resolveServe, reject) => {
    const child = spawn(process.execPath, [BIN, 'serve', '--home', home, '--port', '0', ...extra], {
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let started = false;
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
      child.on('exit', (code, signal) => r({ code, signal })),
    );
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`skein serve printed no endpoint\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, 30_000);
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      const m = /Endpoint:\s+(http:\/\/127\.0\.0\.1:(\d+))/.exec(stdout);
      if (m && !started) {
        started = true;
        clearTimeout(timer);
        resolveServe({
          url: m[1]!,
          port: Number(m[2]),
          child,
          output: () => ({ stdout, stderr }),
          stop: async (signal = 'SIGTERM') => {
            if (child.exitCode === null && child.signalCode === null) child.kill(signal);
            return exited;
          },
        });
      }
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    void exited.then(({ code }) => {
      if (!started) {
        clearTimeout(timer);
        reject(new Error(`skein serve exited ${String(code)} before listening\nstdout: ${stdout}\nstderr: ${stderr}`));
      }
    });
  });
}
