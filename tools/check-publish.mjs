#!/usr/bin/env node
// Checks what npm would receive for every published (non-private) package: packs it with pnpm
// (so `workspace:` ranges are rewritten exactly as on release), then runs publint --strict and
// attw (esm-only profile) on that tarball and checks its file list: dist/index.js and
// dist/index.d.ts present; no sources, tests or other packages' files.
//
// Usage: node tools/check-publish.mjs [package-folder-name ...]   (run `pnpm build` first)
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pnpm, runCapture } from './lib/exec.mjs';
import { publishedPackages } from './lib/packages.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = (/** @type {string} */ name) => path.join(root, 'node_modules', '.bin', name);

/**
 * Problems in a tarball's file list (paths relative to the package root, as npm installs them).
 * @param {string[]} files
 * @param {Record<string, any>} manifest the packed package.json
 */
export function tarballProblems(files, manifest) {
  const problems = [];
  const set = new Set(files);
  for (const required of ['dist/index.js', 'dist/index.d.ts']) {
    if (!set.has(required)) problems.push(`missing ${required} (is the build output in dist/?)`);
  }
  for (const target of Object.values(typeof manifest.bin === 'string' ? { bin: manifest.bin } : (manifest.bin ?? {}))) {
    const file = String(target).replace(/^\.\//, '');
    if (!set.has(file)) problems.push(`bin target ${file} is not in the tarball`);
  }
  for (const file of files) {
    const segments = file.split('/');
    if (segments.some((s) => s === 'src' || s === 'test' || s === '__tests__')) {
      problems.push(`ships a source or test file: ${file}`);
    } else if (segments.some((s) => s === 'node_modules' || s === 'packages')) {
      problems.push(`ships another package's file: ${file}`);
    } else if (/\.(test|spec)\.[cm]?[jt]s$/.test(file) || /\.tsbuildinfo$/.test(file)) {
      problems.push(`ships a test or build-cache file: ${file}`);
    } else if (/\.[cm]?ts$/.test(file) && !/\.d\.[cm]?ts$/.test(file)) {
      problems.push(`ships TypeScript source: ${file}`);
    }
  }
  for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies']) {
    for (const [name, range] of Object.entries(manifest[field] ?? {})) {
      if (String(range).startsWith('workspace:')) problems.push(`${field}.${name} is still '${range}' in the tarball`);
    }
  }
  return problems;
}

/** @param {{ name: string, dir: string }} pkg @param {string} outDir @returns {string[]} problems */
function checkPackage(pkg, outDir) {
  if (!existsSync(path.join(pkg.dir, 'dist', 'index.js'))) {
    return [`no dist/index.js: run \`pnpm build\` before \`pnpm check:publish\``];
  }
  const packDir = mkdtempSync(path.join(outDir, 'pack-'));
  const [cmd, args] = pnpm(['pack', '--pack-destination', packDir]);
  const packed = runCapture(cmd, args, { cwd: pkg.dir });
  const tarball = readdirSync(packDir).find((f) => f.endsWith('.tgz'));
  if (packed.status !== 0 || tarball === undefined) {
    return [`pnpm pack failed:\n${packed.stdout}${packed.stderr}`];
  }
  const tgz = path.join(packDir, tarball);
  const problems = [];

  const listing = runCapture('tar', ['-tzf', tgz]);
  if (listing.status !== 0) return [`could not list ${tgz}: ${listing.stderr}`];
  const files = listing.stdout
    .split('\n')
    .filter((line) => line !== '' && !line.endsWith('/'))
    .map((line) => line.replace(/^package\//, ''));
  const manifest = JSON.parse(runCapture('tar', ['-xzOf', tgz, 'package/package.json']).stdout);
  problems.push(...tarballProblems(files, manifest));

  // The output is re-indented into this script's report, so no colour codes.
  const plain = { env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' } };
  const publint = runCapture(bin('publint'), ['run', tgz, '--strict'], plain);
  if (publint.status !== 0) problems.push(`publint --strict failed:\n${publint.stdout}${publint.stderr}`);

  const attw = runCapture(bin('attw'), [tgz, '--profile', 'esm-only', '--format', 'ascii', '--no-color'], plain);
  if (attw.status !== 0) problems.push(`attw --profile esm-only failed:\n${attw.stdout}${attw.stderr}`);

  if (problems.length === 0) console.log(`  ✓ ${pkg.name}: ${files.length} files packed; publint and attw clean`);
  return problems;
}

function main() {
  const only = process.argv.slice(2);
  const pkgs = publishedPackages(path.join(root, 'packages')).filter(
    (p) => only.length === 0 || only.includes(path.basename(p.dir)) || only.includes(p.name),
  );
  if (pkgs.length === 0) {
    console.error(`check-publish: no published package matches ${only.join(' ')}`);
    process.exit(2);
  }
  const outDir = mkdtempSync(path.join(tmpdir(), 'skein-publish-'));
  let failed = 0;
  try {
    console.log(`Checking ${pkgs.length} published package(s): pnpm pack, publint --strict, attw --profile esm-only`);
    for (const pkg of pkgs) {
      const problems = checkPackage(pkg, outDir);
      if (problems.length > 0) {
        failed += 1;
        console.log(`  ✗ ${pkg.name} (${path.relative(root, pkg.dir)}):`);
        for (const problem of problems) console.log(`      ${problem.replaceAll('\n', '\n      ')}`);
      }
    }
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
  if (failed > 0) {
    console.error(`Publish check failed for ${failed} of ${pkgs.length} package(s).`);
    process.exit(1);
  }
  console.log(`Publish check OK: ${pkgs.length} package(s).`);
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
