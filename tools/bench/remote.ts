/**
 * The remote store's own benchmark (packages/thread-store-remote/bench/), when it exists: run it
 * and keep what it prints, so its rows land in the same BENCHMARKS.md.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { log } from './homes.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BENCH_DIR = path.join(REPO, 'packages/thread-store-remote/bench');
const ENTRIES = ['run.ts', 'run.mts', 'run.mjs', 'index.ts', 'bench.ts', 'main.ts'];

export interface RemoteResult {
  command: string;
  ok: boolean;
  output: string;
}

export function remoteBenchCommand(): { cmd: string; args: string[]; display: string } | undefined {
  if (!existsSync(BENCH_DIR)) return undefined;
  const tsx = path.join(REPO, 'node_modules/.bin/tsx');
  for (const e of ENTRIES) {
    const file = path.join(BENCH_DIR, e);
    if (existsSync(file)) return { cmd: tsx, args: [file], display: `npx tsx packages/thread-store-remote/bench/${e}` };
  }
  try {
    const pkg = JSON.parse(readFileSync(path.join(REPO, 'packages/thread-store-remote/package.json'), 'utf8')) as {
      scripts?: Record<string, string>;
    };
    if (pkg.scripts?.bench)
      return {
        cmd: 'pnpm',
        args: ['--silent', '--filter', '@skein/thread-store-remote', 'run', 'bench'],
        display: 'pnpm --filter @skein/thread-store-remote run bench',
      };
  } catch {
    // No package.json script either.
  }
  return undefined;
}

export function runRemoteBench(): RemoteResult | undefined {
  const c = remoteBenchCommand();
  if (!c) return undefined;
  log(`remote store benchmark: ${c.display}`);
  const r = spawnSync(c.cmd, c.args, {
    cwd: REPO,
    encoding: 'utf8',
    timeout: 30 * 60_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  const ok = r.status === 0;
  const output = (r.stdout || '').trim();
  if (!ok) log(`  remote benchmark failed (${r.status ?? r.signal}): ${(r.stderr || '').slice(-2000)}`);
  return {
    command: c.display,
    ok,
    output: ok
      ? output
      : `${output}\n\n(failed: exit ${r.status ?? r.signal})\n${(r.stderr || '').slice(-2000)}`.trim(),
  };
}
