#!/usr/bin/env node
// A release rehearsed end to end, as users will meet it: on a scratch copy of the repository,
// `changeset version` bumps the versions, `pnpm publish -r` publishes every public package to a
// local Verdaccio on 127.0.0.1 (only @skein/* and skein live there; every other package comes
// through its uplink to the npm registry), then, outside the workspace:
//   - a scratch project installs only @skein/thread-store-api and @skein/thread-store-local and
//     runs the thread-store-local README example;
//   - `npm install -g skein` into a temp prefix gives a `skein` whose `--version` is the released
//     version and whose `threads list --home <fixture home>` lists the fixture's thread.
// The working tree is never touched. Run `pnpm build` first.
//
// Usage: pnpm run rehearse:publish   [--keep] keeps the scratch folder for a look afterwards
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { extractSamples } from './check-readme-samples.mjs';
import { pnpm, runCapture } from './lib/exec.mjs';
import { publishedPackages } from './lib/packages.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = (/** @type {string} */ name) => path.join(root, 'node_modules', '.bin', name);
const FIXTURE_THREAD = '0194a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b';
const FIXTURE_PREVIEW = 'a thread from the rehearsal fixture home';

/**
 * Runs a command without blocking the event loop (the registry runs in this process's child),
 * and resolves with its status and output; fails the rehearsal when it exits non-zero.
 * @param {string} what @param {string} command @param {string[]} args
 * @param {{ cwd: string, env?: NodeJS.ProcessEnv, timeoutMs?: number }} options
 * @returns {Promise<string>} stdout
 */
function run(what, command, args, options) {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    // Its own process group, so a timeout also ends what it started (install scripts, compilers).
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: 'pipe',
      detached: true,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += String(d)));
    child.stderr.on('data', (d) => (stderr += String(d)));
    const timer = setTimeout(() => {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    }, options.timeoutMs ?? 300_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`${what}: could not run ${command}: ${e.message}`));
    });
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      if (status === 0) {
        console.log(`  ✓ ${what} (${seconds}s)`);
        resolve(stdout);
      } else {
        reject(new Error(`${what} failed (${status ?? signal}) after ${seconds}s:\n${stdout}${stderr}`));
      }
    });
  });
}

/**
 * This process's environment without the npm_config_* variables `pnpm run` exports (its own
 * settings, including a globalconfig of its own): npm must read the machine's npm configuration
 * (e.g. a `nodedir` for node-gyp) plus the rehearsal's userconfig, as it would for a user.
 */
function npmNeutralEnv() {
  /** @type {NodeJS.ProcessEnv} */
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_config_/i.test(k)));
  // npm (7+) does not pass its configuration to install scripts, so node-gyp would download
  // the Node headers, which needs nodejs.org; the headers installed with this Node do as well.
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  if (existsSync(path.join(prefix, 'include', 'node', 'node_version.h'))) env.npm_config_nodedir = prefix;
  return env;
}

/** A free TCP port on 127.0.0.1. @returns {Promise<number>} */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** The registry the machine's npm uses: Verdaccio's uplink for every non-Skein package. */
function upstreamRegistry() {
  const out = runCapture('npm', ['config', 'get', 'registry']);
  const url = out.status === 0 ? out.stdout.trim() : '';
  return url === '' || url === 'undefined' ? 'https://registry.npmjs.org/' : url;
}

/**
 * Verdaccio's configuration: Skein's names are served from local storage only (never proxied,
 * so an unrelated package of the same name on npm cannot shadow them); everything else proxies.
 * @param {string} dir @param {string} uplink
 */
function verdaccioConfig(dir, uplink) {
  const local = { access: '$all', publish: '$authenticated', unpublish: '$authenticated' };
  const yaml = (/** @type {Record<string, string>} */ o) =>
    Object.entries(o)
      .map(([k, v]) => `    ${k}: ${v}`)
      .join('\n');
  return [
    `storage: ${JSON.stringify(path.join(dir, 'storage'))}`,
    'auth:',
    '  htpasswd:',
    `    file: ${JSON.stringify(path.join(dir, 'htpasswd'))}`,
    '    max_users: 10',
    'uplinks:',
    '  npmjs:',
    `    url: ${JSON.stringify(uplink)}`,
    '    timeout: 120s',
    '    max_fails: 5',
    'packages:',
    "  '@skein/*':",
    yaml(local),
    "  'skein':",
    yaml(local),
    "  '**':",
    '    access: $all',
    '    proxy: npmjs',
    'web:',
    '  enable: false',
    'max_body_size: 200mb',
    'log: { type: stdout, format: pretty, level: warn }',
    '',
  ].join('\n');
}

/** @param {string} url @returns {Promise<void>} */
async function waitForRegistry(url) {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${url}-/ping`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`Verdaccio did not answer on ${url} within 60 s`);
}

/** Registers a publisher and returns its token (npm's adduser call). @param {string} url */
async function addUser(url) {
  const name = 'rehearsal';
  const res = await fetch(`${url}-/user/org.couchdb.user:${name}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      name,
      password: 'rehearsal-password',
      type: 'user',
      roles: [],
      date: new Date().toISOString(),
    }),
  });
  const body = /** @type {{ token?: string }} */ (await res.json());
  if (!res.ok || typeof body.token !== 'string') throw new Error(`could not add a Verdaccio user: ${res.status}`);
  return body.token;
}

/**
 * A copy of the repository with each package's built dist/ but without node_modules: those are
 * installed in the copy (pnpm resolves `workspace:` ranges from them when it publishes).
 * @param {string} dest
 */
function scratchCopy(dest) {
  cpSync(root, dest, {
    recursive: true,
    filter: (src) => {
      const rel = path.relative(root, src);
      const parts = rel.split(path.sep);
      return !parts.some((p) => p === 'node_modules' || p === '.git' || p === '.turbo' || p === 'bench-out');
    },
  });
}

/** A Codex home with one thread, as Codex writes it. @param {string} home */
function fixtureHome(home) {
  const day = path.join(home, 'sessions', '2025', '01', '02');
  mkdirSync(day, { recursive: true });
  const lines = [
    {
      timestamp: '2025-01-02T03:04:05.000Z',
      type: 'session_meta',
      payload: {
        id: FIXTURE_THREAD,
        timestamp: '2025-01-02T03:04:05.000Z',
        cwd: '/tmp',
        originator: 'codex_cli_rs',
        cli_version: '0.169.0',
        source: 'cli',
        model_provider: 'openai',
      },
    },
    {
      timestamp: '2025-01-02T03:04:06.000Z',
      type: 'event_msg',
      payload: { type: 'user_message', message: FIXTURE_PREVIEW, images: [] },
    },
  ];
  writeFileSync(
    path.join(day, `rollout-2025-01-02T03-04-05-${FIXTURE_THREAD}.jsonl`),
    lines.map((l) => JSON.stringify(l)).join('\n') + '\n',
  );
}

/**
 * better-sqlite3 installs a prebuilt binary for the platform from its GitHub releases, and
 * compiles itself when that fails. This machine reaches only the npm registry, and a download
 * that cannot connect may hang, so the binary the workspace built from the same sources is
 * offered as a local prebuild (prebuild-install's `local-prebuilds`), and the download host is a
 * closed local port: a version without a local prebuild is compiled, never waited for.
 * @param {string} dir @returns {NodeJS.ProcessEnv}
 */
function betterSqlitePrebuild(dir) {
  const pkgJson = createRequire(path.join(root, 'packages', 'thread-store-local', 'package.json')).resolve(
    'better-sqlite3/package.json',
  );
  const pkgDir = path.dirname(pkgJson);
  const { version } = JSON.parse(readFileSync(pkgJson, 'utf8'));
  const name = `better-sqlite3-v${version}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`;
  mkdirSync(dir, { recursive: true });
  const tar = runCapture('tar', ['-czf', path.join(dir, name), '-C', pkgDir, 'build/Release/better_sqlite3.node']);
  if (tar.status !== 0) throw new Error(`could not pack better-sqlite3's binary: ${tar.stderr}`);
  return {
    npm_config_better_sqlite3_local_prebuilds: dir,
    npm_config_better_sqlite3_binary_host: 'http://127.0.0.1:9',
  };
}

/** The runnable example of the thread-store-local README, as JavaScript. */
function localReadmeExample() {
  const readme = path.join(root, 'packages', 'thread-store-local', 'README.md');
  const sample = extractSamples(readFileSync(readme, 'utf8'), readme).find((s) => s.mode === 'run');
  if (sample === undefined) throw new Error(`${readme} has no sample marked <!-- sample: run -->`);
  return ts.transpileModule(sample.code, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true },
  }).outputText;
}

async function main() {
  const keep = process.argv.includes('--keep');
  const pkgs = publishedPackages(path.join(root, 'packages'));
  const unbuilt = pkgs.filter((p) => !existsSync(path.join(p.dir, 'dist', 'index.js')));
  if (unbuilt.length > 0)
    throw new Error(`run \`pnpm build\` first (no dist/ in ${unbuilt.map((p) => p.name).join(', ')})`);

  const work = mkdtempSync(path.join(tmpdir(), 'skein-rehearsal-'));
  const repo = path.join(work, 'repo');
  const registryDir = path.join(work, 'verdaccio');
  mkdirSync(registryDir);
  /** @type {import('node:child_process').ChildProcess | null} */
  let verdaccio = null;
  let verdaccioLog = '';
  const started = Date.now();
  try {
    console.log(`Rehearsing a release in ${work}`);
    scratchCopy(repo);
    // From the pnpm store this machine already has; no build scripts (dist/ is copied).
    const [installCmd, installArgs] = pnpm(['install', '--frozen-lockfile', '--prefer-offline', '--ignore-scripts']);
    await run('pnpm install (scratch copy)', installCmd, installArgs, { cwd: repo });
    await run('changeset version (scratch copy)', path.join(repo, 'node_modules', '.bin', 'changeset'), ['version'], {
      cwd: repo,
    });
    const versions = Object.fromEntries(
      pkgs.map((p) => {
        const json = JSON.parse(readFileSync(path.join(repo, path.relative(root, p.dir), 'package.json'), 'utf8'));
        return [p.name, String(json.version)];
      }),
    );
    console.log(
      `    versions: ${Object.entries(versions)
        .map(([n, v]) => `${n}@${v}`)
        .join(', ')}`,
    );

    const port = await freePort();
    const url = `http://127.0.0.1:${port}/`;
    writeFileSync(path.join(registryDir, 'config.yaml'), verdaccioConfig(registryDir, upstreamRegistry()));
    verdaccio = spawn(
      bin('verdaccio'),
      ['--config', path.join(registryDir, 'config.yaml'), '--listen', `127.0.0.1:${port}`],
      {
        cwd: registryDir,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    verdaccio.stdout?.on('data', (d) => (verdaccioLog += String(d)));
    verdaccio.stderr?.on('data', (d) => (verdaccioLog += String(d)));
    await waitForRegistry(url);
    console.log(`  ✓ Verdaccio on ${url}`);

    const token = await addUser(url);
    const npmrc = path.join(work, '.npmrc');
    writeFileSync(npmrc, `registry=${url}\n//127.0.0.1:${port}/:_authToken=${token}\n`);
    // npm and pnpm read this file instead of the user's, so no other registry or token leaks in.
    const env = {
      ...npmNeutralEnv(),
      ...betterSqlitePrebuild(path.join(work, 'prebuilds')),
      npm_config_userconfig: npmrc,
      npm_config_registry: url,
      npm_config_fund: 'false',
      npm_config_audit: 'false',
      npm_config_update_notifier: 'false',
    };

    const [pnpmCmd, pnpmArgs] = pnpm(['publish', '-r', '--no-git-checks', '--registry', url]);
    await run('pnpm publish -r to Verdaccio', pnpmCmd, pnpmArgs, { cwd: repo, env });
    for (const [name, version] of Object.entries(versions)) {
      const res = await fetch(`${url}${name.replace('/', '%2f')}`);
      const doc = /** @type {{ versions?: Record<string, unknown> }} */ (res.ok ? await res.json() : {});
      if (doc.versions?.[version] === undefined) throw new Error(`${name}@${version} is not on the local registry`);
    }
    console.log(`  ✓ all ${pkgs.length} packages are on the local registry`);

    // Outside the workspace: nothing here can resolve a package from the repository.
    const consumer = path.join(work, 'consumer');
    mkdirSync(consumer);
    writeFileSync(
      path.join(consumer, 'package.json'),
      JSON.stringify({ name: 'consumer', private: true, type: 'module' }),
    );
    writeFileSync(path.join(consumer, 'example.mjs'), localReadmeExample());
    const prefix = path.join(work, 'global');
    const home = path.join(work, 'codex-home');
    fixtureHome(home);

    // The two installs each build the native modules when no prebuilt binary matches: run them
    // side by side.
    await Promise.all([
      (async () => {
        await run(
          'npm install @skein/thread-store-api @skein/thread-store-local (scratch project)',
          'npm',
          ['install', '@skein/thread-store-api', '@skein/thread-store-local'],
          { cwd: consumer, env },
        );
        const out = await run('the thread-store-local README example', process.execPath, ['example.mjs'], {
          cwd: consumer,
          env,
          timeoutMs: 60_000,
        });
        if (!out.includes('All tests pass now.')) throw new Error(`the README example printed:\n${out}`);
      })(),
      (async () => {
        await run('npm install -g skein (temp prefix)', 'npm', ['install', '-g', '--prefix', prefix, 'skein'], {
          cwd: work,
          env,
        });
        const skein = path.join(prefix, 'bin', 'skein');
        const version = (await run('skein --version', skein, ['--version'], { cwd: work, env })).trim();
        if (version !== versions.skein)
          throw new Error(`skein --version printed ${version}, expected ${versions.skein}`);
        const list = await run(
          'skein threads list --home <fixture home>',
          skein,
          ['threads', 'list', '--home', home, '--json'],
          {
            cwd: work,
            env,
          },
        );
        const page = /** @type {{ threads: { id: string, preview: string }[] }} */ (JSON.parse(list));
        if (
          page.threads.length !== 1 ||
          page.threads[0]?.id !== FIXTURE_THREAD ||
          page.threads[0].preview !== FIXTURE_PREVIEW
        )
          throw new Error(`skein threads list printed:\n${list}`);
      })(),
    ]);
    console.log(`Publish rehearsal OK in ${((Date.now() - started) / 1000).toFixed(0)}s.`);
  } catch (e) {
    console.error(`\nPublish rehearsal failed: ${e instanceof Error ? e.message : String(e)}`);
    if (verdaccioLog.trim() !== '') console.error(`\nVerdaccio said:\n${verdaccioLog.slice(-4000)}`);
    process.exitCode = 1;
  } finally {
    verdaccio?.kill('SIGTERM');
    if (keep) console.log(`kept ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
}

await main();
