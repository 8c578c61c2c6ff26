#!/usr/bin/env node
// The public API of every published package, as API Extractor sees it in the built .d.ts files,
// committed at packages/<folder>/api/<folder>.api.md. A change to a package's surface shows up as
// a diff of that file in review, and CI fails when the committed report is stale.
//
// Only the public variant is reported: declarations tagged @internal (helpers that Skein's own
// packages share through the "." export) are left out, so they can change in any release.
//
// Usage (after `pnpm build`):
//   node tools/api-report.mjs            check: fail if any committed report differs
//   node tools/api-report.mjs --update   rewrite the reports (`pnpm run api:update`)
//   node tools/api-report.mjs [--update] <folder or package name> ...
import { Extractor, ExtractorConfig, ExtractorLogLevel } from '@microsoft/api-extractor';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { publishedPackages } from './lib/packages.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const UPDATE_COMMAND = 'pnpm run api:update';

/** Where a package's committed report lives. @param {string} pkgDir */
export const reportPath = (pkgDir) => path.join(pkgDir, 'api', `${path.basename(pkgDir)}.api.md`);

/**
 * API Extractor's settings for one package. Problems that make a report misleading are errors:
 * a public signature naming a type the package does not export, or a public declaration exposing
 * an @internal one. Untagged declarations are public; internal names need no underscore.
 * @param {string} pkgDir @param {string} tempDir
 */
function extractorConfig(pkgDir, tempDir) {
  const error = { logLevel: ExtractorLogLevel.Error, addToApiReportFile: false };
  const none = { logLevel: ExtractorLogLevel.None };
  return ExtractorConfig.prepare({
    configObject: {
      projectFolder: pkgDir,
      mainEntryPointFilePath: '<projectFolder>/dist/index.d.ts',
      compiler: {
        overrideTsconfig: {
          compilerOptions: {
            target: 'es2023',
            module: 'nodenext',
            moduleResolution: 'nodenext',
            strict: true,
            types: ['node'],
            skipLibCheck: true,
          },
          files: ['./dist/index.d.ts'],
        },
      },
      apiReport: {
        enabled: true,
        reportVariants: ['public'],
        reportFileName: 'report',
        reportFolder: tempDir,
        reportTempFolder: tempDir,
      },
      docModel: { enabled: false },
      dtsRollup: { enabled: false },
      tsdocMetadata: { enabled: false },
      newlineKind: 'lf',
      messages: {
        compilerMessageReporting: { default: { logLevel: ExtractorLogLevel.Error } },
        extractorMessageReporting: {
          default: { logLevel: ExtractorLogLevel.Warning, addToApiReportFile: false },
          'ae-forgotten-export': error,
          'ae-incompatible-release-tags': error,
          'ae-missing-release-tag': none,
          'ae-internal-missing-underscore': none,
          'ae-undocumented': none,
        },
        tsdocMessageReporting: { default: none },
      },
    },
    configObjectFullPath: path.join(pkgDir, 'api-extractor.json'),
    packageJsonFullPath: path.join(pkgDir, 'package.json'),
  });
}

/**
 * Generates one package's public report and returns its text, or the reasons it could not.
 * @param {string} pkgDir
 * @returns {{ report: string } | { problems: string[] }}
 */
export function generateReport(pkgDir) {
  if (!existsSync(path.join(pkgDir, 'dist', 'index.d.ts'))) {
    return { problems: ['no dist/index.d.ts: run `pnpm build` first'] };
  }
  const tempDir = mkdtempSync(path.join(tmpdir(), 'skein-api-'));
  /** @type {string[]} */
  const problems = [];
  try {
    let result;
    try {
      result = Extractor.invoke(extractorConfig(pkgDir, tempDir), {
        localBuild: true,
        showVerboseMessages: false,
        messageCallback: (message) => {
          if (message.logLevel === 'error' || message.logLevel === 'warning') {
            const where = message.sourceFilePath
              ? `${path.relative(root, message.sourceFilePath)}:${message.sourceFileLine ?? 0}: `
              : '';
            problems.push(`${where}${message.text} (${message.messageId})`);
          }
          message.handled = true;
        },
      });
    } catch (e) {
      return { problems: [`API Extractor crashed: ${e instanceof Error ? e.message : String(e)}`] };
    }
    if (!result.succeeded || problems.length > 0)
      return { problems: problems.length ? problems : ['API Extractor failed'] };
    // API Extractor names the public variant <name>.public.api.md; it is committed as <folder>.api.md.
    return { report: readFileSync(path.join(tempDir, 'report.public.api.md'), 'utf8') };
  } finally {
    rmSync(tempDir, { recursive: true, force: true });
  }
}

function main() {
  const args = process.argv.slice(2);
  const update = args.includes('--update');
  const only = args.filter((a) => a !== '--update');
  const pkgs = publishedPackages(path.join(root, 'packages')).filter(
    (p) => only.length === 0 || only.includes(path.basename(p.dir)) || only.includes(p.name),
  );
  if (pkgs.length === 0) {
    console.error(`api-report: no published package matches ${only.join(' ')}`);
    process.exit(2);
  }
  let failed = 0;
  /** @type {string[]} */
  const stale = [];
  for (const pkg of pkgs) {
    const out = generateReport(pkg.dir);
    const file = reportPath(pkg.dir);
    const rel = path.relative(root, file);
    if ('problems' in out) {
      failed += 1;
      console.log(`  ✗ ${pkg.name}: API Extractor reported:`);
      for (const p of out.problems) console.log(`      ${p.replaceAll('\n', '\n      ')}`);
      continue;
    }
    const committed = existsSync(file) ? readFileSync(file, 'utf8') : null;
    if (committed === out.report) {
      console.log(`  ✓ ${pkg.name}: ${rel} is current`);
    } else if (update) {
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, out.report);
      console.log(`  ↻ ${pkg.name}: wrote ${rel}`);
    } else {
      stale.push(rel);
      console.log(`  ✗ ${pkg.name}: ${rel} ${committed === null ? 'is missing' : 'differs from the built package'}`);
      if (committed !== null) printDiff(committed, out.report);
    }
  }
  if (stale.length > 0) {
    console.error(
      `\nThe public API changed (${stale.join(', ')}).\n` +
        `If the change is intended, run \`pnpm build && ${UPDATE_COMMAND}\`, review the diff of api/*.api.md ` +
        `and commit it (with a changeset for the users who see it).\n` +
        `If not, the names exported from src/index.ts or their signatures changed by mistake; ` +
        `tag helpers shared between Skein packages with @internal.`,
    );
  }
  if (failed > 0 || stale.length > 0) process.exit(1);
}

/** A line diff small enough to read in a CI log. @param {string} before @param {string} after */
function printDiff(before, after) {
  const a = before.split('\n');
  const b = after.split('\n');
  const inA = new Set(a);
  const inB = new Set(b);
  const removed = a.filter((line) => !inB.has(line) && line.trim() !== '');
  const added = b.filter((line) => !inA.has(line) && line.trim() !== '');
  for (const line of removed.slice(0, 40)) console.log(`      - ${line}`);
  for (const line of added.slice(0, 40)) console.log(`      + ${line}`);
  if (removed.length + added.length > 80) console.log(`      … ${removed.length} removed, ${added.length} added lines`);
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
