import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const children = path.join(path.dirname(fileURLToPath(import.meta.url)), 'children');

export interface Child {
  proc: ChildProcess;
  /** Every JSON line the child printed so far. */
  messages: Record<string, unknown>[];
  /** Resolves with the first message for which `pred` holds (rejects if the child exits first). */
  until(pred: (m: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>;
  exited: Promise<number | null>;
}

/** Runs `children/<script>` with node; its stdout is read as JSON lines. */
export function spawnChild(script: string, args: string[]): Child {
  const proc = spawn(process.execPath, [path.join(children, script), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const messages: Record<string, unknown>[] = [];
  const waiters: {
    pred: (m: Record<string, unknown>) => boolean;
    resolve: (m: Record<string, unknown>) => void;
    reject: (e: Error) => void;
  }[] = [];
  let stderr = '';
  let buf = '';
  proc.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  proc.stdout?.on('data', (d: Buffer) => {
    buf += d.toString();
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (line.trim() === '') continue;
      const m = JSON.parse(line) as Record<string, unknown>;
      messages.push(m);
      for (const w of [...waiters])
        if (w.pred(m)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(m);
        }
    }
  });
  const exited = new Promise<number | null>((resolve) =>
    proc.on('exit', (code) => {
      for (const w of waiters.splice(0)) w.reject(new Error(`child ${script} exited (${String(code)}): ${stderr}`));
      resolve(code);
    }),
  );
  return {
    proc,
    messages,
    exited,
    until: (pred) => {
      const seen = messages.find(pred);
      if (seen) return Promise.resolve(seen);
      if (proc.exitCode !== null || proc.signalCode !== null)
        return Promise.reject(new Error(`child ${script} has exited: ${stderr}`));
      return new Promise((resolve, reject) => waiters.push({ pred, resolve, reject }));
    },
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
