import { readFile } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import { Command, Option } from 'commander';
import type { AppServerListener } from '@skein/app-server';
import type { ModelClient } from '@skein/core-session';
import { UsageError } from '../cli-error.js';
import { flagsOf, outputFor, withStore } from '../command-context.js';
import { addStoreOptions, defaultHome } from '../store-options.js';
import type { StoreFlags } from '../store-options.js';
import { skeinVersion } from '../version.js';
import { Stopper } from './serve.js';

interface AppServerFlags extends StoreFlags {
  listen: string;
  wsAuth?: 'capability-token';
  wsTokenFile?: string;
  cwd?: string;
}

/** Where `--listen` points: stdio, a unix socket, or a WebSocket address. */
type ListenTarget = { kind: 'stdio' } | { kind: 'unix'; path: string } | { kind: 'ws'; host: string; port: number };

/** Parses `--listen` the way Codex's app-server reads it. */
export function parseListen(raw: string): ListenTarget {
  if (raw === 'stdio://' || raw === 'stdio') return { kind: 'stdio' };
  if (raw.startsWith('unix://')) {
    const path = raw.slice('unix://'.length);
    if (path === '' || !isAbsolute(path)) throw new UsageError(`--listen unix:// needs an absolute path, got "${raw}"`);
    return { kind: 'unix', path };
  }
  const m = /^ws:\/\/(\[[0-9a-fA-F:]+\]|[^:/]+):(\d+)\/?$/.exec(raw);
  if (m) {
    const port = Number(m[2]);
    if (port > 65535) throw new UsageError(`--listen port must be 0..65535, got "${raw}"`);
    return { kind: 'ws', host: m[1]!.replace(/^\[|\]$/g, ''), port };
  }
  throw new UsageError(`--listen must be stdio://, unix://PATH or ws://IP:PORT, got "${raw}"`);
}

/** `skein app-server`: Codex's app-server protocol over the store the flags name. */
export function appServerCommand(): Command {
  const cmd = new Command('app-server')
    .description("serve Codex's app-server protocol (what Codex's TUI and IDE clients speak) over any store")
    .option('--listen <url>', 'stdio://, unix://PATH or ws://IP:PORT (port 0 picks a free one)', 'stdio://')
    .addOption(
      new Option('--ws-auth <mode>', 'authentication for WebSocket clients (needed off loopback)').choices([
        'capability-token',
      ]),
    )
    .option('--ws-token-file <path>', 'absolute path of the file holding the capability token')
    .option('--cwd <dir>', 'working directory of a thread/start that names none (default: this one)')
    .addHelpText(
      'after',
      `
Turns run with the offline echo model (provider "echo"). WebSocket clients authenticate with
"Authorization: Bearer <token>" when --ws-auth capability-token is set; without it only a loopback
address may be used. GET /readyz and /healthz answer on the WebSocket port.

Examples:
  skein app-server --listen ws://127.0.0.1:4500 --home ~/.codex
  codex resume --remote ws://127.0.0.1:4500            the Codex TUI on Skein's threads
  skein app-server --listen ws://127.0.0.1:0 --endpoint http://127.0.0.1:7077
  skein app-server --listen unix:///tmp/skein.sock --store postgres://127.0.0.1/skein`,
    );
  addStoreOptions(cmd);
  cmd.action(async (_args: unknown, command: Command) => {
    const flags = flagsOf<AppServerFlags>(command);
    const o = outputFor(command);
    const target = parseListen(flags.listen);
    let token: string | undefined;
    if (flags.wsAuth !== undefined || flags.wsTokenFile !== undefined) {
      if (target.kind !== 'ws') throw new UsageError('--ws-auth and --ws-token-file apply to ws:// only');
      if (flags.wsAuth === undefined) throw new UsageError('--ws-token-file needs --ws-auth capability-token');
      if (flags.wsTokenFile === undefined || !isAbsolute(flags.wsTokenFile))
        throw new UsageError('--ws-auth capability-token needs --ws-token-file with an absolute path');
      token = (await readFile(flags.wsTokenFile, 'utf8')).trim();
      if (token === '') throw new UsageError(`the token file ${flags.wsTokenFile} is empty`);
    }
    await withStore(flags, async (store, opened) => {
      const { AppServer, listenUnix, listenWebSocket, serveStdio } = await import('@skein/app-server');
      const { EchoModelClient } = await import('@skein/core-session');
      const { ThreadManager } = await import('@skein/thread-manager');
      const model: ModelClient = new EchoModelClient();
      const cwd = flags.cwd ?? process.cwd();
      const manager = new ThreadManager({
        store,
        model,
        defaults: { cwd, originator: 'skein', cliVersion: skeinVersion() },
      });
      const server = new AppServer({
        manager,
        codexHome: opened.home ?? defaultHome(),
        userAgent: `skein-app-server/${skeinVersion()}`,
        defaultCwd: cwd,
        cliVersion: skeinVersion(),
        model,
        modelContextWindow: model.contextWindow ?? null,
      });
      const stopper = new Stopper(o);
      let listener: AppServerListener;
      try {
        if (target.kind === 'stdio') {
          const stdio = serveStdio(server, { input: process.stdin, output: process.stdout });
          listener = stdio;
          await Promise.race([stdio.done, stopper.requested]);
        } else {
          listener =
            target.kind === 'unix'
              ? await listenUnix(server, target.path)
              : await listenWebSocket(server, {
                  host: target.host,
                  port: target.port,
                  auth: token !== undefined ? { mode: 'capability-token', token } : { mode: 'none' },
                });
          o.err(`skein app-server: ${opened.where}\n`);
          o.err(`skein app-server: listening on ${listener.url}\n`);
          if (target.kind === 'ws') {
            const http = listener.url.replace(/^ws:/, 'http:');
            o.err(`skein app-server: readyz ${http}/readyz  healthz ${http}/healthz\n`);
          }
          await stopper.requested;
        }
        await listener.close();
      } finally {
        stopper.dispose();
        await server.close();
        await manager.shutdownAll();
      }
    });
  });
  return cmd;
}
