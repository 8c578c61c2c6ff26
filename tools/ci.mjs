#!/usr/bin/env node
// The whole CI pipeline in one command (`pnpm run ci`), so the README's test command and
// .ci/run are the same thing. Uses only Node built-ins until the install step has run.
// A failing check does not hide the others: every step runs, and the summary names each
// failure. Only install and build stop the run, since everything after them needs their output.
import { readdirSync, readFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pnpm, runInherit } from './lib/exec.mjs';
import { changedPaths, reportChanges, snapshotTree } from './check-clean-tree.mjs';
import { readAllowedSkips, skippedTests, unexpectedSkips } from './ci/skips.mjs';
import { ensureTestTools } from './ci/test-tools.mjs';
import { ensurePostgres } from './lib/postgres.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
process.env.TURBO_TELEMETRY_DISABLED = '1';
process.env.DO_NOT_TRACK = '1';

/** @typedef {{ name: string, run: () => number, gate?: boolean }} Step */

/** @param {string} name @param {string[]} pnpmArgs @param {boolean} [gate] stop the run if it fails @returns {Step} */
const pnpmStep = (name, pnpmArgs, gate = false) => ({
  name,
  gate,
  run: () => {
    const [cmd, args] = pnpm(pnpmArgs);
    return runInherit(cmd, args, { cwd: root });
  },
});

/**
 * Codegen must be reproducible: a package with a `check:gen` script checks itself (regenerate,
 * diff, lint the schema); one with only `generate` is regenerated here and the tree compared.
 * @returns {Step[]}
 */
function codegenSteps() {
  const packagesDir = path.join(root, 'packages');
  return readdirSync(packagesDir)
    .sort()
    .map((entry) => path.join(packagesDir, entry, 'package.json'))
    .filter((file) => existsSync(file))
    .map((file) => JSON.parse(readFileSync(file, 'utf8')))
    .flatMap((json) => {
      const scripts = json.scripts ?? {};
      if (scripts['check:gen'] !== undefined)
        return [pnpmStep(`check:gen ${json.name}`, ['--filter', json.name, 'run', 'check:gen'])];
      if (scripts.generate !== undefined) {
        const [cmd, args] = pnpm(['--filter', json.name, 'run', 'generate']);
        return [
          {
            name: `generate ${json.name} (must not change the tree)`,
            run: () =>
              runInherit(process.execPath, [path.join(root, 'tools/check-clean-tree.mjs'), '--', cmd, ...args], {
                cwd: root,
              }),
          },
        ];
      }
      return [];
    });
}

/** @type {{ passed: number, failed: number, skipped: number } | null} */
let testCounts = null;
/** @type {string | null} */
let testReport = null;

/** Fails on a skipped test that tools/ci/allowed-skips.json does not name with its reason. */
function checkSkips() {
  if (testReport === null) {
    console.error('no test report to check');
    return 1;
  }
  let report;
  try {
    report = JSON.parse(readFileSync(testReport, 'utf8'));
  } catch (e) {
    console.error(`cannot read the test report ${testReport}: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
  const skipped = skippedTests(report, root);
  const unexpected = unexpectedSkips(skipped, readAllowedSkips(path.join(root, 'tools/ci/allowed-skips.json')));
  console.log(`${skipped.length} skipped test(s), ${unexpected.length} not on tools/ci/allowed-skips.json`);
  for (const s of unexpected) console.error(`  skipped: ${s.file} > ${s.titles.join(' > ')}`);
  return unexpected.length === 0 ? 0 : 1;
}

/** @param {string} file @returns {{ passed: number, failed: number, skipped: number } | null} */
function readTestCounts(file) {
  try {
    const r = JSON.parse(readFileSync(file, 'utf8'));
    return { passed: r.numPassedTests, failed: r.numFailedTests, skipped: r.numPendingTests + (r.numTodoTests ?? 0) };
  } catch {
    return null;
  }
}

function main() {
  const startTree = snapshotTree(root);
  /** @type {Step[]} */
  const steps = [
    pnpmStep('install (frozen lockfile)', ['install', '--frozen-lockfile'], true),
    pnpmStep('format check', ['run', 'format:check']),
    pnpmStep('layering check', ['run', 'check:layering']),
    ...codegenSteps(),
    pnpmStep('build', ['run', 'build'], true),
    pnpmStep('typecheck', ['run', 'typecheck']),
    pnpmStep('lint', ['run', 'lint']),
    pnpmStep('publish check', ['run', 'check:publish']),
    pnpmStep('API reports are current (update: pnpm run api:update)', ['run', 'api:check']),
    pnpmStep('API reference docs build with every export documented', ['run', 'docs']),
    pnpmStep('README code samples compile (and run where marked)', ['run', 'check:readme-samples']),
    pnpmStep('publish rehearsal: local registry, installs outside the workspace', ['run', 'rehearse:publish']),
    { name: 'PostgreSQL is up (for thread-store-postgres tests)', run: ensurePostgres },
    {
      name: 'test tools (strace, script, tmux)',
      run: () => ensureTestTools((cmd, args) => runInherit(cmd, args, { cwd: root })),
    },
    {
      name: 'tests',
      run: () => {
        // vitest's own summary is printed as usual; a JSON report beside it gives the plain
        // "N passed, N failed" line at the end of the run.
        const report = path.join(mkdtempSync(path.join(tmpdir(), 'skein-ci-')), 'vitest.json');
        const [cmd, args] = pnpm([
          'run',
          'test',
          '--reporter=default',
          '--reporter=json',
          `--outputFile.json=${report}`,
        ]);
        const status = runInherit(cmd, args, { cwd: root });
        testCounts = readTestCounts(report);
        testReport = report;
        return status;
      },
    },
    { name: 'every skipped test is allowed (tools/ci/allowed-skips.json)', run: checkSkips },
    {
      // The benchmark drivers at 1,000 threads, Skein only, so they never rot; no figure is checked.
      name: 'benchmark smoke: pnpm bench and open-by-id at 1,000 threads (no timing checked)',
      run: () => {
        const dir = mkdtempSync(path.join(tmpdir(), 'skein-bench-smoke-'));
        try {
          const [cmd, args] = pnpm([
            'run',
            'bench',
            '--',
            '--no-build',
            '--sizes',
            '1000',
            '--skip-codex',
            '--skip-single',
            '--skip-remote',
            '--no-write',
            '--dir',
            dir,
          ]);
          const status = runInherit(cmd, args, { cwd: root });
          if (status !== 0) return status;
          return runInherit(
            process.execPath,
            ['--import', 'tsx', 'tools/bench/open-by-id.ts', '--dir', dir, '--sizes', '1000', '--runs', '20'],
            { cwd: root },
          );
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      },
    },
    {
      name: 'nothing above changed the working tree',
      run: () => {
        const changed = changedPaths(startTree, snapshotTree(root));
        if (changed.length === 0) return 0;
        reportChanges(root, changed, `The CI run changed ${changed.length} file(s):`);
        return 1;
      },
    },
  ];

  const started = Date.now();
  /** @type {{ name: string, seconds: number, status: number }[]} */
  const results = [];
  for (const [index, step] of steps.entries()) {
    console.log(`\n━━ [${index + 1}/${steps.length}] ${step.name}`);
    const stepStart = Date.now();
    const status = step.run();
    results.push({ name: step.name, seconds: (Date.now() - stepStart) / 1000, status });
    if (status !== 0 && step.gate === true) {
      console.error(
        `\n${step.name} failed; the remaining ${steps.length - index - 1} step(s) need it and were not run.`,
      );
      break;
    }
  }
  const failed = results.filter((r) => r.status !== 0);
  console.log('\nSteps:');
  for (const { name, seconds, status } of results) {
    console.log(`  ${status === 0 ? '✓' : '✗'} ${seconds.toFixed(1).padStart(7)}s  ${name}`);
  }
  const total = `${((Date.now() - started) / 1000).toFixed(0)}s`;
  if (testCounts !== null) {
    console.log(`\ntests: ${testCounts.passed} passed, ${testCounts.failed} failed, ${testCounts.skipped} skipped`);
  }
  if (failed.length > 0 || results.length < steps.length) {
    console.error(`\nCI failed in ${total}: ${failed.map((r) => r.name).join(', ')}.`);
    process.exit(1);
  }
  console.log(`\nCI passed: ${steps.length} steps in ${total}.`);
}

main();
