import { readFileSync } from 'node:fs';
import { packageFile } from './package-root.js';

// The bundled binary has its version written in at build time (scripts/bundle-cli.mjs), so it
// does not look up and read package.json to start; the library modules read it.
declare const SKEIN_BUNDLED_VERSION: string | undefined;

let version: string | undefined;

/** The package's version (package.json's `version`). */
export function skeinVersion(): string {
  version ??= typeof SKEIN_BUNDLED_VERSION === 'string' ? SKEIN_BUNDLED_VERSION : readVersion();
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
