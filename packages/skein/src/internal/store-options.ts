import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { resolve } from 'node:path';
import { Option } from 'commander';
import type { Command } from 'commander';
import { ThreadStoreError } from '@skein/thread-store-api';
import type { ThreadStore } from '@skein/thread-store-api';
import type { LocalThreadStore } from '@skein/thread-store-local';
import { UsageError } from './cli-error.js';
import { skeinVersion } from './version.js';

/** Codex's default provider; the local store lists only this provider unless told otherwise. */
export const DEFAULT_MODEL_PROVIDER = 'openai';

/** The store flags every command takes (`--home`, `--endpoint`, `--token`, ...). */
export interface StoreFlags {
  home?: string;
  endpoint?: string;
  token?: string;
  protocol?: 'grpc' | 'connect';
  defaultProvider?: string;
}

/** The store a command works on, and the local store under it when there is one. */
export interface OpenedStore {
  store: ThreadStore;
  /** Set when the store is a LocalThreadStore on this machine. */
  local: LocalThreadStore | null;
  /** `home /path` or `endpoint http://…`, for messages. */
  where: string;
}

/** `$CODEX_HOME`, else `~/.codex` — the same home Codex itself uses. */
export function defaultHome(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env.CODEX_HOME;
  return fromEnv !== undefined && fromEnv !== '' ? resolve(fromEnv) : resolve(homedir(), '.codex');
}

/** The options that pick a store: a local home, or a `skein serve` endpoint. */
export function addStoreOptions(cmd: Command): Command {
  return cmd
    .option('--home <dir>', 'a Codex-shaped home folder (default: $CODEX_HOME, else ~/.codex)')
    .option('--endpoint <url>', 'a thread store server, e.g. http://127.0.0.1:7077 (env SKEIN_ENDPOINT)')
    .option('--token <token>', 'bearer token for --endpoint (env SKEIN_TOKEN)')
    .addOption(new Option('--protocol <protocol>', 'wire protocol for --endpoint').choices(['grpc', 'connect']))
    .option(
      '--default-provider <name>',
      `the local store's default model provider (default: ${DEFAULT_MODEL_PROVIDER})`,
    );
}

export function endpointUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`--endpoint must be a URL like http://127.0.0.1:7077, got "${raw}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new UsageError(`--endpoint must start with http:// or https://, got "${raw}"`);
  return url.toString().replace(/\/$/, '');
}

/** Backends load on first use: `skein --version` or `--help` should not pay for SQLite or HTTP/2. */
export async function openLocalStore(home: string, defaultProvider?: string): Promise<LocalThreadStore> {
  const { LocalThreadStore } = await import('@skein/thread-store-local');
  return new LocalThreadStore({
    home,
    defaultModelProvider: defaultProvider ?? DEFAULT_MODEL_PROVIDER,
    originator: 'skein',
    cliVersion: skeinVersion(),
  });
}

/**
 * Opens the store the flags name. `--endpoint` (or SKEIN_ENDPOINT) wins over the local default.
 * A local home must exist unless `create` is set: reading a mistyped --home should fail, not
 * quietly make an empty folder.
 */
export async function openStore(
  flags: StoreFlags,
  options: { create?: boolean; env?: NodeJS.ProcessEnv } = {},
): Promise<OpenedStore> {
  const env = options.env ?? process.env;
  const endpoint = flags.endpoint ?? (flags.home === undefined ? env.SKEIN_ENDPOINT || undefined : undefined);
  if (flags.home !== undefined && flags.endpoint !== undefined)
    throw new UsageError('use either --home or --endpoint, not both');
  if (endpoint !== undefined) {
    if (flags.defaultProvider !== undefined)
      throw new UsageError(
        '--default-provider applies to a local home only; the server chooses its own default provider',
      );
    const baseUrl = endpointUrl(endpoint);
    const token = flags.token ?? (env.SKEIN_TOKEN || undefined);
    const { RemoteThreadStore } = await import('@skein/thread-store-remote');
    const store = new RemoteThreadStore({
      baseUrl,
      ...(token === undefined ? {} : { token }),
      ...(flags.protocol === undefined ? {} : { protocol: flags.protocol }),
    });
    return { store, local: null, where: `endpoint ${baseUrl}` };
  }
  if (flags.token !== undefined) throw new UsageError('--token needs --endpoint');
  const home = flags.home === undefined ? defaultHome(env) : resolve(flags.home);
  if (!options.create && !existsSync(home))
    throw new ThreadStoreError(
      'not_found',
      `no Codex home at ${home}: pass --home DIR (or set CODEX_HOME), or --endpoint URL for a server`,
    );
  const local = await openLocalStore(home, flags.defaultProvider);
  return { store: local, local, where: `home ${home}` };
}
