#!/usr/bin/env node
// Bundles the `skein` command (src/bin.ts) into dist/bin.js with esbuild, so starting it reads a
// handful of files instead of Node resolving and loading every module of the CLI and the Skein
// packages one by one (smol-toml too: every command that opens a home parses its config.toml).
// Code only some commands need (the server, the app-server, the PostgreSQL and remote stores) is
// split into chunks under dist/cli/ that load when a command imports them.
//
// Left outside the bundle, loaded from node_modules: native modules (better-sqlite3, fs-ext),
// packages that find files or workers next to themselves (pino), drivers with optional native
// parts (pg, ws), and libraries that keep process-wide state meant to be shared with the
// embedding program (@opentelemetry/api, prom-client's default registry). Each is a dependency of
// this package, so it resolves from dist/. The library entry (dist/index.js) stays tsc's output.
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'dist');

export const EXTERNAL = [
  'better-sqlite3',
  'fs-ext',
  'pg',
  'pg-cursor',
  'pino',
  'prom-client',
  '@opentelemetry/api',
  'ws',
  // Loaded with require() on first use by the table code; small, and kept as they are.
  'slice-ansi',
  'string-width',
];

// tsc's unbundled bin is replaced: one entry file, whatever is in it.
for (const f of ['bin.js', 'bin.js.map', 'bin.d.ts', 'bin.d.ts.map', 'index-worker.js', 'index-worker.js.map'])
  rmSync(path.join(dist, f), { force: true });
rmSync(path.join(dist, 'cli'), { recursive: true, force: true });

/** What both builds share: one ESM file set for Node 20 with the native modules left out. */
const common = {
  absWorkingDir: root,
  outdir: 'dist',
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20.19',
  external: EXTERNAL,
  // CommonJS code in the bundle (commander) requires Node's built-ins; ESM output has no
  // `require`, so each output file makes one.
  banner: {
    js: "import { createRequire as __skeinCreateRequire } from 'node:module';\nconst require = __skeinCreateRequire(import.meta.url);",
  },
  sourcemap: 'linked',
  sourcesContent: false,
  legalComments: 'none',
  logLevel: 'warning',
};

const result = await build({
  ...common,
  entryPoints: { bin: 'src/bin.ts' },
  chunkNames: 'cli/[name]-[hash]',
  splitting: true,
  metafile: true,
});

// The local store's index worker (a worker_threads module) as one file next to bin.js, which
// tells the store where it is (see src/bin.ts). Its own build, so bin.js and its chunks stay as
// they are; it shares no state with them.
const localStore = createRequire(path.join(root, 'package.json')).resolve('@skein/thread-store-local');
await build({
  ...common,
  entryPoints: { 'index-worker': path.join(path.dirname(localStore), 'internal', 'index-worker.js') },
});

if (process.argv.includes('--analyze')) {
  const { analyzeMetafile } = await import('esbuild');
  process.stdout.write(await analyzeMetafile(result.metafile));
}
