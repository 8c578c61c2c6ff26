import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { codexBinaryPath, codexConfigToml } from '../src/harness.js';

/**
 * The real Codex 0.169 TUI (`codex resume --remote ws://…`, `codex --remote ws://…`) driven in
 * tmux against `skein app-server`, over a local home and over a `skein serve` endpoint. Asserts
 * on `tmux capture-pane` text. The TUI's own CODEX_HOME holds only its config (a provider on a
 * closed port: every turn runs on the Skein server, with its echo model).
 */

const SKEIN_BIN = path.resolve(fileURLToPath(new URL('.', import.meta.url)), '../../skein/dist/bin.js');
const hasTmux = spawnSync('tmux', ['-V'], { stdio: 'ignore' }).status === 0;

function skein(args: string[], input?: string): string {
  const r = spawnSync(process.execPath, [SKEIN_BIN, ...args], { encoding: 'utf8', input: input ?? '' });
  if (r.status !== 0) throw new Error(`skein ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

/** Starts a long-running skein command and resolves with the first match of `pattern` in its stderr/stdout. */
async function startSkein(args: string[], pattern: RegExp): Promise<{ child: ChildProcess; match: string }> {
  const child = spawn(process.execPath, [SKEIN_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  const match = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`skein ${args.join(' ')} printed no ${pattern}: ${text}`)), 30_000);
    const onData = (d: Buffer): void => {
      text += d.toString();
      const m = pattern.exec(text);
      if (m) {
        clearTimeout(timer);
        resolve(m[1] ?? m[0]);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`skein ${args.join(' ')} exited (${code}): ${text}`)));
  });
  child.removeAllListeners('exit');
  return { child, match };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/** A tmux server of its own (`-L`), so the test never touches another tmux. */
class Tui {
  private readonly socket = `skein-tui-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;

  constructor(private readonly tuiHome: string) {}

  tmux(...args: string[]): string {
    const r = spawnSync('tmux', ['-L', this.socket, ...args], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`tmux ${args.join(' ')} failed: ${r.stderr}`);
    return r.stdout;
  }

  start(codexArgs: string[], cwd: string): void {
    const env = `env CODEX_HOME=${this.tuiHome} MOCK_API_KEY=unused TERM=xterm-256color`;
    const cmd = `${env} ${codexBinaryPath()} ${codexArgs.join(' ')}; sleep 600`;
    this.tmux('new-session', '-d', '-s', 'tui', '-x', '160', '-y', '45', '-c', cwd, cmd);
  }

  screen(): string {
    return this.tmux('capture-pane', '-p', '-t', 'tui');
  }

  /** Polls the screen until `pattern` shows (the wait is bounded; no speed is asserted). */
  async waitFor(pattern: RegExp | string, timeoutMs = 30_000): Promise<string> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const text = this.screen();
      if (typeof pattern === 'string' ? text.includes(pattern) : pattern.test(text)) return text;
      if (Date.now() > until) throw new Error(`the TUI never showed ${String(pattern)}; screen:\n${text}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  keys(...keys: string[]): void {
    this.tmux('send-keys', '-t', 'tui', ...keys);
  }

  /** Types a line and submits it once the composer shows it (a fast Enter reads as pasted text). */
  async submit(text: string): Promise<void> {
    this.tmux('send-keys', '-t', 'tui', '-l', text);
    await this.waitFor(`› ${text}`);
    await new Promise((r) => setTimeout(r, 500));
    this.keys('Enter');
  }

  close(): void {
    spawnSync('tmux', ['-L', this.socket, 'kill-server'], { stdio: 'ignore' });
  }
}

describe.skipIf(!hasTmux)('the Codex TUI on skein app-server', () => {
  let dir: string;
  let home: string;
  let tuiHome: string;
  const children: ChildProcess[] = [];
  const tuis: Tui[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'skein-tui-'));
    home = path.join(dir, 'home');
    tuiHome = path.join(dir, 'tui-home');
    skein(['chat', '--home', home, '--init', '--name', 'first thread'], 'hello from skein\n');
    skein(['chat', '--home', home], 'a second thread\n');
    await mkdir(tuiHome, { recursive: true });
    // A provider on a closed port: the TUI itself never reaches a model.
    await writeFile(path.join(tuiHome, 'config.toml'), codexConfigToml('http://127.0.0.1:9/v1'));
  });

  afterEach(async () => {
    for (const t of tuis.splice(0)) t.close();
    for (const c of children.splice(0)) await stopChild(c);
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function appServer(storeArgs: string[]): Promise<string> {
    const { child, match } = await startSkein(
      ['app-server', '--listen', 'ws://127.0.0.1:0', '--cwd', dir, ...storeArgs],
      /listening on (ws:\/\/127\.0\.0\.1:\d+)/,
    );
    children.push(child);
    return match;
  }

  function tui(): Tui {
    const t = new Tui(tuiHome);
    tuis.push(t);
    return t;
  }

  async function resumeAndTalk(url: string, storeArgs: string[], prompt: string): Promise<void> {
    const t = tui();
    t.start(['resume', '--remote', url], dir);
    // The picker lists what `skein threads list` lists.
    const picker = await t.waitFor('first thread');
    const listed = skein(['threads', 'list', ...storeArgs, '--all-providers', '--json']);
    const names = (JSON.parse(listed) as { threads: { name: string | null; preview: string }[] }).threads.map(
      (x) => x.name ?? x.preview,
    );
    expect(names.sort()).toEqual(['a second thread', 'first thread']);
    for (const name of names) expect(picker).toContain(name);
    // Opening the named thread shows its transcript.
    const row = picker.split('\n').findIndex((l) => l.includes('first thread'));
    const first = picker.split('\n').findIndex((l) => l.includes('a second thread') || l.includes('first thread'));
    for (let i = first; i < row; i++) t.keys('Down');
    t.keys('Enter');
    await t.waitFor('echo: hello from skein');
    // A prompt runs a turn on the server's echo model.
    await t.submit(prompt);
    const after = await t.waitFor(`echo: ${prompt}`);
    expect(after.split(`echo: ${prompt}`).length - 1).toBe(1);
    t.close();
    const shown = skein(['threads', 'show', 'first thread', ...storeArgs]);
    expect(shown).toContain(prompt);
    expect(shown).toContain(`echo: ${prompt}`);
  }

  it('over a local home: the picker lists the threads, opening one shows it, a prompt runs a turn', async () => {
    const url = await appServer(['--home', home]);
    await resumeAndTalk(url, ['--home', home], 'typed into the codex tui');
  }, 120_000);

  it('over a skein serve endpoint, and a new session started from the TUI is stored', async () => {
    const { child, match: endpoint } = await startSkein(
      ['serve', '--home', home, '--port', '0'],
      /Endpoint:\s+(http:\/\/127\.0\.0\.1:\d+)/,
    );
    children.push(child);
    const url = await appServer(['--endpoint', endpoint]);
    await resumeAndTalk(url, ['--endpoint', endpoint], 'through the endpoint');
    const t = tui();
    t.start(['--remote', url], dir);
    await t.waitFor(/Ask Codex to do anything|›/);
    await t.submit('a brand new session');
    await t.waitFor('echo: a brand new session');
    t.close();
    const listed = skein(['threads', 'list', '--endpoint', endpoint, '--all-providers', '--json']);
    const previews = (JSON.parse(listed) as { threads: { preview: string }[] }).threads.map((x) => x.preview);
    expect(previews).toContain('a brand new session');
  }, 120_000);
});
