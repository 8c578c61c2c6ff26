import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

/**
 * A path inside the installed `skein` package, wherever the running module sits: the bundled
 * CLI (`dist/bin.js` and its chunks under `dist/cli/`) and the library modules (`dist/internal/`).
 */
export function packageFile(...parts: string[]): string {
  root ??= findRoot();
  return join(root, ...parts);
}

/**
 * The nearest folder above this module whose package.json is the `skein` package's: two or
 * three reads, where resolving the package by its own name (the fallback) costs a command's
 * start a millisecond or two of Node's package resolution.
 */
function findRoot(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)), depth = 0; depth < 4; depth++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown };
      if (pkg.name === 'skein') return dir;
    } catch {
      // no package.json here (or not one that parses): look further up
    }
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return dirname(createRequire(import.meta.url).resolve('skein/package.json'));
}
