import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { checkLayering, formatReport } from '../check-layering.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const script = path.resolve(here, '../check-layering.mjs');
const cleanFixture = path.join(here, 'fixtures/layering-clean');

let roots: string[] = [];
afterEach(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
  roots = [];
});

/** A private copy of the clean fixture monorepo that a test may break. */
function copyFixture(): string {
  const root = mkdtempSync(path.join(tmpdir(), 'skein-layering-'));
  roots.push(root);
  cpSync(cleanFixture, root, { recursive: true });
  return root;
}

/** Runs the script as CI does: a child process, its exit status and its output. */
function runCli(...args: string[]) {
  const result = spawnSync(process.execPath, [script, ...args], { encoding: 'utf8' });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

/** The same check in-process (no TypeScript start-up per case), with the CLI's exit status. */
function run(root: string) {
  const report = formatReport(checkLayering(root));
  return { status: report.ok ? 0 : 1, output: report.text };
}

type Json = Record<string, any>;

function editPackageJson(root: string, dir: string, edit: (json: Json) => void): void {
  const file = path.join(root, 'packages', dir, 'package.json');
  const json = JSON.parse(readFileSync(file, 'utf8')) as Json;
  edit(json);
  writeFileSync(file, JSON.stringify(json, null, 2));
}

function writeSource(root: string, relative: string, text: string): void {
  const file = path.join(root, 'packages', relative);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text);
}

function expectViolation(root: string, ...fragments: string[]): string {
  const { status, output } = run(root);
  expect(status, output).toBe(1);
  expect(output).toContain('Layering check failed');
  for (const fragment of fragments) expect(output).toContain(fragment);
  return output;
}

describe('check-layering', () => {
  it('passes the clean fixture monorepo, including imports mentioned only in comments and strings', () => {
    const { status, output } = runCli('--root', cleanFixture);
    expect(output).toContain('Layering OK: 9 packages, 16 files, 38 imports checked.');
    expect(status).toBe(0);
  });

  it('exits 1 and names the edge when run as a command on a broken tree', () => {
    const root = copyFixture();
    editPackageJson(root, 'core-session', (json) => {
      json.dependencies = { ...json.dependencies, '@skein/thread-store-local': 'workspace:^' };
    });
    const { status, output } = runCli('--root', root);
    expect(status).toBe(1);
    expect(output).toContain('Layering check failed: 1 violation(s)');
    expect(output).toContain('@skein/core-session -> @skein/thread-store-local in dependencies is not an allowed edge');
  });

  describe('internal dependency edges', () => {
    it.each([
      ['core-session', '@skein/core-session', '@skein/thread-store-local'],
      ['thread-manager', '@skein/thread-manager', '@skein/thread-store-remote'],
      ['thread-store-local', '@skein/thread-store-local', '@skein/core-session'],
      ['thread-store-remote', '@skein/thread-store-remote', '@skein/thread-store-local'],
      ['thread-store-conformance', '@skein/thread-store-conformance', '@skein/thread-store-local'],
      ['thread-store-api', '@skein/thread-store-api', '@skein/thread-store-conformance'],
    ])('fails when %s lists a disallowed runtime dependency', (dir, from, to) => {
      const root = copyFixture();
      editPackageJson(root, dir, (json) => {
        json.dependencies = { ...json.dependencies, [to]: 'workspace:^' };
      });
      expectViolation(root, `packages/${dir}/package.json: ${from} -> ${to} in dependencies is not an allowed edge`);
    });

    it('fails when thread-store-api gains any runtime dependency, even an external one', () => {
      const root = copyFixture();
      editPackageJson(root, 'thread-store-api', (json) => {
        json.dependencies = { uuid: '^11.0.0' };
      });
      expectViolation(
        root,
        '@skein/thread-store-api -> uuid in dependencies: @skein/thread-store-api has no runtime dependencies by design',
      );
    });

    it('checks peer and optional dependencies as runtime edges too', () => {
      const root = copyFixture();
      editPackageJson(root, 'core-session', (json) => {
        json.peerDependencies = { '@skein/thread-store-remote': 'workspace:^' };
      });
      expectViolation(root, '@skein/core-session -> @skein/thread-store-remote in peerDependencies');
    });

    it('allows a backend as a devDependency for tests', () => {
      const root = copyFixture();
      editPackageJson(root, 'thread-manager', (json) => {
        json.devDependencies = { ...json.devDependencies, '@skein/thread-store-remote': 'workspace:^' };
      });
      writeSource(root, 'thread-manager/test/remote.test.ts', "import '@skein/thread-store-remote';\n");
      expect(run(root).status).toBe(0);
    });

    it('fails on a dependency cycle, even through devDependencies', () => {
      const root = copyFixture();
      editPackageJson(root, 'thread-store-api', (json) => {
        json.devDependencies = { '@skein/thread-store-local': 'workspace:^' };
      });
      expectViolation(
        root,
        'dependency cycle: @skein/thread-store-api -> @skein/thread-store-local -> @skein/thread-store-api',
      );
    });

    it('fails on a package that has no place in the layers', () => {
      const root = copyFixture();
      writeSource(
        root,
        'thread-store-sqlserver/package.json',
        JSON.stringify({ name: '@skein/thread-store-sqlserver' }),
      );
      expectViolation(root, '@skein/thread-store-sqlserver has no place in the layers');
    });
  });

  describe('backend drivers', () => {
    it.each([
      ['core-session', 'dependencies', 'better-sqlite3'],
      ['core-session', 'devDependencies', '@types/better-sqlite3'],
      ['thread-manager', 'dependencies', '@bufbuild/protobuf'],
      ['thread-manager', 'dependencies', '@connectrpc/connect-node'],
      ['core-session', 'optionalDependencies', 'pg'],
      ['thread-manager', 'dependencies', 'fzstd'],
    ])('fails when %s lists %s %s', (dir, field, driver) => {
      const root = copyFixture();
      editPackageJson(root, dir, (json) => {
        json[field] = { ...json[field], [driver]: '*' };
      });
      expectViolation(root, `@skein/${dir} -> ${driver} in ${field}: backend drivers belong in a backend package`);
    });

    it('fails when core-session imports a driver, even from a test', () => {
      const root = copyFixture();
      writeSource(root, 'core-session/test/sqlite.test.ts', "import Database from 'better-sqlite3';\nvoid Database;\n");
      expectViolation(
        root,
        "packages/core-session/test/sqlite.test.ts:1: @skein/core-session imports the backend driver 'better-sqlite3'",
      );
    });

    it('fails when thread-manager src imports a driver through a dynamic import', () => {
      const root = copyFixture();
      writeSource(
        root,
        'thread-manager/src/transport.ts',
        "export const load = async () =>\n  await import('@connectrpc/connect-node');\n",
      );
      expectViolation(
        root,
        "packages/thread-manager/src/transport.ts:2: @skein/thread-manager imports the backend driver '@connectrpc/connect-node'",
      );
    });
  });

  describe('PostgreSQL drivers stay in thread-store-postgres (and the composition root)', () => {
    it.each([
      ['thread-store-local', 'dependencies', 'pg'],
      ['thread-store-remote', 'dependencies', 'pg-cursor'],
      ['thread-store-conformance', 'devDependencies', '@types/pg'],
      ['interop-tests', 'devDependencies', 'pg-query-stream'],
    ])('fails when %s lists %s %s', (dir, field, driver) => {
      const root = copyFixture();
      editPackageJson(root, dir, (json) => {
        json[field] = { ...json[field], [driver]: '*' };
      });
      expectViolation(root, `-> ${driver} in ${field}: ${driver} is a PostgreSQL driver, used only inside`);
    });

    it('fails when another backend imports pg, even from a test', () => {
      const root = copyFixture();
      writeSource(root, 'thread-store-remote/test/pg.test.ts', "import pg from 'pg';\nvoid pg;\n");
      expectViolation(
        root,
        "packages/thread-store-remote/test/pg.test.ts:1: @skein/thread-store-remote imports 'pg': pg is a PostgreSQL driver",
      );
    });

    it('lets the composition root depend on and import pg', () => {
      const root = copyFixture();
      editPackageJson(root, 'skein', (json) => {
        json.dependencies = { ...json.dependencies, pg: '*', 'pg-cursor': '*' };
      });
      writeSource(root, 'skein/src/db.ts', "import pg from 'pg';\nexport const Pool = pg.Pool;\n");
      const { status, output } = run(root);
      expect(output).toContain('Layering OK');
      expect(status).toBe(0);
    });
  });

  describe('imports', () => {
    it.each([
      ['@skein/core-session/src/index.js'],
      ['@skein/core-session/dist/index.js'],
      ['@skein/core-session/internal/live-thread'],
    ])("fails on the deep import '%s'", (specifier) => {
      const root = copyFixture();
      writeSource(root, 'thread-manager/src/deep.ts', `export * from '${specifier}';\n`);
      expectViolation(
        root,
        `packages/thread-manager/src/deep.ts:1: deep import '${specifier}' into @skein/core-session`,
      );
    });

    it('fails on a deep import from a test file too', () => {
      const root = copyFixture();
      writeSource(
        root,
        'thread-store-local/test/deep.test.ts',
        "import type { X } from '@skein/thread-store-api/src/store.js';\n",
      );
      expectViolation(root, "deep import '@skein/thread-store-api/src/store.js' into @skein/thread-store-api");
    });

    it('fails on a relative import that leaves the package', () => {
      const root = copyFixture();
      writeSource(
        root,
        'core-session/src/leak.ts',
        "export { newThreadId } from '../../thread-store-api/src/internal/thread-id.js';\n",
      );
      expectViolation(
        root,
        "packages/core-session/src/leak.ts:1: relative import '../../thread-store-api/src/internal/thread-id.js' leaves @skein/core-session",
      );
    });

    it('fails when src imports an internal package that is only a devDependency', () => {
      const root = copyFixture();
      writeSource(root, 'core-session/src/local.ts', "export { LocalThreadStore } from '@skein/thread-store-local';\n");
      expectViolation(
        root,
        "src imports '@skein/thread-store-local', which is not in @skein/core-session's dependencies (it is only a devDependency): @skein/core-session -> @skein/thread-store-local",
      );
    });

    it('fails when src imports an external package it does not declare', () => {
      const root = copyFixture();
      writeSource(root, 'thread-store-api/src/clock.ts', "import { format } from 'date-fns/format';\nvoid format;\n");
      expectViolation(root, "src imports 'date-fns', which is not in @skein/thread-store-api's dependencies");
    });

    it("fails when a test imports an internal package missing from its package's devDependencies", () => {
      const root = copyFixture();
      writeSource(root, 'thread-manager/test/remote.test.ts', "import '@skein/thread-store-remote';\n");
      expectViolation(
        root,
        "test imports '@skein/thread-store-remote', which is not in @skein/thread-manager's dependencies or devDependencies",
      );
    });
  });

  it('fails when a package exports its internals', () => {
    const root = copyFixture();
    editPackageJson(root, 'thread-store-local', (json) => {
      json.exports['./internal/*'] = './dist/internal/*.js';
    });
    expectViolation(root, "@skein/thread-store-local exports './internal/*'; only '.' is public");
  });

  it('reports every violation at once', () => {
    const root = copyFixture();
    editPackageJson(root, 'core-session', (json) => {
      json.dependencies['pg'] = '^8';
    });
    writeSource(root, 'thread-manager/src/deep.ts', "export * from '@skein/thread-store-api/dist/index.js';\n");
    const output = expectViolation(root, '2 violation(s)');
    expect(output).toContain('@skein/core-session -> pg in dependencies');
    expect(output).toContain("deep import '@skein/thread-store-api/dist/index.js'");
  });

  it('rejects an unknown argument with a usage line', () => {
    const { status, output } = runCli('--bogus');
    expect(status).toBe(2);
    expect(output).toContain('Usage: node tools/check-layering.mjs [--root DIR]');
  });
});
