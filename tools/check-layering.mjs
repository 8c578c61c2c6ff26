#!/usr/bin/env node
// Fails when a package.json or an import breaks the layering in docs/ARCHITECTURE.md:
//   - an internal runtime dependency edge the design does not allow;
//   - a backend driver (SQLite, protobuf/Connect, Postgres, zstd) in core-session or thread-manager;
//   - a PostgreSQL driver (pg, pg-*) anywhere but thread-store-postgres and the composition root;
//   - a deep import into another package, a relative import that leaves its package, or a
//     source file importing a package its package.json does not declare as a runtime dependency.
//
// Usage: node tools/check-layering.mjs [--root DIR]   (DIR defaults to the repository root)
import { readdirSync, readFileSync, existsSync, statSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** @typedef {{ name: string, dir: string, rel: string, json: Record<string, any> }} Pkg */

const API = '@skein/thread-store-api';

/**
 * Which internal packages each package may list as a runtime dependency
 * (`dependencies`, `peerDependencies`, `optionalDependencies`). `'*'` means any.
 * A package missing from this table fails the check until someone places it in the layers.
 * @type {Record<string, readonly string[] | '*'>}
 */
export const ALLOWED_RUNTIME_EDGES = {
  [API]: [],
  '@skein/thread-store-conformance': [API],
  '@skein/thread-store-local': [API],
  '@skein/thread-store-remote': [API],
  '@skein/thread-store-postgres': [API],
  '@skein/core-session': [API],
  '@skein/thread-manager': [API, '@skein/core-session'],
  // Codex's app-server protocol over a ThreadManager: stores are injected, never opened here.
  '@skein/app-server': [API, '@skein/core-session', '@skein/thread-manager'],
  // The composition root: it chooses the store from config, so it knows every backend.
  skein: '*',
  // Private: runs Skein's stores against the real Codex CLI.
  '@skein/interop-tests': '*',
  // Private: reliability probes against every store and the server.
  '@skein/reliability': '*',
  // Private: the static web page `skein serve` ships; it reaches stores only through the API.
  '@skein/web': [],
};

/** Packages with no runtime dependencies at all: the vocabulary every other package shares. */
export const DEPENDENCY_FREE = [API];

/** Packages that must stay storage-agnostic: stores are injected into them. */
export const DRIVER_FREE = ['@skein/core-session', '@skein/thread-manager', '@skein/app-server'];

/** Backend drivers: a dependency or import of one of these belongs in a backend package. */
export function isBackendDriver(/** @type {string} */ name) {
  const bare = name.startsWith('@types/') ? name.slice('@types/'.length).replace(/^(.+)__/, '@$1/') : name;
  return (
    bare === 'better-sqlite3' ||
    bare === 'pg' ||
    bare.startsWith('pg-') ||
    bare === 'postgres' ||
    bare === 'fzstd' ||
    bare.startsWith('@bufbuild/') ||
    bare.startsWith('@connectrpc/')
  );
}

/** The PostgreSQL client and its companions (pg-cursor, pg-query-stream, …), with their @types. */
export function isPostgresDriver(/** @type {string} */ name) {
  const bare = name.startsWith('@types/') ? name.slice('@types/'.length) : name;
  return bare === 'pg' || bare.startsWith('pg-') || bare === 'postgres';
}

/**
 * Drivers that stay inside their backend: only the listed packages may depend on or import
 * them (the backend itself and the composition root, which opens that backend).
 * @type {ReadonlyArray<{ what: string, matches: (name: string) => boolean, owners: readonly string[] }>}
 */
export const DRIVER_OWNERS = [
  { what: 'PostgreSQL', matches: isPostgresDriver, owners: ['@skein/thread-store-postgres', 'skein'] },
];

/** @param {string} pkgName @param {string} dep @returns {string | undefined} why pkgName may not use dep */
function ownedDriverProblem(pkgName, dep) {
  const rule = DRIVER_OWNERS.find((r) => r.matches(dep));
  if (rule === undefined || rule.owners.includes(pkgName)) return undefined;
  return `${dep} is a ${rule.what} driver, used only inside ${rule.owners.join(' and ')}; go through the ThreadStore interface`;
}

const RUNTIME_FIELDS = ['dependencies', 'peerDependencies', 'optionalDependencies'];
const ALL_FIELDS = [...RUNTIME_FIELDS, 'devDependencies'];
const SCANNED_DIRS = /** @type {const} */ (['src', 'test']);
const SOURCE_EXT = /\.(?:[cm]?ts|tsx|[cm]?js|jsx)$/;
const BUILTINS = new Set(builtinModules);

/**
 * Runs the whole check over `root` and returns the violations (empty when the tree is clean).
 * @param {string} root
 */
export function checkLayering(root) {
  /** @type {string[]} */
  const violations = [];
  const pkgs = readPackages(root);
  const byName = new Map(pkgs.map((p) => [p.name, p]));
  const rootJson = readJson(path.join(root, 'package.json')) ?? {};
  const rootDevDeps = new Set(Object.keys(rootJson.devDependencies ?? {}));
  let files = 0;
  let imports = 0;

  for (const pkg of pkgs) {
    const where = `${pkg.rel}/package.json`;
    const allowed = ALLOWED_RUNTIME_EDGES[pkg.name];
    if (allowed === undefined) {
      violations.push(
        `${where}: ${pkg.name} has no place in the layers; add it to ALLOWED_RUNTIME_EDGES in tools/check-layering.mjs`,
      );
    }
    for (const field of ALL_FIELDS) {
      for (const dep of Object.keys(pkg.json[field] ?? {})) {
        const runtime = RUNTIME_FIELDS.includes(field);
        if (byName.has(dep) && runtime && allowed !== undefined && allowed !== '*' && !allowed.includes(dep)) {
          violations.push(
            `${where}: ${pkg.name} -> ${dep} in ${field} is not an allowed edge (${pkg.name} may depend on ${describeAllowed(allowed)}; tests can use devDependencies)`,
          );
        }
        if (runtime && DEPENDENCY_FREE.includes(pkg.name)) {
          violations.push(
            `${where}: ${pkg.name} -> ${dep} in ${field}: ${pkg.name} has no runtime dependencies by design`,
          );
        }
        if (dep === pkg.name) {
          violations.push(`${where}: ${pkg.name} lists itself in ${field}`);
        }
        if (DRIVER_FREE.includes(pkg.name) && isBackendDriver(dep)) {
          violations.push(
            `${where}: ${pkg.name} -> ${dep} in ${field}: backend drivers belong in a backend package; ${pkg.name} gets its store injected`,
          );
        } else {
          const owned = ownedDriverProblem(pkg.name, dep);
          if (owned !== undefined) violations.push(`${where}: ${pkg.name} -> ${dep} in ${field}: ${owned}`);
        }
      }
    }
    violations.push(...checkExports(pkg));
  }
  violations.push(...findCycles(pkgs, byName));

  for (const pkg of pkgs) {
    const runtimeDeps = new Set(RUNTIME_FIELDS.flatMap((f) => Object.keys(pkg.json[f] ?? {})));
    const devDeps = new Set(Object.keys(pkg.json.devDependencies ?? {}));
    for (const kind of SCANNED_DIRS) {
      for (const file of listSourceFiles(path.join(pkg.dir, kind))) {
        files += 1;
        const relFile = path.relative(root, file).split(path.sep).join('/');
        for (const { specifier, line } of readImports(file)) {
          imports += 1;
          const at = `${relFile}:${line}`;
          const problem = checkImport({ specifier, file, kind, pkg, byName, runtimeDeps, devDeps, rootDevDeps });
          if (problem !== undefined) violations.push(`${at}: ${problem}`);
        }
      }
    }
  }
  return { violations, packages: pkgs.length, files, imports };
}

/**
 * @param {{ specifier: string, file: string, kind: 'src' | 'test', pkg: Pkg, byName: Map<string, Pkg>,
 *   runtimeDeps: Set<string>, devDeps: Set<string>, rootDevDeps: Set<string> }} ctx
 * @returns {string | undefined}
 */
function checkImport({ specifier, file, kind, pkg, byName, runtimeDeps, devDeps, rootDevDeps }) {
  if (specifier.startsWith('.') || path.isAbsolute(specifier)) {
    const target = path.resolve(path.dirname(file), specifier);
    if (!isInside(pkg.dir, target)) {
      return `relative import '${specifier}' leaves ${pkg.name}; import the other package by its name (from its public entry point)`;
    }
    return undefined;
  }
  if (specifier.startsWith('node:') || BUILTINS.has(specifier) || BUILTINS.has(specifier.split('/')[0] ?? '')) {
    return undefined;
  }
  const { name, subpath } = splitSpecifier(specifier);
  if (DRIVER_FREE.includes(pkg.name) && isBackendDriver(name)) {
    return `${pkg.name} imports the backend driver '${specifier}'; stores are injected into ${pkg.name}, drivers live in backend packages`;
  }
  const owned = ownedDriverProblem(pkg.name, name);
  if (owned !== undefined) return `${pkg.name} imports '${specifier}': ${owned}`;
  const internal = byName.has(name);
  if (internal && subpath !== '' && subpath !== 'package.json') {
    return `deep import '${specifier}' into ${name}; import '${name}' (its public entry point) instead`;
  }
  if (name === pkg.name) return undefined;
  if (kind === 'src') {
    if (!runtimeDeps.has(name)) {
      const hint = devDeps.has(name) ? ' (it is only a devDependency)' : '';
      return `src imports '${name}', which is not in ${pkg.name}'s dependencies${hint}: ${pkg.name} -> ${name}`;
    }
    return undefined;
  }
  if (!runtimeDeps.has(name) && !devDeps.has(name) && !(rootDevDeps.has(name) && !internal)) {
    return `test imports '${name}', which is not in ${pkg.name}'s dependencies or devDependencies: ${pkg.name} -> ${name}`;
  }
  return undefined;
}

/**
 * The design exposes `"."` (and `./package.json`) only: nothing under internal/, no wildcards,
 * no sources.
 * @param {Pkg} pkg
 */
function checkExports(pkg) {
  const exportsField = pkg.json.exports;
  if (exportsField === undefined || typeof exportsField === 'string') return [];
  const out = [];
  for (const key of Object.keys(exportsField)) {
    if (!key.startsWith('.')) continue; // a conditions object at the top level
    if (key.includes('*') || /(^|\/)(internal|src)(\/|$)/.test(key)) {
      out.push(`${pkg.rel}/package.json: ${pkg.name} exports '${key}'; only '.' is public (internals stay unexported)`);
    }
  }
  return out;
}

/**
 * A cycle through any dependency field breaks `turbo run build` (^build) and the layering.
 * @param {Pkg[]} pkgs
 * @param {Map<string, Pkg>} byName
 */
function findCycles(pkgs, byName) {
  /** @type {Map<string, string[]>} */
  const edges = new Map(
    pkgs.map((p) => [
      p.name,
      ALL_FIELDS.flatMap((f) => Object.keys(p.json[f] ?? {})).filter((d) => byName.has(d) && d !== p.name),
    ]),
  );
  /** @type {Map<string, 'visiting' | 'done'>} */
  const state = new Map();
  /** @type {string[]} */
  const out = [];
  /** @param {string} node @param {string[]} trail */
  const visit = (node, trail) => {
    if (state.get(node) === 'done') return;
    if (state.get(node) === 'visiting') {
      out.push(`dependency cycle: ${[...trail.slice(trail.indexOf(node)), node].join(' -> ')}`);
      return;
    }
    state.set(node, 'visiting');
    for (const next of edges.get(node) ?? []) visit(next, [...trail, node]);
    state.set(node, 'done');
  };
  for (const p of pkgs) visit(p.name, []);
  return out;
}

/** @param {readonly string[]} allowed */
function describeAllowed(allowed) {
  return allowed.length === 0 ? 'no internal package' : allowed.join(', ') + ' only';
}

/** @param {string} specifier */
function splitSpecifier(specifier) {
  const parts = specifier.split('/');
  const size = specifier.startsWith('@') ? 2 : 1;
  return { name: parts.slice(0, size).join('/'), subpath: parts.slice(size).join('/') };
}

/** @param {string} dir @param {string} target */
function isInside(dir, target) {
  const rel = path.relative(dir, target);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** @param {string} file */
function readJson(file) {
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, 'utf8'));
}

/** @param {string} root @returns {Pkg[]} */
function readPackages(root) {
  const packagesDir = path.join(root, 'packages');
  if (!existsSync(packagesDir)) throw new Error(`no packages/ folder under ${root}`);
  return readdirSync(packagesDir)
    .sort()
    .map((entry) => path.join(packagesDir, entry))
    .filter((dir) => existsSync(path.join(dir, 'package.json')))
    .map((dir) => {
      const json = readJson(path.join(dir, 'package.json'));
      return { name: String(json.name), dir, rel: path.relative(root, dir).split(path.sep).join('/'), json };
    });
}

/** @param {string} dir @returns {string[]} */
function listSourceFiles(dir) {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return [];
  /** @type {string[]} */
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name === 'dist') continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listSourceFiles(full));
    else if (SOURCE_EXT.test(entry.name)) out.push(full);
  }
  return out.sort();
}

// TypeScript's own pre-processor finds every import, export-from, import() and require() while
// skipping comments and strings, which a regular expression cannot do reliably.
const require = createRequire(import.meta.url);
/** @type {typeof import('typescript')} */
const ts = require('typescript');

/** @param {string} file */
function readImports(file) {
  const text = readFileSync(file, 'utf8');
  return ts.preProcessFile(text, true, true).importedFiles.map((ref) => ({
    specifier: ref.fileName,
    line: text.slice(0, ref.pos).split('\n').length,
  }));
}

/** @param {ReturnType<typeof checkLayering>} result */
export function formatReport({ violations, packages, files, imports }) {
  if (violations.length === 0) {
    return { ok: true, text: `Layering OK: ${packages} packages, ${files} files, ${imports} imports checked.` };
  }
  const lines = [`Layering check failed: ${violations.length} violation(s) (rules: docs/ARCHITECTURE.md "The layers")`];
  for (const v of violations) lines.push(`  ✗ ${v}`);
  return { ok: false, text: lines.join('\n') };
}

function main() {
  const args = process.argv.slice(2);
  let root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--root' && args[i + 1] !== undefined) root = path.resolve(args[++i] ?? '');
    else {
      console.error(`check-layering: unknown argument '${args[i]}'. Usage: node tools/check-layering.mjs [--root DIR]`);
      process.exit(2);
    }
  }
  const report = formatReport(checkLayering(root));
  if (report.ok) console.log(report.text);
  else console.error(report.text);
  process.exit(report.ok ? 0 : 1);
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
