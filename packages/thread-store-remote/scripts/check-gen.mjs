#!/usr/bin/env node
// CI check for the protobuf schema and its committed code:
//   1. `buf lint` on proto/;
//   2. `buf breaking` against the schema in git history: the previous commit's, and main's when
//      this is another branch (a ref without proto/, e.g. the commit that adds it or a shallow
//      clone's missing parent, is skipped: there is nothing to break);
//   3. `buf generate`, then fail if src/gen (here and in the web page's package) differs from
//      what is committed.
// Uses the buf binary from @bufbuild/buf (a dev dependency); no network.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const pkg = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const root = path.resolve(pkg, '../..');
const buf = path.join(pkg, 'node_modules/.bin/buf');

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { cwd: root, encoding: 'utf8', stdio: opts.capture ? 'pipe' : 'inherit' });
  if (r.error) throw r.error;
  return r;
}

function step(name, cmd, args) {
  process.stdout.write(`check:gen: ${name}\n`);
  const r = run(cmd, args);
  if (r.status !== 0) {
    process.stderr.write(`check:gen: ${name} failed\n`);
    process.exit(r.status ?? 1);
  }
}

const git = (...args) => run('git', args, { capture: true });
const hasProtoAt = (ref) => git('cat-file', '-e', `${ref}:proto/skein`).status === 0;

step('buf lint', buf, ['lint']);

const refs = [];
if (git('rev-parse', '--verify', '--quiet', 'HEAD~1').status === 0 && hasProtoAt('HEAD~1')) refs.push('HEAD~1');
const branch = git('rev-parse', '--abbrev-ref', 'HEAD').stdout.trim();
if (branch !== 'main' && git('rev-parse', '--verify', '--quiet', 'main').status === 0 && hasProtoAt('main'))
  refs.push('main');
if (refs.length === 0) process.stdout.write('check:gen: buf breaking skipped: no earlier commit has proto/\n');
for (const ref of refs)
  step(`buf breaking against ${ref}`, buf, ['breaking', '--against', `.git#ref=${ref},subdir=proto`]);

step('buf generate', buf, ['generate']);
const status = git(
  'status',
  '--porcelain',
  '--untracked-files=all',
  '--',
  path.join(pkg, 'src/gen'),
  path.join(root, 'packages/web/src/gen'),
);
if (status.stdout.trim() !== '') {
  process.stderr.write(
    `check:gen: regenerating changed committed code; run \`pnpm generate\` and commit:\n${status.stdout}`,
  );
  process.exit(1);
}
process.stdout.write('check:gen: ok\n');
