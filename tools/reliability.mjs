#!/usr/bin/env node
// Runs the reliability probes (packages/reliability) and writes their figures to RELIABILITY.md.
//   pnpm reliability              the short counts (the same ones CI runs inside `pnpm test`)
//   pnpm reliability -- --long    the long counts (SKEIN_RELIABILITY=long), minutes to an hour
// The packages must be built first (`pnpm build`): the probes' child processes load dist/.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const long = process.argv.includes('--long') || process.env.SKEIN_RELIABILITY === 'long';
const out = path.join(mkdtempSync(path.join(tmpdir(), 'skein-reliability-')), 'figures.jsonl');
const vitest = path.join(root, 'node_modules/vitest/vitest.mjs');

const started = Date.now();
const run = spawnSync(process.execPath, [vitest, 'run', '--project', 'reliability'], {
  cwd: root,
  stdio: ['ignore', 'inherit', 'inherit'],
  env: { ...process.env, SKEIN_RELIABILITY: long ? 'long' : 'short', SKEIN_RELIABILITY_OUT: out },
});
const seconds = Math.round((Date.now() - started) / 1000);

/** @type {{ probe: string, trials: number, acknowledged: number, lost: number, wrong?: number, maxRssMiB: number, notes?: string }[]} */
const figures = existsSync(out)
  ? readFileSync(out, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l))
  : [];

let commit = 'unknown';
try {
  commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
} catch {
  // not a git checkout
}

const rows = figures.map(
  (f) =>
    `| ${f.probe} | ${f.trials} | ${f.acknowledged} | ${f.lost} | ${f.wrong ?? 0} | ${f.maxRssMiB} | ${f.notes ?? ''} |`,
);
const md = `# Reliability

Figures from the probes in \`packages/reliability\` (bounded counts; see its README for what each
probe does and what it asserts). CI runs the short counts as part of \`pnpm test\`; this file
holds the figures of the last run written with the command below.

- Command: \`pnpm reliability${long ? ' -- --long' : ''}\` (${long ? 'long' : 'short'} counts), ${seconds} s, exit status ${run.status}
- Commit: ${commit}; ${new Date().toISOString().slice(0, 10)}; Node ${process.version}; ${process.platform} ${process.arch}

| probe | trials | items acknowledged | lost | wrong answers | max RSS (MiB) | notes |
| --- | ---: | ---: | ---: | ---: | ---: | --- |
${rows.join('\n')}

"Lost" counts items a store acknowledged (a flush that returned) and that were missing
afterwards; "wrong answers" counts calls answered with something other than the right result or
a clear \`ThreadStoreError\`. Both must be 0: the probes fail otherwise.
`;
writeFileSync(path.join(root, 'RELIABILITY.md'), md);
console.log(`\nRELIABILITY.md written: ${figures.length} probe(s), ${seconds} s.`);
process.exit(run.status ?? 1);
