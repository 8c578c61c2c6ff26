import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalThreadStore } from '@skein/thread-store-local';
import {
  AppServerClient,
  assertRunOk,
  makeCodexHome,
  runCodexExec,
  startMockResponsesServer,
  type CodexHome,
  type MockResponsesServer,
} from '../src/harness.js';
import { writeSkeinThread } from './support/skein-writer.js';

/**
 * `skein threads list` with no filters must list what Codex's own default `thread/list` lists on
 * the same home: Codex takes the default provider from the home's config.toml (the active
 * profile's `model_provider`, else the top-level one), so Skein must too.
 */
const SKEIN_BIN = path.resolve(fileURLToPath(new URL('.', import.meta.url)), '../../skein/dist/bin.js');

async function skein(home: string, args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, [SKEIN_BIN, ...args, '--home', home], {
    env: { ...process.env, HOME: home, SKEIN_ENDPOINT: '', XDG_CONFIG_HOME: home },
  });
  return stdout;
}

async function skeinListIds(home: string): Promise<string[]> {
  const stdout = await skein(home, ['threads', 'list', '--json', '--limit', '100']);
  return (JSON.parse(stdout) as { threads: { id: string }[] }).threads.map((t) => t.id);
}

describe('skein threads list defaults match codex thread/list on a real home', () => {
  let mock: MockResponsesServer;
  let home: CodexHome;
  let vscodeMock: string;
  let cliOpenai: string;

  beforeAll(async () => {
    mock = await startMockResponsesServer();
    home = await makeCodexHome(mock.url);
    // An exec thread (a source Codex's default listing leaves out) and an app-server thread
    // (source vscode) on the configured provider, `mock`.
    assertRunOk(await runCodexExec(home, ['an exec thread'], { cwd: home.path }));
    const client = await AppServerClient.start(home);
    try {
      const started = await client.request<{ thread: { id: string } }>('thread/start', { cwd: home.path });
      vscodeMock = started.thread.id;
      expect((await client.runTurn(vscodeMock, 'an app-server thread')).status).toBe('completed');
      expect((await client.runTurn(vscodeMock, 'FAIL_TURN this one fails')).status).toBe('failed');
    } finally {
      await client.close();
    }
    // An interactive thread of another provider (openai), as another config would have made it.
    const store = new LocalThreadStore({ home: home.path, defaultModelProvider: 'mock' });
    try {
      cliOpenai = await writeSkeinThread(store, {
        cwd: home.path,
        turns: [{ prompt: 'an openai thread' }],
        modelProvider: 'openai',
      });
    } finally {
      await store.close();
    }
  });
  afterAll(async () => {
    await mock?.close();
    await home?.remove();
  });

  async function codexDefaultIds(): Promise<string[]> {
    const client = await AppServerClient.start(home);
    try {
      return (await client.listAllThreads()).map((t) => t.id);
    } finally {
      await client.close();
    }
  }

  it('with model_provider at the top level of config.toml', async () => {
    const codex = await codexDefaultIds();
    expect(codex).toEqual([vscodeMock]);
    expect(await skeinListIds(home.path)).toEqual(codex);
  });

  it('with a profile that selects another provider', async () => {
    const file = path.join(home.path, 'config.toml');
    const original = await readFile(file, 'utf8');
    await writeFile(file, `profile = "other"\n${original}\n[profiles.other]\nmodel_provider = "openai"\n`);
    try {
      const codex = await codexDefaultIds();
      expect(codex).toEqual([cliOpenai]);
      expect(await skeinListIds(home.path)).toEqual(codex);
    } finally {
      await writeFile(file, original);
    }
  });

  it('skein threads show numbers the turns of a Codex thread and shows the failed one with its error', async () => {
    const out = await skein(home.path, ['threads', 'show', vscodeMock]);
    expect(out).toMatch(/^Turns\s+2$/m);
    expect(out).toContain(
      '── Turn 1 · completed ──\nuser: an app-server thread\nassistant: echo: an app-server thread\n',
    );
    expect(out).toMatch(
      /── Turn 2 · failed: stream disconnected before completion: .* ──\nuser: FAIL_TURN this one fails\n/,
    );
  });
});
