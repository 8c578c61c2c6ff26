import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

let found: string | null | undefined;

/**
 * The `nativeBinding` option for `new Database(…)`: the path of better-sqlite3's native addon.
 * Without it better-sqlite3 looks for the addon with the `bindings` package, which is loaded,
 * reads the caller's stack for its package folder and tries a list of places: 1–3 ms of every
 * command that opens an index. The file named here is the one `bindings` takes, the
 * `build/Release` copy that installing the package builds or downloads, when neither of the two
 * places `bindings` tries first holds one; otherwise (a debug build, another layout) nothing is
 * named and better-sqlite3 searches as it always does.
 */
export function sqliteAddon(): { nativeBinding?: string } {
  found ??= locate();
  return found === null ? {} : { nativeBinding: found };
}

function locate(): string | null {
  try {
    // <package>/lib/index.js → <package>
    const root = path.dirname(path.dirname(createRequire(import.meta.url).resolve('better-sqlite3')));
    const at = (...dirs: string[]): string => path.join(root, 'build', ...dirs, 'better_sqlite3.node');
    if (existsSync(at()) || existsSync(at('Debug'))) return null;
    return existsSync(at('Release')) ? at('Release') : null;
  } catch {
    return null;
  }
}
