import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { generateReport } from '../api-report.mjs';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const dirs: string[] = [];

/** A built package in a temp dir: package.json and dist/index.d.ts with the given text. */
function builtPackage(dts: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'skein-api-report-'));
  dirs.push(dir);
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: '@skein/fixture', version: '1.0.0' }));
  mkdirSync(path.join(dir, 'dist'));
  writeFileSync(path.join(dir, 'dist', 'index.d.ts'), dts);
  // The report's compiler options name the node types; resolve them from the repository.
  mkdirSync(path.join(dir, 'node_modules'));
  symlinkSync(path.join(repoRoot, 'node_modules', '@types'), path.join(dir, 'node_modules', '@types'));
  return dir;
}

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

// API Extractor starts a TypeScript program per report: seconds each, not milliseconds.
describe('generateReport', { timeout: 60_000 }, () => {
  it('reports public declarations and leaves @internal ones out', () => {
    const out = generateReport(
      builtPackage(
        [
          '/** Adds. */',
          'export declare function add(a: number, b: number): number;',
          '/** @internal */',
          'export declare function helperForOtherPackages(): void;',
          '',
        ].join('\n'),
      ),
    );
    expect(out).toHaveProperty('report');
    const report = 'report' in out ? out.report : '';
    expect(report).toContain('export function add(a: number, b: number): number;');
    expect(report).not.toContain('helperForOtherPackages');
    expect(report).toContain('"@skein/fixture"');
  });

  // `export {};` as tsc writes it: without it, every declaration of a .d.ts module is exported.
  it('fails when a public signature names a type the entry point does not export', () => {
    const out = generateReport(
      builtPackage(
        [
          'interface Hidden { x: number }',
          '/** Leaks Hidden. */',
          'export declare function f(): Hidden;',
          'export {};',
          '',
        ].join('\n'),
      ),
    );
    expect(out).toHaveProperty('problems');
    expect('problems' in out ? out.problems.join('\n') : '').toMatch(
      /"Hidden" needs to be exported.*ae-forgotten-export/,
    );
  });

  it('fails when a public declaration exposes an @internal one', () => {
    const out = generateReport(
      builtPackage(
        [
          '/** @internal */',
          'export interface Secret { x: number }',
          '/** Leaks Secret. */',
          'export declare function g(): Secret;',
          '',
        ].join('\n'),
      ),
    );
    expect('problems' in out ? out.problems.join('\n') : '').toMatch(/ae-incompatible-release-tags/);
  });

  it('asks for a build when there is no dist/index.d.ts', () => {
    const dir = builtPackage('');
    rmSync(path.join(dir, 'dist'), { recursive: true });
    expect(generateReport(dir)).toEqual({ problems: ['no dist/index.d.ts: run `pnpm build` first'] });
  });
});
