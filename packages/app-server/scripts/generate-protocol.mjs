#!/usr/bin/env node
// Regenerates src/gen/protocol/ from the pinned Codex binary (`codex app-server generate-ts
// --experimental`), so the committed protocol types are exactly Codex 0.169's. The generator
// writes extensionless relative imports; they get the `.js` extension NodeNext resolution needs,
// and nothing else is changed. CI runs this script and fails when the committed tree differs.
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
  mkdirSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const pkg = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outDir = path.join(pkg, 'src/gen/protocol');

const TRIPLES = {
  'linux-x64': 'x86_64-unknown-linux-musl',
  'linux-arm64': 'aarch64-unknown-linux-musl',
  'darwin-x64': 'x86_64-apple-darwin',
  'darwin-arm64': 'aarch64-apple-darwin',
};

function codexBinary() {
  if (process.env.SKEIN_CODEX_BIN) return process.env.SKEIN_CODEX_BIN;
  const key = `${process.platform}-${process.arch}`;
  const triple = TRIPLES[key];
  if (!triple) throw new Error(`no prebuilt Codex binary for ${key}; set SKEIN_CODEX_BIN`);
  const require = createRequire(path.join(pkg, 'package.json'));
  const launcher = realpathSync(require.resolve('@openai/codex/package.json'));
  const platformPkg = createRequire(launcher).resolve(`@openai/codex-${key}/package.json`);
  const bin = path.join(path.dirname(platformPkg), 'vendor', triple, 'bin', 'codex');
  if (!existsSync(bin)) throw new Error(`the Codex binary is missing at ${bin}; run pnpm install`);
  return bin;
}

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else out.push(p);
  }
  return out;
}

const scratch = mkdtempSync(path.join(tmpdir(), 'skein-app-server-gen-'));
try {
  // A scratch CODEX_HOME: the generator reads config, and must not depend on the user's.
  const home = path.join(scratch, 'home');
  const gen = path.join(scratch, 'out');
  mkdirSync(home);
  const r = spawnSync(codexBinary(), ['app-server', 'generate-ts', '--experimental', '--out', gen], {
    env: { PATH: process.env.PATH ?? '', HOME: scratch, CODEX_HOME: home },
    encoding: 'utf8',
  });
  if (r.error) throw r.error;
  if (r.status !== 0) {
    process.stderr.write(r.stderr);
    process.exit(r.status ?? 1);
  }
  rmSync(outDir, { recursive: true, force: true });
  for (const file of walk(gen)) {
    const rel = path.relative(gen, file);
    const text = readFileSync(file, 'utf8').replace(/(from\s+["'])(\.{1,2}\/[^"']+?)(["'])/g, (_m, a, spec, b) => {
      if (spec.endsWith('.js')) return `${a}${spec}${b}`;
      // `./v2` names a folder: its index module.
      const target = path.resolve(path.dirname(file), spec);
      const folder = existsSync(target) && statSync(target).isDirectory();
      return `${a}${folder ? `${spec}/index.js` : `${spec}.js`}${b}`;
    });
    const dest = path.join(outDir, rel);
    mkdirSync(path.dirname(dest), { recursive: true });
    writeFileSync(dest, text);
  }
  process.stdout.write(`generate: ${walk(outDir).length} files in ${path.relative(pkg, outDir)}\n`);
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
