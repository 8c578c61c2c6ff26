import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ThreadStoreError } from '@skein/thread-store-api';

/** What any Codex (or Skein) home holds once it has been used; one is enough. */
export const CODEX_HOME_MARKERS = [
  'sessions',
  'archived_sessions',
  'config.toml',
  'session_index.jsonl',
  'state_5.sqlite',
] as const;

export function isCodexHome(dir: string): boolean {
  return CODEX_HOME_MARKERS.some((m) => existsSync(join(dir, m)));
}

/**
 * Makes sure `home` is a Codex home before a store opens it: opening writes Skein's index into
 * the folder, so a mistyped `--home` must fail instead of leaving files in some other folder.
 * With `init`, a missing or empty folder becomes a home (a `sessions/` folder); a folder that
 * holds other things never does.
 */
export function requireCodexHome(home: string, init: boolean, how = 'pass --init to make one there'): void {
  if (!existsSync(home)) {
    if (init) {
      mkdirSync(join(home, 'sessions'), { recursive: true });
      return;
    }
    throw new ThreadStoreError(
      'not_found',
      `no Codex home at ${home}: pass --home DIR (or set CODEX_HOME), or --endpoint URL for a server; ${how}`,
    );
  }
  if (!statSync(home).isDirectory())
    throw ThreadStoreError.invalidRequest(`${home} is a file, not a Codex home folder`);
  if (isCodexHome(home)) return;
  const empty = readdirSync(home).length === 0;
  if (init && empty) {
    mkdirSync(join(home, 'sessions'), { recursive: true });
    return;
  }
  throw ThreadStoreError.invalidRequest(
    empty
      ? `${home} is an empty folder, not a Codex home yet: ${how}`
      : `${home} is not a Codex home (it has none of ${CODEX_HOME_MARKERS.join(', ')}); pass the folder Codex uses (CODEX_HOME, ~/.codex)`,
  );
}
