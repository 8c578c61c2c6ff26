import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const CHILD = fileURLToPath(new URL('./child.mjs', import.meta.url));
const DIST = fileURLToPath(new URL('../../dist/index.js', import.meta.url));

export interface Child {
  proc: ChildProcess;
  /** Next JSON message from the child (rejects when it exits first). */
  next(): Promise<Record<string, unknown>>;
  /** Every message so far. */
  messages: Record<string, unknown>[];
  send(cmd: Record<string, unknown>): Promise<Record<string, unknown>>;
  exited: Promise<number | null>;
}

export function spawnChild(args: string[]): Child {
  if (!existsSync(DIST))
    throw new Error('build the package first (pnpm turbo run build --filter=@skein/thread-store-local)');
  const proc = spawn(process.execPath, [CHILD, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  const messages: Record<string, unknown>[] = [];
  const waiting: ((m: Record<string, unknown> | null) => void)[] = [];
  let consumed = 0;
  let buf = '';
  let stderr = '';
  let done = false;
  proc.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  proc.stdout?.on('data', (d: Buffer) => {
    buf += d.toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (line.trim() === '') continue;
      messages.push(JSON.parse(line) as Record<string, unknown>);
      const w = waiting.shift();
      if (w) w(messages[consumed++] ?? null);
    }
  });
  const exited = new Promise<number | null>((resolve) => {
    proc.on('exit', (code) => {
      done = true;
      for (const w of waiting.splice(0)) w(null);
      resolve(code);
    });
  });
  const next = (): Promise<Record<string, unknown>> =>
    new Promise((resolve, reject) => {
      const take = (m: Record<string, unknown> | null): void => {
        if (m) resolve(m);
        else reject(new Error(`child exited: ${stderr}`));
      };
      if (consumed < messages.length) take(messages[consumed++] ?? null);
      else if (done) take(null);
      else waiting.push(take);
    });
  return {
    proc,
    messages,
    next,
    exited,
    send: (cmd) => {
      proc.stdin?.write(JSON.stringify(cmd) + '\n');
      return next();
    },
  };
}

/** A small seeded PRNG (mulberry32) so random kill points repeat from run to run. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
