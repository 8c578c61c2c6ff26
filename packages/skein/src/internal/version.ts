import { readFileSync } from 'node:fs';
import { packageFile } from './package-root.js';

let version: string | undefined;

/**
 * The package's version, read from its package.json when first asked (not written into the
 * bundle at build time: a release bumps package.json after the build).
 */
export function skeinVersion(): string {
  version ??= readVersion();
  return version;
}

function readVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(packageFile('package.json'), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
  } catch {
    return '0.0.0';
  }
}
