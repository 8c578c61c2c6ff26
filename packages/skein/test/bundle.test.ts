import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { formatCount } from '../src/internal/count.js';
import { BIN, cleanEnv, ok, requireBuiltBinary, run } from './cli-harness.js';
import { makeFixtureHome, THREADS } from './fixture-home.js';

/** The local store's index worker, bundled next to bin.js. */
const WORKER = join(dirname(BIN), 'index-worker.js');

const PKG = JSON.parse(readFileSync(resolve(dirname(BIN), '..', 'package.json'), 'utf8')) as {
  version: string;
  dependencies: Record<string, string>;
};

/** The modules a file of the bundle imports: statically (`import … from`) and with `import()`. */
function importsOf(file: string): { fixed: string[]; lazy: string[] } {
  const src = readFileSync(file, 'utf8');
  const fixed = [...src.matchAll(/^import\s+(?:[^'";]*?\s+from\s+)?["']([^"']+)["'];?$/gm)].map((m) => m[1]!);
  const lazy = [...src.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g)].map((m) => m[1]!);
  return { fixed, lazy };
}

/** Every file and bare module a process loads before any `import()` runs, from dist/bin.js. */
function loadedAtStart(): { files: string[]; modules: Set<string> } {
  const files: string[] = [];
  const modules = new Set<string>();
  const todo = [BIN];
  while (todo.length > 0) {
    const file = todo.pop()!;
    if (files.includes(file)) continue;
    files.push(file);
    for (const spec of importsOf(file).fixed) {
      if (spec.startsWith('.')) todo.push(join(dirname(file), spec));
      else modules.add(spec);
    }
  }
  return { files, modules };
}

/** The package a bare specifier names (`@scope/name/x` → `@scope/name`). */
const packageOf = (spec: string): string =>
  spec
    .split('/')
    .slice(0, spec.startsWith('@') ? 2 : 1)
    .join('/');

beforeAll(() => requireBuiltBinary());

describe('the bundled binary', () => {
  it('starts without loading the Skein packages, the server or the drivers from node_modules', () => {
    const { files, modules } = loadedAtStart();
    // The CLI and the Skein packages are inside the bundle: no module is looked up by name but
    // Node's own (and commander's CommonJS, which is in the bundle, needs only Node's).
    expect([...modules].filter((m) => !m.startsWith('node:'))).toEqual([]);
    // What only some commands need stays out of the files read at start.
    const text = files.map((f) => readFileSync(f, 'utf8')).join('\n');
    for (const heavy of ['"pino"', '"prom-client"', '"pg"', '"ws"', '"@opentelemetry/api"', '"node:http2"'])
      expect(text, heavy).not.toContain(`from ${heavy}`);
    expect(files.length).toBeLessThanOrEqual(6);
  });

  it('imports, at any time, only packages it declares as dependencies', () => {
    const seen = new Set<string>();
    const todo = [BIN, WORKER];
    const external = new Set<string>();
    while (todo.length > 0) {
      const file = todo.pop()!;
      if (seen.has(file)) continue;
      seen.add(file);
      const { fixed, lazy } = importsOf(file);
      for (const spec of [...fixed, ...lazy]) {
        if (spec.startsWith('.')) todo.push(join(dirname(file), spec));
        else if (!spec.startsWith('node:')) external.add(packageOf(spec));
      }
    }
    // The drivers load lazily (the local store's SQLite once a command opens a home).
    expect(external.size).toBeGreaterThan(0);
    for (const name of external) expect(PKG.dependencies, name).toHaveProperty(name);
    expect([...external].filter((n) => n.startsWith('@skein/'))).toEqual([]);
  });

  it('ships the local store’s index worker, which runs a pass over the home on its own', async () => {
    const home = makeFixtureHome();
    await ok(['index', '--home', home], { env: cleanEnv() });
    const file = join(home, readdirSync(home).find((n) => /^skein_index_\d+\.sqlite$/.test(n)) ?? '');
    // The file rows go; the worker, given the rollouts, reads them all again.
    const script = `
      import { Worker } from 'node:worker_threads';
      import { createRequire } from 'node:module';
      const [worker, file, home, ...paths] = process.argv.slice(1);
      const Database = createRequire(worker)('better-sqlite3');
      const db = new Database(file);
      db.exec('DELETE FROM files');
      db.close();
      const w = new Worker(worker, { execArgv: [], workerData: { file, home, defaultModelProvider: 'openai' } });
      w.on('error', (e) => { console.error(e); process.exit(1); });
      w.on('message', (m) => {
        if (m.type === 'ready') w.postMessage({ id: 1, paths, progress: false });
        else w.postMessage({ close: true }), w.once('exit', () => {
          const db = new Database(file, { readonly: true });
          const files = db.prepare('SELECT count(*) AS n FROM files').get().n;
          console.log(JSON.stringify({ reply: m, files }));
        });
      });
    `;
    const rollouts = (readdirSync(home, { recursive: true }) as string[])
      .filter((n) => /rollout-.*\.jsonl$/.test(n))
      .map((n) => join(home, n));
    expect(rollouts).toHaveLength(Object.keys(THREADS).length);
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script, WORKER, file, home, ...rollouts], {
      encoding: 'utf8',
    });
    expect(JSON.parse(out)).toEqual({
      reply: { id: 1, type: 'done', progress: expect.objectContaining({ filesTotal: rollouts.length }) },
      files: rollouts.length,
    });
  });

  it('prints the version of its package.json', async () => {
    const r = await run(['--version'], { env: cleanEnv() });
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(PKG.version);
  });
});

describe('formatCount', () => {
  it('writes whole numbers as en-US does', () => {
    fc.assert(
      fc.property(fc.oneof(fc.integer(), fc.maxSafeInteger(), fc.integer({ min: -1e6, max: 1e6 })), (n) => {
        expect(formatCount(n)).toBe(n.toLocaleString('en-US'));
      }),
    );
    for (const n of [0, 7, 999, 1000, 12_345, 100_000, 1_234_567, -1000, Number.MAX_SAFE_INTEGER, 0.5, 1e21])
      expect(formatCount(n)).toBe(n.toLocaleString('en-US'));
  });
});
