import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseToml } from './toml.js';
import { ThreadStoreError } from '@skein/thread-store-api';

/** Codex's provider when its config names none. */
export const CODEX_DEFAULT_PROVIDER = 'openai';

/** What Skein takes from a Codex home's `config.toml`. */
export interface CodexConfig {
  /** The provider Codex uses by default, so listings match Codex's default `thread/list`. */
  modelProvider: string;
  /** Where it came from, for `--verbose` and error messages. */
  source: string;
}

function isTable(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

/**
 * Reads the default model provider the way Codex does: the active profile's `model_provider`
 * (`profile = "name"` selects `[profiles.name]`), else the top-level `model_provider`, else
 * `openai`. A missing file is Codex's defaults; a file Codex could not parse is an error here
 * too, rather than a listing that quietly shows another provider's threads.
 */
export function readCodexConfig(home: string): CodexConfig {
  const file = join(home, 'config.toml');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      return { modelProvider: CODEX_DEFAULT_PROVIDER, source: 'default' };
    throw new ThreadStoreError('unavailable', `cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(text);
  } catch (err) {
    const first = String((err as Error).message).split('\n')[0];
    throw ThreadStoreError.invalidRequest(
      `${file} is not valid TOML (${first}); fix it, or pass --default-provider NAME`,
    );
  }
  const profileName = typeof doc.profile === 'string' ? doc.profile : undefined;
  if (profileName !== undefined) {
    const profiles = isTable(doc.profiles) ? doc.profiles : {};
    const profile = profiles[profileName];
    if (!isTable(profile))
      throw ThreadStoreError.invalidRequest(
        `${file} selects profile "${profileName}", but it has no [profiles.${profileName}] table`,
      );
    if (typeof profile.model_provider === 'string')
      return { modelProvider: profile.model_provider, source: `${file} [profiles.${profileName}]` };
  }
  if (typeof doc.model_provider === 'string') return { modelProvider: doc.model_provider, source: file };
  return { modelProvider: CODEX_DEFAULT_PROVIDER, source: 'default' };
}
