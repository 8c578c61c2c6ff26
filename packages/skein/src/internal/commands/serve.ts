import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Command, Option } from 'commander';
import type { ThreadId, ThreadStore } from '@skein/thread-store-api';
import type {
  AuthOptions,
  ServerLogEntry,
  ServerLogger,
  StartThreadStoreServerOptions,
} from '@skein/thread-store-remote';
import { UsageError } from '../cli-error.js';
import { flagsOf, outputFor } from '../command-context.js';
import type { Output } from '../output.js';
import { forkThroughManager } from '../fork.js';
import { webPageHandler } from '../web-page.js';
import {
  DEFAULT_MODEL_PROVIDER,
  defaultHome,
  openLocalStore,
  openPostgresStore,
  redactedUrl,
  storeUrl,
} from '../store-options.js';

export const DEFAULT_PORT = 7077;

interface ServeFlags {
  home?: string;
  store?: string;
  leaseDuration?: string;
  host: string;
  port: string;
  tokens?: string;
  tenantsDir?: string;
  defaultProvider?: string;
  log: 'text' | 'json' | 'off';
}

function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new UsageError(`--port must be 0..65535 (0 picks a free port), got "${value}"`);
  return n;
}

function textLogger(o: Output): (entry: ServerLogEntry) => void {
  return (e) => {
    if (e.event === 'call') {
      const code = e.code === 'ok' ? o.errStyle.green('ok') : o.errStyle.red(e.code);
      o.err(
        `${e.time} ${e.method} tenant=${e.tenant ?? '-'} ${code} ${e.durationMs.toFixed(1)}ms${e.message ? ` ${e.message}` : ''}\n`,
      );
    } else if (e.event !== 'listening') {
      // The banner says where the server listens.
      o.err(`${e.time} ${e.event}${e.threadId ? ` thread=${e.threadId}` : ''}${e.message ? ` ${e.message}` : ''}\n`);
    }
  };
}

function printBanner(
  o: Output,
  /** `Home:      /path` or `Store:     postgres://…`. */
  where: string,
  url: string,
  tokens: string | undefined,
  tenantsDir: string,
  defaultTenant: string,
): void {
  const s = o.style;
  const tokenFlag = tokens ? ' --token <your token>' : '';
  const tokenOpt = tokens ? ', token: process.env.SKEIN_TOKEN' : '';
  o.line(s.bold('Skein thread store'));
  o.line(`  ${where}`);
  o.line(`  Endpoint:  ${s.cyan(url)}`);
  o.line(`  Browse:    open ${s.cyan(`${url}/`)}${tokens ? ' (the page asks for a token)' : ''}`);
  o.line(
    tokens
      ? `  Auth:      bearer tokens from ${tokens} (${tenantsDir === '' ? 'each tenant is a tenant of the database' : `tenant "${defaultTenant}" uses the home, others ${join(tenantsDir, '<tenant>')}`})`
      : '  Auth:      none (loopback only; pass --tokens FILE to require tokens)',
  );
  o.line();
  o.line('Point a client at it:');
  o.line(`  skein threads list --endpoint ${url}${tokenFlag}`);
  o.line(`  skein chat --model echo --endpoint ${url}${tokenFlag}`);
  o.line();
  o.line("  import { RemoteThreadStore } from '@skein/thread-store-remote';");
  o.line(`  const store = new RemoteThreadStore({ baseUrl: '${url}'${tokenOpt} });`);
  o.line('  const { items } = await store.listThreads({});');
  o.line();
  o.line('Stop with Ctrl-C or SIGTERM: calls in flight finish and live threads are flushed first.');
}

/**
 * The home folder of a tenant other than the default one. The token list already refuses names
 * that are not one plain path segment; this checks again where the name becomes a path, so no
 * tenant can ever reach outside `tenantsDir` (or into it, as `.`).
 */
export function tenantHome(tenantsDir: string, tenant: string, problem: string | undefined): string {
  const dir = resolve(tenantsDir, tenant);
  if (problem !== undefined || dirname(dir) !== resolve(tenantsDir))
    throw new UsageError(
      `tenant ${JSON.stringify(tenant)} cannot have a home under ${tenantsDir}: ${problem ?? 'not a plain folder name'}`,
    );
  return dir;
}

export function serveCommand(): Command {
  const cmd = new Command('serve')
    .description(
      'serve a local home as a thread store server (gRPC, gRPC-Web and Connect over HTTP/2 and HTTP/1.1 on one port) with a thread browser page',
    )
    .option('--home <dir>', 'the Codex-shaped home to serve (default: $CODEX_HOME, else ~/.codex)')
    .option(
      '--store <url>',
      'serve a PostgreSQL database instead of a home: postgres://user@host/db (env SKEIN_STORE); many servers can share one',
    )
    .option(
      '--lease-duration <ms>',
      'with --store: how long a live writer holds a thread after its server stops renewing (default 30000)',
    )
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port to listen on; 0 picks a free one (printed)', String(DEFAULT_PORT))
    .option(
      '--tokens <file>',
      'require bearer tokens: one "<token> [tenant]" per line, or JSON {"<token>": "<tenant>"}',
    )
    .option(
      '--tenants-dir <dir>',
      'where tenants other than "default" keep their homes (default: <home>/skein-tenants)',
    )
    .option('--default-provider <name>', `default model provider for listings (default: ${DEFAULT_MODEL_PROVIDER})`)
    .addOption(
      new Option('--log <format>', 'one line per call on stderr').choices(['text', 'json', 'off']).default('text'),
    );

  cmd.action(async (_opts: unknown, c: Command) => {
    const flags = flagsOf<ServeFlags>(c);
    const { startThreadStoreServer, DEFAULT_TENANT, tenantNameProblem } = await import('@skein/thread-store-remote');
    const o = outputFor(c);
    const port = parsePort(flags.port);
    if (flags.tokens === undefined && !['127.0.0.1', '::1', 'localhost'].includes(flags.host))
      throw new UsageError(`serving ${flags.host} needs --tokens FILE: without tokens, listen on 127.0.0.1 only`);
    if (flags.store !== undefined && flags.home !== undefined) throw new UsageError('use either --home or --store');
    const rawStore = flags.store ?? (flags.home === undefined ? process.env.SKEIN_STORE || undefined : undefined);
    const database = rawStore === undefined ? undefined : storeUrl(rawStore);
    const leaseMs = flags.leaseDuration === undefined ? undefined : Number(flags.leaseDuration);
    if (leaseMs !== undefined && (database === undefined || !Number.isInteger(leaseMs) || leaseMs <= 0))
      throw new UsageError('--lease-duration takes a positive number of milliseconds, with --store only');
    const home = flags.home === undefined ? defaultHome() : resolve(flags.home);
    if (database === undefined) mkdirSync(home, { recursive: true });
    const tenantsDir =
      database !== undefined
        ? ''
        : flags.tenantsDir === undefined
          ? join(home, 'skein-tenants')
          : resolve(flags.tenantsDir);
    // A stateless server over a database: every tenant is a tenant of that database.
    const open = (tenant?: string): Promise<ThreadStore> =>
      database !== undefined
        ? openPostgresStore(database, flags.defaultProvider, tenant, leaseMs)
        : openLocalStore(home, flags.defaultProvider);
    // json: the server's own JSON lines on stderr (pino), starting with a `listening` line that
    // carries the bound port (useful with --port 0).
    const logger: ServerLogger | undefined =
      flags.log === 'off' ? false : flags.log === 'json' ? undefined : textLogger(o);

    const common = {
      host: flags.host,
      port,
      pages: webPageHandler(),
      // The page's "fork at a turn": the same fork as `skein threads fork`.
      forkThread: async (store: ThreadStore, { threadId, turns }: { threadId: ThreadId; turns?: number }) =>
        forkThroughManager(store, await store.readThread({ threadId, includeArchived: true }), turns),
      ...(logger === undefined ? {} : { logger }),
    };
    let ownStore: ThreadStore | null = null;
    let options: StartThreadStoreServerOptions;
    if (flags.tokens !== undefined) {
      const auth: AuthOptions = { tokensFile: resolve(flags.tokens) };
      // One home per tenant: the default tenant gets the served home, every other tenant its
      // own folder, so a tenant never sees another's threads.
      options = {
        ...common,
        auth,
        storeForTenant: (tenant: string) => {
          if (database !== undefined) return open(tenant);
          if (tenant === DEFAULT_TENANT) return openLocalStore(home, flags.defaultProvider);
          const dir = tenantHome(tenantsDir, tenant, tenantNameProblem(tenant));
          mkdirSync(dir, { recursive: true });
          return openLocalStore(dir, flags.defaultProvider);
        },
      };
    } else {
      const store = await open();
      ownStore = store;
      options = { ...common, auth: 'none', store };
    }

    // Signals are caught from here on: one arriving while the server starts or the banner is
    // being written must still end in a graceful stop, never in the default kill.
    const stopper = new Stopper(o);
    try {
      let server;
      try {
        server = await startThreadStoreServer(options);
      } catch (err) {
        await ownStore?.close().catch(() => {});
        if ((err as { cause?: { code?: string } }).cause?.code === 'EADDRINUSE')
          throw new UsageError(
            `cannot listen on ${flags.host}:${port}: the port is in use; pass another --port, or --port 0 to pick a free one`,
          );
        throw err;
      }
      const where = database === undefined ? `Home:      ${home}` : `Store:     ${redactedUrl(database)}`;
      printBanner(o, where, server.url, flags.tokens, tenantsDir, DEFAULT_TENANT);
      const signal = await stopper.requested;
      o.line(`Received ${signal}: stopping (finishing calls in flight, flushing live threads)...`);
      await server.close();
      await ownStore?.close();
      o.line(
        database === undefined
          ? 'Stopped. Everything written is on disk.'
          : 'Stopped. Everything written is committed.',
      );
    } finally {
      stopper.dispose();
    }
  });
  return cmd;
}

/** The first SIGINT/SIGTERM asks for a graceful stop; a second one exits at once. */
export class Stopper {
  readonly requested: Promise<NodeJS.Signals>;
  private signalled = false;
  private resolve!: (signal: NodeJS.Signals) => void;
  private readonly handler = (signal: NodeJS.Signals): void => {
    if (this.signalled) {
      this.o.err(`skein: ${signal} again, exiting without waiting\n`);
      process.exit(130);
    }
    this.signalled = true;
    this.resolve(signal);
  };

  constructor(private readonly o: Output) {
    this.requested = new Promise((resolve) => {
      this.resolve = resolve;
    });
    process.on('SIGINT', this.handler);
    process.on('SIGTERM', this.handler);
  }

  dispose(): void {
    process.off('SIGINT', this.handler);
    process.off('SIGTERM', this.handler);
  }
}
