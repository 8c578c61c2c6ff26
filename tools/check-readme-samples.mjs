#!/usr/bin/env node
// Every ```ts / ```js block of README.md and packages/*/README.md is type-checked against the
// built packages (run `pnpm build` first), exactly as a user would paste it into an ESM project
// that depends on them; blocks marked runnable are also run. Other blocks (sh, output, plain)
// are not code and are ignored.
//
// Markers: HTML comments (invisible on GitHub) on the lines right above a block:
//   <!-- sample: run -->                 also run it (with tsx); it must exit 0 within a minute
//   <!-- sample: skip: <reason> -->      neither checked nor run; the reason is required
//   <!-- sample-prelude: <TS code> -->   prepended (one line) for names the prose defines,
//                                        e.g. `declare const store: ThreadStore;`
//
// Usage: node tools/check-readme-samples.mjs [--root DIR]
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

// typescript, tsx and @types/node come from this repository, whichever root is checked.
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CODE_LANGS = new Set(['ts', 'typescript', 'js', 'javascript', 'mjs', 'mts']);
const FENCE = /^```\s*([\w-]*)\s*$/;
const MARKER = /^<!--\s*(sample|sample-prelude):\s*(.*?)\s*-->$/;

/**
 * @typedef {{ readme: string, line: number, lang: string, code: string, mode: 'check' | 'run' | 'skip',
 *   reason: string, prelude: string }} Sample
 */

/**
 * The code blocks of one Markdown file, with their markers. `line` is the 1-based line of the
 * opening fence. Throws on a marker it does not understand or a skip without a reason.
 * @param {string} markdown @param {string} readme the file's name, for messages
 * @returns {Sample[]}
 */
export function extractSamples(markdown, readme) {
  const lines = markdown.split('\n');
  /** @type {Sample[]} */
  const samples = [];
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i] ?? '');
    if (!open) continue;
    const lang = (open[1] ?? '').toLowerCase();
    let end = i + 1;
    while (end < lines.length && !/^```\s*$/.test(lines[end] ?? '')) end++;
    const code = lines.slice(i + 1, end).join('\n');
    const fenceLine = i + 1;
    i = end;
    if (!CODE_LANGS.has(lang)) continue;

    /** @type {Sample} */
    const sample = { readme, line: fenceLine, lang, code, mode: 'check', reason: '', prelude: '' };
    for (let j = fenceLine - 2; j >= 0; j--) {
      const text = (lines[j] ?? '').trim();
      // Blank lines may stand between a marker and its fence (Prettier puts one there).
      if (text === '') continue;
      const marker = MARKER.exec(text);
      if (!marker) break;
      const [, kind, value = ''] = marker;
      if (kind === 'sample-prelude') {
        sample.prelude = `${value} ${sample.prelude}`.trim();
      } else if (value === 'run') {
        sample.mode = 'run';
      } else if (value.startsWith('skip')) {
        const reason = value.replace(/^skip\s*[:—-]?\s*/, '');
        if (reason === '') throw new Error(`${readme}:${j + 1}: \`sample: skip\` needs a reason`);
        sample.mode = 'skip';
        sample.reason = reason;
      } else {
        throw new Error(`${readme}:${j + 1}: unknown sample marker "${value}" (run, or skip: <reason>)`);
      }
    }
    samples.push(sample);
  }
  return samples;
}

/** README.md and every packages/<name>/README.md under `root`. @param {string} root */
export function readmes(root) {
  const packagesDir = path.join(root, 'packages');
  const found = [path.join(root, 'README.md')];
  if (existsSync(packagesDir)) {
    for (const entry of readdirSync(packagesDir).sort()) {
      const file = path.join(packagesDir, entry, 'README.md');
      if (existsSync(file)) found.push(file);
    }
  }
  return found.filter((f) => existsSync(f));
}

/**
 * A scratch ESM project whose node_modules link every workspace package by its name, so samples
 * import `@skein/…` and `skein` as users do (through each package's `exports`, i.e. dist/).
 * @param {string} root
 */
function scratchProject(root) {
  const dir = mkdtempSync(path.join(tmpdir(), 'skein-readme-samples-'));
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'readme-samples', type: 'module' }));
  const modules = path.join(dir, 'node_modules');
  mkdirSync(path.join(modules, '@skein'), { recursive: true });
  const packagesDir = path.join(root, 'packages');
  for (const entry of existsSync(packagesDir) ? readdirSync(packagesDir) : []) {
    const pkgJson = path.join(root, 'packages', entry, 'package.json');
    if (!existsSync(pkgJson)) continue;
    const name = String(JSON.parse(readFileSync(pkgJson, 'utf8')).name);
    symlinkSync(path.join(root, 'packages', entry), path.join(modules, ...name.split('/')), 'dir');
  }
  symlinkSync(path.join(repoRoot, 'node_modules', '@types'), path.join(modules, '@types'), 'dir');
  return dir;
}

/** @param {Sample} s */
const sampleName = (s) => `${s.readme}:${s.line}`;

/**
 * Type-checks every sample that is not skipped, each as its own module in `dir`.
 * @param {Sample[]} samples @param {string} dir
 * @returns {{ sample: Sample, file: string, problems: string[] }[]}
 */
function typeCheck(samples, dir) {
  const files = samples.map((sample, index) => {
    const ext = sample.lang.startsWith('j') || sample.lang === 'mjs' ? 'mjs' : 'mts';
    const file = path.join(dir, `sample-${index}.${ext}`);
    // Line 1 is the prelude, so line k of the block is line k + 1 of the file; `export {}` makes
    // a block without imports a module too (top-level await).
    writeFileSync(file, `${sample.prelude}\n${sample.code}\nexport {};\n`);
    return file;
  });
  const program = ts.createProgram(files, {
    target: ts.ScriptTarget.ES2022,
    lib: ['lib.es2023.d.ts', 'lib.esnext.disposable.d.ts'],
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true,
    exactOptionalPropertyTypes: true,
    noUncheckedIndexedAccess: true,
    allowJs: true,
    checkJs: true,
    noEmit: true,
    skipLibCheck: true,
    types: ['node'],
  });
  const diagnostics = ts.getPreEmitDiagnostics(program);
  return samples.map((sample, index) => {
    const file = files[index] ?? '';
    const problems = diagnostics
      .filter((d) => d.file !== undefined && path.resolve(d.file.fileName) === path.resolve(file))
      .map((d) => {
        const { line } = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start) : { line: 0 };
        const readmeLine = line === 0 ? sample.line : sample.line + line;
        return `${sample.readme}:${readmeLine}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
      });
    return { sample, file, problems };
  });
}

/**
 * Checks (and runs, where marked) every code sample of the READMEs under `root`.
 * @param {string} root
 * @returns {{ checked: number, ran: number, skipped: { name: string, reason: string }[], problems: string[] }}
 */
export function checkReadmeSamples(root) {
  /** @type {Sample[]} */
  const all = [];
  /** @type {string[]} */
  const problems = [];
  for (const file of readmes(root)) {
    try {
      all.push(...extractSamples(readFileSync(file, 'utf8'), path.relative(root, file)));
    } catch (e) {
      problems.push(e instanceof Error ? e.message : String(e));
    }
  }
  const active = all.filter((s) => s.mode !== 'skip');
  const skipped = all.filter((s) => s.mode === 'skip').map((s) => ({ name: sampleName(s), reason: s.reason }));
  const dir = scratchProject(root);
  let ran = 0;
  try {
    const checked = typeCheck(active, dir);
    for (const { problems: p } of checked) problems.push(...p);
    for (const { sample, file, problems: p } of checked) {
      if (sample.mode !== 'run' || p.length > 0) continue;
      ran += 1;
      const tsx = path.join(repoRoot, 'node_modules', '.bin', 'tsx');
      const run = spawnSync(tsx, [file], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
      if (run.status !== 0) {
        const why = run.error ? run.error.message : `exit ${run.status ?? run.signal}`;
        problems.push(`${sampleName(sample)}: the runnable sample failed (${why}):\n${run.stdout}${run.stderr}`);
      }
    }
    return { checked: active.length, ran, skipped, problems };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function main() {
  const rootFlag = process.argv.indexOf('--root');
  const root = rootFlag >= 0 ? path.resolve(process.argv[rootFlag + 1] ?? '.') : repoRoot;
  const { checked, ran, skipped, problems } = checkReadmeSamples(root);
  for (const { name, reason } of skipped) console.log(`  - ${name} skipped: ${reason}`);
  if (problems.length > 0) {
    for (const p of problems) console.error(`  ✗ ${p.replaceAll('\n', '\n      ')}`);
    console.error(
      `\nREADME samples: ${problems.length} problem(s). Fix the sample (it is what users copy), or mark it ` +
        '`<!-- sample: skip: <reason> -->` if it is not meant to compile.',
    );
    process.exit(1);
  }
  console.log(
    `README samples OK: ${checked} type-checked against the built packages, ${ran} run, ${skipped.length} skipped.`,
  );
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
