#!/usr/bin/env node
// Fails when a command changed files git tracks (or left new, unignored files behind): the
// proof that committed generated code is what the generator produces today.
//
// Usage:
//   node tools/check-clean-tree.mjs -- <command> [args...]   run it; fail if it changed the tree
//   node tools/check-clean-tree.mjs                          fail if the tree differs from HEAD
//
// With a command, only the command's own changes count: edits already in the working tree
// before it ran are compared by content, so the check also works in a checkout with work in
// progress.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCapture, runInherit } from './lib/exec.mjs';

/**
 * Every path that differs from HEAD (modified, added, deleted, untracked and not ignored),
 * mapped to a digest of its current content.
 * @param {string} root
 * @returns {Map<string, string>}
 */
export function snapshotTree(root) {
  const status = runCapture('git', ['status', '--porcelain=v1', '-z', '--untracked-files=all'], { cwd: root });
  if (status.status !== 0) throw new Error(`git status failed in ${root}: ${status.stderr}`);
  /** @type {Map<string, string>} */
  const snapshot = new Map();
  const fields = status.stdout.split('\0');
  for (let i = 0; i < fields.length; i++) {
    const entry = fields[i] ?? '';
    if (entry.length < 4) continue;
    const code = entry.slice(0, 2);
    const file = entry.slice(3);
    // A rename or copy is followed by its source path; both count as changed.
    if (code.startsWith('R') || code.startsWith('C')) snapshot.set(fields[++i] ?? '', 'moved away');
    snapshot.set(file, `${code} ${digest(path.join(root, file))}`);
  }
  return snapshot;
}

/** @param {string} file */
function digest(file) {
  if (!existsSync(file)) return 'deleted';
  try {
    return createHash('sha256').update(readFileSync(file)).digest('hex');
  } catch {
    return 'unreadable'; // e.g. a directory that replaced a file
  }
}

/**
 * Paths whose state differs between two snapshots, sorted.
 * @param {Map<string, string>} before
 * @param {Map<string, string>} after
 */
export function changedPaths(before, after) {
  const paths = new Set([...before.keys(), ...after.keys()]);
  return [...paths].filter((p) => before.get(p) !== after.get(p)).sort();
}

/** @param {string} root @param {string[]} paths @param {string} heading */
export function reportChanges(root, paths, heading) {
  console.error(heading);
  for (const p of paths.slice(0, 50)) console.error(`  ${p}`);
  if (paths.length > 50) console.error(`  … and ${paths.length - 50} more`);
  const tracked = paths.filter(
    (p) => runCapture('git', ['ls-files', '--error-unmatch', p], { cwd: root }).status === 0,
  );
  if (tracked.length > 0) {
    const diff = runCapture('git', ['diff', '--stat', '--', ...tracked.slice(0, 50)], { cwd: root });
    if (diff.stdout.trim() !== '') console.error(diff.stdout);
  }
  console.error(
    'If these are generated files, regenerate them and commit the result; if a test wrote them, make it use a temp dir.',
  );
}

function main() {
  const root = runCapture('git', ['rev-parse', '--show-toplevel']).stdout.trim();
  if (root === '') {
    console.error('check-clean-tree: not inside a git checkout');
    process.exit(2);
  }
  const args = process.argv.slice(2);
  if (args.length === 0) {
    const dirty = [...snapshotTree(root).keys()].sort();
    if (dirty.length > 0) {
      reportChanges(root, dirty, `The working tree differs from HEAD in ${dirty.length} file(s):`);
      process.exit(1);
    }
    console.log('Working tree is clean.');
    return;
  }
  if (args[0] !== '--' || args.length < 2) {
    console.error('Usage: node tools/check-clean-tree.mjs [-- <command> [args...]]');
    process.exit(2);
  }
  const [command = '', ...commandArgs] = args.slice(1);
  const before = snapshotTree(root);
  const status = runInherit(command, commandArgs);
  if (status !== 0) {
    console.error(`check-clean-tree: \`${args.slice(1).join(' ')}\` exited with ${status}`);
    process.exit(status);
  }
  const changed = changedPaths(before, snapshotTree(root));
  if (changed.length > 0) {
    reportChanges(root, changed, `\`${args.slice(1).join(' ')}\` changed ${changed.length} file(s):`);
    process.exit(1);
  }
  console.log(`\`${args.slice(1).join(' ')}\` left the working tree unchanged.`);
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
