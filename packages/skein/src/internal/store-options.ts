import { homedir } from 'node:os';
import { resolve } from 'node:path';
import { Option } from 'commander';
import type { Command } from 'commander';
import type { ThreadStore } from '@skein/thread-store-api';
import type { LocalThreadStore } from '@skein/thread-store-local';
import { UsageError } from './cli-error.js';
import { CODEX_DEFAULT_PROVIDER, readCodexConfig } from './codex-config.js';
import { requireCodexHome } from './codex-home.js';
import { loadProfile } from './skein-config.js';
import { skeinVersion } from './version.js';

/** Codex's default provider when the home's config.toml names none. */
export const DEFAULT_MODEL_PROVIDER = CODEX_DEFAULT_PROVIDER;

/** The store flags every command takes (`--home`, `--endpoint`, `--token`, ...). */
export interface StoreFlags {
  home?: string;
  /** A database URL (`postgres://…`); env SKEIN_STORE. */
  store?: string;
  endpoint?: string;
  token?: string;
  protocol?: 'grpc' | 'connect';
  defaultProvider?: string;
  profile?: string;
  init?: boolean;
}

/** The store a command works on, and the local store under it when there is one. */
export interface OpenedStore {
  store: ThreadStore;
  /** Set when the store is a LocalThreadStore on this machine. */
  local: LocalThreadStore | null;
  /** `home /path` or `endpoint http://…`, for messages. */
  where: string;
  /** The home folder of a local store. */
  home: string | null;
  /** What named the endpoint (`--endpoint`, `SKEIN_ENDPOINT`, `profile "x"`), for error messages. */
  endpointFrom: string | null;
  /** The flags that reach this same store again, for hints (`--home DIR` or `--endpoint URL`). */
  storeArgs: string[];
}

/** `$CODEX_HOME`, else `~/.codex` — the same home Codex itself uses. */
export function defaultHome(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env.CODEX_HOME;
  return fromEnv !== undefined && fromEnv !== '' ? resolve(fromEnv) : resolve(homedir(), '.codex');
}

/** The options that pick a store: a local home, a `skein serve` endpoint, or a database. */
export function addStoreOptions(cmd: Command): Command {
  return cmd
    .option('--home <dir>', 'a Codex home folder (default: $CODEX_HOME, else ~/.codex)')
    .option(
      '--endpoint <url>',
      'a thread store server, e.g. http://127.0.0.1:7077 (env SKEIN_ENDPOINT); several servers of one fleet as a comma list or a repeated flag: calls fail over between them',
      (value: string, previous: string | undefined) => (previous === undefined ? value : `${previous},${value}`),
    )
    .option('--store <url>', 'a PostgreSQL database, postgres://user@host/db (env SKEIN_STORE)')
    .option('--token <token>', 'bearer token for --endpoint (env SKEIN_TOKEN)')
    .addOption(new Option('--protocol <protocol>', 'wire protocol for --endpoint').choices(['grpc', 'connect']))
    .option('--profile <name>', 'a profile from ~/.config/skein/config.toml (env SKEIN_PROFILE)')
    .option(
      '--default-provider <name>',
      "the local store's default model provider (default: the home's config.toml, as Codex reads it)",
    );
}

/** One endpoint URL, or several separated by commas (a fleet), normalized; the same list back. */
export function endpointUrl(raw: string, from = '--endpoint'): string {
  const parts = raw.split(',').map((p) => p.trim());
  if (parts.length > 1) return parts.map((p) => oneEndpointUrl(p, from)).join(',');
  return oneEndpointUrl(raw, from);
}

function oneEndpointUrl(raw: string, from: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`${from} must be a URL like http://127.0.0.1:7077, got "${raw}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new UsageError(`${from} must start with http:// or https://, got "${raw}"`);
  return url.toString().replace(/\/$/, '');
}

/**
 * Backends load on first use: `skein --version` or `--help` should not pay for SQLite or HTTP/2.
 * The default provider is Codex's own (the home's config.toml) unless one is given, so a listing
 * shows what Codex's `thread/list` shows on the same home.
 */
export async function openLocalStore(home: string, defaultProvider?: string): Promise<LocalThreadStore> {
  const provider = defaultProvider ?? readCodexConfig(home).modelProvider;
  const { LocalThreadStore } = await import('@skein/thread-store-local');
  return new LocalThreadStore({
    home,
    defaultModelProvider: provider,
    originator: 'skein',
    cliVersion: skeinVersion(),
  });
}

/** Whether a `--store` value names a PostgreSQL database. */
export function isPostgresUrl(raw: string): boolean {
  return /^postgres(?:ql)?:\/\//i.test(raw);
}

/** The `--store` URL, checked: only PostgreSQL databases are stores named by URL today. */
export function storeUrl(raw: string): string {
  if (!isPostgresUrl(raw))
    throw new UsageError(`--store must be a PostgreSQL URL like postgres://user@127.0.0.1:5432/skein, got "${raw}"`);
  return raw;
}

/** A URL for messages: the password, if any, is not printed. */
export function redactedUrl(raw: string): string {
  try {
    const u = new URL(raw);
    if (u.password !== '') u.password = '***';
    return u.toString();
  } catch {
    return raw;
  }
}

/** The PostgreSQL store of a database and tenant (the schema is migrated on open). */
export async function openPostgresStore(
  url: string,
  defaultProvider?: string,
  tenant?: string,
  leaseDurationMs?: number,
): Promise<ThreadStore> {
  const { PostgresThreadStore } = await import('@skein/thread-store-postgres');
  return PostgresThreadStore.open({
    connectionString: url,
    defaultModelProvider: defaultProvider ?? DEFAULT_MODEL_PROVIDER,
    originator: 'skein',
    cliVersion: skeinVersion(),
    ...(tenant === undefined ? {} : { tenant }),
    ...(leaseDurationMs === undefined ? {} : { leaseDurationMs }),
  });
}

/** Options of `openStore`: whether to create a missing home, and the environment to read. */
export interface OpenOptions {
  /** Make the home when it is missing or an empty folder (`chat --init`). */
  init?: boolean;
  /** The command has `--init`, so errors can suggest it. */
  canInit?: boolean;
  env?: NodeJS.ProcessEnv;
}

/**
 * Opens the store the flags name. Precedence, setting by setting: flags, then SKEIN_*
 * environment variables, then the profile, then the defaults (CODEX_HOME, else ~/.codex).
 * A local home must already be a Codex home unless `init` is set: reading a mistyped --home
 * must fail, not leave an index file in some other folder.
 */
export async function openStore(flags: StoreFlags, options: OpenOptions = {}): Promise<OpenedStore> {
  const env = options.env ?? process.env;
  const named = [flags.home, flags.endpoint, flags.store].filter((f) => f !== undefined).length;
  if (flags.store !== undefined && named > 1) throw new UsageError('use one of --home, --endpoint or --store');
  const database = flags.store ?? (named === 0 ? env.SKEIN_STORE || undefined : undefined);
  if (database !== undefined) {
    if (flags.token !== undefined) throw new UsageError('--token needs --endpoint');
    const url = storeUrl(database);
    const store = await openPostgresStore(url, flags.defaultProvider);
    return {
      store,
      local: null,
      where: `store ${redactedUrl(url)}`,
      home: null,
      endpointFrom: null,
      storeArgs: ['--store', url],
    };
  }
  if (flags.home !== undefined && flags.endpoint !== undefined)
    throw new UsageError('use either --home or --endpoint, not both');
  const profile = loadProfile(flags.profile, env);
  let endpoint: string | undefined;
  let endpointFrom: string | null = null;
  if (flags.endpoint !== undefined) [endpoint, endpointFrom] = [flags.endpoint, '--endpoint'];
  else if (flags.home === undefined && env.SKEIN_ENDPOINT)
    [endpoint, endpointFrom] = [env.SKEIN_ENDPOINT, 'SKEIN_ENDPOINT'];
  else if (flags.home === undefined && profile?.endpoint !== undefined)
    [endpoint, endpointFrom] = [profile.endpoint, `profile "${profile.name}"`];

  if (endpoint !== undefined && endpointFrom !== null) {
    if (flags.defaultProvider !== undefined)
      throw new UsageError(
        '--default-provider applies to a local home only; the server chooses its own default provider',
      );
    const baseUrl = endpointUrl(endpoint, endpointFrom);
    const token = flags.token ?? (env.SKEIN_TOKEN || undefined) ?? profile?.token;
    const protocol = flags.protocol ?? profile?.protocol;
    const { RemoteThreadStore } = await import('@skein/thread-store-remote');
    const store = new RemoteThreadStore({
      baseUrl,
      ...(token === undefined ? {} : { token }),
      ...(protocol === undefined ? {} : { protocol }),
    });
    const from = endpointFrom === '--endpoint' ? '' : ` (from ${endpointFrom})`;
    return {
      store,
      local: null,
      where: `endpoint ${baseUrl}${from}`,
      home: null,
      endpointFrom,
      storeArgs: endpointFrom === 'SKEIN_ENDPOINT' ? [] : ['--endpoint', baseUrl],
    };
  }
  if (flags.token !== undefined) throw new UsageError('--token needs --endpoint');
  // CODEX_HOME is Codex's own variable, so it is a default here: a profile the user picked for
  // Skein names its home on purpose.
  const home = flags.home !== undefined ? resolve(flags.home) : (profile?.home ?? defaultHome(env));
  requireCodexHome(
    home,
    options.init === true || flags.init === true,
    options.canInit
      ? 'pass --init to make one there'
      : 'Codex makes one when it first runs there (so does `skein chat --init`)',
  );
  const local = await openLocalStore(home, flags.defaultProvider ?? profile?.defaultProvider);
  return {
    store: local,
    local,
    where: `home ${home}`,
    home,
    endpointFrom: null,
    storeArgs: flags.home !== undefined ? ['--home', home] : [],
  };
}
