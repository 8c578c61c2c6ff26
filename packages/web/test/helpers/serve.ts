import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The built CLI of the repository (the web page ships inside it). */
export const SKEIN_BIN = fileURLToPath(new URL('../../../skein/dist/bin.js', import.meta.url));

export interface Serving {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** A real `skein serve` on port 0, its URL read from the banner. */
export async function skeinServe(args: string[]): Promise<Serving> {
  const child = spawn(process.execPath, [SKEIN_BIN, 'serve', '--port', '0', '--log', 'off', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1' },
  });
  let out = '';
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString('utf8')));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString('utf8');
      const m = /Endpoint:\s+(http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`skein serve exited (${code}): ${err}`)));
  });
  return {
    url,
    child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
