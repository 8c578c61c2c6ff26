#!/usr/bin/env node
// `pnpm bench [-- options]`: builds the local store (and what it depends on), then runs the
// TypeScript driver tools/bench/main.ts under tsx. Options are documented in main.ts.
//   --no-build        skip the build
//   --cpu-prof        write a V8 CPU profile of the driver into tools/bench/profiles/
// Everything runs with TZ=UTC so that the synthetic homes' file names are the same everywhere.
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const args = process.argv.slice(2).filter((a) => a !== '--');
const noBuild = args.includes('--no-build');
const cpuProf = args.includes('--cpu-prof');
const rest = args.filter((a) => a !== '--no-build' && a !== '--cpu-prof');

if (!noBuild) {
  const build = spawnSync(
    'pnpm',
    ['turbo', 'run', 'build', '--filter=@skein/thread-store-local...', '--output-logs=errors-only'],
    {
      cwd: repo,
      stdio: 'inherit',
    },
  );
  if (build.status !== 0) {
    console.error('bench: building @skein/thread-store-local failed');
    process.exit(build.status ?? 1);
  }
}

const nodeArgs = ['--import', 'tsx'];
if (cpuProf) {
  const dir = path.join(here, 'profiles');
  mkdirSync(dir, { recursive: true });
  nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${dir}`);
}
const run = spawnSync(process.execPath, [...nodeArgs, path.join(here, 'main.ts'), ...rest], {
  cwd: repo,
  stdio: 'inherit',
  env: { ...process.env, TZ: 'UTC' },
});
process.exit(run.status ?? 1);
