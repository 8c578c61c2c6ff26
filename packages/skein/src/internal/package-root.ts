import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

let root: string | undefined;

/**
 * A path inside the installed `skein` package. Found through the package's own name (its
 * `./package.json` export), so it holds wherever the running module sits: the bundled CLI
 * (`dist/bin.js` and its chunks under `dist/cli/`) and the library modules (`dist/internal/`).
 */
export function packageFile(...parts: string[]): string {
  root ??= dirname(createRequire(import.meta.url).resolve('skein/package.json'));
  return join(root, ...parts);
}
