import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { codexBinaryPath, codexEnv, makeCodexHome, startMockResponsesServer } from '../src/harness.js';
import type { CodexHome, MockResponsesServer } from '../src/harness.js';

/**
 * `app-server --listen unix://PATH` on both servers: the real `codex app-server` 0.169 speaks
 * WebSocket over the unix socket (an HTTP upgrade, then one JSON-RPC message per text frame),
 * not JSON lines, and `skein app-server` must answer a client of Codex's socket the same way.
 */

const SKEIN_BIN = path.resolve(fileURLToPath(new URL('.', import.meta.url)), '../../skein/dist/bin.js');

/** Waits until the server has created its socket file (or exited, which fails the test). */
async function socketReady(child: ChildProcess, sock: string, output: () => string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (existsSync(sock)) return;
    if (child.exitCode !== null) throw new Error(`the server exited (${child.exitCode}):\n${output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no socket at ${sock} after 60 s:\n${output()}`);
}

/** The status line and lower-cased header names of the answer to a WebSocket upgrade. */
function upgradeAnswer(sock: string): Promise<{ status: string; headers: Record<string, string> }> {
  return new Promise((resolve, reject) => {
    const s = net.connect(sock);
    let got = '';
    s.on('error', reject);
    s.on('connect', () =>
      s.write(
        'GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
      ),
    );
    s.on('data', (d) => {
      got += d.toString('latin1');
      const end = got.indexOf('\r\n\r\n');
      if (end < 0) return;
      s.destroy();
      const [status = '', ...lines] = got.slice(0, end).split('\r\n');
      const headers: Record<string, string> = {};
      for (const l of lines) {
        const i = l.indexOf(':');
        headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
      }
      resolve({ status, headers });
    });
  });
}

/** One JSON-RPC exchange over a WebSocket on the unix socket: initialize, then `method`. */
async function overWebSocket(sock: string, method: string, params: unknown): Promise<unknown[]> {
  const ws = new WebSocket(`ws+unix://${sock}:/`);
  const answers: unknown[] = [];
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const pending = new Map<number, (v: unknown) => void>();
  ws.on('message', (data, isBinary) => {
    expect(isBinary, 'each message is a text frame').toBe(false);
    const msg = JSON.parse(data.toString()) as { id?: number; result?: unknown; error?: unknown; method?: string };
    if (msg.method === undefined && msg.id !== undefined) pending.get(msg.id)?.(msg);
  });
  const call = (id: number, m: string, p: unknown): Promise<unknown> =>
    new Promise((resolve) => {
      pending.set(id, resolve);
      ws.send(JSON.stringify({ id, method: m, params: p }));
    });
  answers.push(
    await call(1, 'initialize', {
      clientInfo: { name: 'skein_unix_socket', title: null, version: '0.0.0' },
      capabilities: { experimentalApi: true },
    }),
  );
  ws.send(JSON.stringify({ method: 'initialized' }));
  answers.push(await call(2, method, params));
  ws.close();
  return answers;
}

describe('app-server over a unix socket: the framing of codex app-server 0.169', () => {
  let mock: MockResponsesServer;
  let home: CodexHome;
  let dir: string;
  const children: ChildProcess[] = [];
  const socks: Record<'codex' | 'skein', string> = { codex: '', skein: '' };

  beforeAll(async () => {
    mock = await startMockResponsesServer({ port: 0 });
    home = await makeCodexHome(mock.url);
    dir = await mkdtemp(path.join(tmpdir(), 'skein-unix-'));
    const start = async (name: 'codex' | 'skein', cmd: string, args: string[]): Promise<void> => {
      const sock = path.join(dir, `${name}.sock`);
      const child = spawn(cmd, [...args, '--listen', `unix://${sock}`], {
        env: codexEnv(home),
        cwd: dir,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      children.push(child);
      let output = '';
      child.stdout?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
      child.stderr?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
      await socketReady(child, sock, () => output);
      socks[name] = sock;
    };
    await start('codex', codexBinaryPath(), ['app-server']);
    await start('skein', process.execPath, [SKEIN_BIN, 'app-server', '--home', home.path]);
  }, 120_000);

  afterAll(async () => {
    for (const c of children) {
      if (c.exitCode !== null || c.signalCode !== null) continue;
      const exited = new Promise<void>((resolve) => c.once('close', () => resolve()));
      c.kill('SIGTERM');
      const timer = setTimeout(() => c.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
    await home?.remove();
    await mock?.close();
  });

  it('both answer an HTTP upgrade to WebSocket on the socket', async () => {
    for (const name of ['codex', 'skein'] as const) {
      const answer = await upgradeAnswer(socks[name]);
      expect(answer.status, name).toBe('HTTP/1.1 101 Switching Protocols');
      expect(answer.headers.upgrade?.toLowerCase(), name).toBe('websocket');
      // RFC 6455's answer to the sample key of its section 1.3.
      expect(answer.headers['sec-websocket-accept'], name).toBe('s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
    }
  });

  it('both carry JSON-RPC as one message per text frame over that WebSocket', async () => {
    const shape = async (name: 'codex' | 'skein'): Promise<unknown> => {
      const [init, list] = (await overWebSocket(socks[name], 'thread/list', {})) as [any, any];
      return {
        init: { id: init.id, userAgent: typeof init.result?.userAgent },
        list: { id: list.id, data: list.result?.data, nextCursor: list.result?.nextCursor },
      };
    };
    const codex = await shape('codex');
    expect(codex).toEqual({
      init: { id: 1, userAgent: 'string' },
      list: { id: 2, data: [], nextCursor: null },
    });
    expect(await shape('skein')).toEqual(codex);
  });
});
