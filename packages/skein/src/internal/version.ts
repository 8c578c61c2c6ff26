import { readFileSync } from 'node:fs';

/** The package's version, read from its package.json (dist/internal/ → ../../package.json). */
export function skeinVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version?: unknown;
    };
    return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
  } catch {
    return '0.0.0';
  }
}
