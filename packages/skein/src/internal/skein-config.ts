import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { parseToml } from './toml.js';
import { UsageError } from './cli-error.js';

/** One named way of reaching a store, from Skein's own config file. */
export interface SkeinProfile {
  name: string;
  home?: string;
  endpoint?: string;
  /** The token itself, read from `token_file`. */
  token?: string;
  protocol?: 'grpc' | 'connect';
  defaultProvider?: string;
}

/** `$XDG_CONFIG_HOME/skein/config.toml`, else `~/.config/skein/config.toml` (XDG base dirs). */
export function skeinConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_CONFIG_HOME;
  const base = xdg !== undefined && xdg !== '' && isAbsolute(xdg) ? xdg : join(homedir(), '.config');
  return join(base, 'skein', 'config.toml');
}

function expandHome(p: string): string {
  return p === '~' || p.startsWith('~/') ? join(homedir(), p.slice(1)) : p;
}

function isTable(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

function readConfig(file: string): Record<string, unknown> | null {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new UsageError(`cannot read ${file}: ${(err as Error).message}`);
  }
  try {
    return parseToml(text);
  } catch (err) {
    throw new UsageError(`${file} is not valid TOML: ${String((err as Error).message).split('\n')[0]}`);
  }
}

function str(table: Record<string, unknown>, key: string, where: string): string | undefined {
  const v = table[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v === '') throw new UsageError(`${where}: ${key} must be a non-empty string`);
  return v;
}

/**
 * The profile to use: `--profile`, else SKEIN_PROFILE, else the file's `default_profile`; none
 * when no profile is named. A named profile that is not in the file is an error that lists the
 * ones that are.
 */
export function loadProfile(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): SkeinProfile | null {
  const file = skeinConfigPath(env);
  const explicit = flag ?? (env.SKEIN_PROFILE || undefined);
  const doc = readConfig(file);
  if (doc === null) {
    if (explicit !== undefined) throw new UsageError(`no profile "${explicit}": ${file} does not exist`);
    return null;
  }
  const name = explicit ?? (typeof doc.default_profile === 'string' ? doc.default_profile : undefined);
  if (name === undefined) return null;
  const profiles = isTable(doc.profiles) ? doc.profiles : {};
  const table = profiles[name];
  if (!isTable(table)) {
    const known = Object.keys(profiles);
    throw new UsageError(
      `no profile "${name}" in ${file}${known.length > 0 ? ` (profiles: ${known.join(', ')})` : ''}`,
    );
  }
  const where = `${file} [profiles.${name}]`;
  const profile: SkeinProfile = { name };
  const home = str(table, 'home', where);
  const endpoint = str(table, 'endpoint', where);
  if (home !== undefined && endpoint !== undefined)
    throw new UsageError(`${where}: set either home or endpoint, not both`);
  if (home !== undefined) profile.home = resolve(expandHome(home));
  if (endpoint !== undefined) profile.endpoint = endpoint;
  const tokenFile = str(table, 'token_file', where);
  if (tokenFile !== undefined) {
    const path = resolve(expandHome(tokenFile));
    try {
      profile.token = readFileSync(path, 'utf8').trim();
    } catch (err) {
      throw new UsageError(`${where}: cannot read token_file ${path}: ${(err as Error).message}`);
    }
  }
  const protocol = str(table, 'protocol', where);
  if (protocol !== undefined) {
    if (protocol !== 'grpc' && protocol !== 'connect')
      throw new UsageError(`${where}: protocol must be "grpc" or "connect", got "${protocol}"`);
    profile.protocol = protocol;
  }
  const provider = str(table, 'default_provider', where);
  if (provider !== undefined) profile.defaultProvider = provider;
  return profile;
}
