// The workspace's packages as the repository scripts see them.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Every published (non-private) package under `dir`, sorted by folder name.
 * @param {string} dir the `packages/` folder
 * @returns {{ name: string, dir: string, json: Record<string, any> }[]}
 */
export function publishedPackages(dir) {
  return readdirSync(dir)
    .sort()
    .map((entry) => path.join(dir, entry))
    .filter((pkgDir) => existsSync(path.join(pkgDir, 'package.json')))
    .map((pkgDir) => ({ dir: pkgDir, json: JSON.parse(readFileSync(path.join(pkgDir, 'package.json'), 'utf8')) }))
    .filter(({ json }) => json.private !== true)
    .map(({ dir: pkgDir, json }) => ({ name: String(json.name), dir: pkgDir, json }));
}
