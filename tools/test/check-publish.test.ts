import { describe, expect, it } from 'vitest';
import { tarballProblems } from '../check-publish.mjs';

const good = [
  'package.json',
  'README.md',
  'dist/index.js',
  'dist/index.d.ts',
  'dist/internal/a.js',
  'dist/internal/a.d.ts',
];
const manifest = { name: '@skein/x', dependencies: { '@skein/thread-store-api': '^0.1.0' } };

describe('tarballProblems', () => {
  it('accepts a tarball of dist and metadata', () => {
    expect(tarballProblems(good, manifest)).toEqual([]);
  });

  it('requires the entry point and its types', () => {
    expect(tarballProblems(['package.json', 'dist/main.js'], manifest)).toEqual([
      'missing dist/index.js (is the build output in dist/?)',
      'missing dist/index.d.ts (is the build output in dist/?)',
    ]);
  });

  it('rejects sources, tests and other packages’ files', () => {
    const problems = tarballProblems(
      [
        ...good,
        'src/index.ts',
        'dist/test/a.test.js',
        'dist/packages/other/index.js',
        'dist/a.spec.js',
        'dist/x.ts',
        'tsconfig.tsbuildinfo',
      ],
      manifest,
    );
    expect(problems).toEqual([
      'ships a source or test file: src/index.ts',
      'ships a source or test file: dist/test/a.test.js',
      "ships another package's file: dist/packages/other/index.js",
      'ships a test or build-cache file: dist/a.spec.js',
      'ships TypeScript source: dist/x.ts',
      'ships a test or build-cache file: tsconfig.tsbuildinfo',
    ]);
  });

  it('requires every bin target and rewritten workspace ranges', () => {
    const problems = tarballProblems(good, {
      bin: { skein: './dist/bin.js' },
      dependencies: { '@skein/thread-store-api': 'workspace:^' },
    });
    expect(problems).toEqual([
      'bin target dist/bin.js is not in the tarball',
      "dependencies.@skein/thread-store-api is still 'workspace:^' in the tarball",
    ]);
  });
});
