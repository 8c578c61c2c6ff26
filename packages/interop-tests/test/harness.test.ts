import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ALL_SOURCE_KINDS,
  AppServerClient,
  assertRunOk,
  makeCodexHome,
  runCodexExec,
  startMockResponsesServer,
  turnAgentTexts,
  turnUserTexts,
  type CodexHome,
  type MockResponsesServer,
} from '../src/harness.js';

async function rolloutFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && entry.name.startsWith('rollout-')) out.push(path.join(entry.parentPath, entry.name));
  }
  return out;
}

describe('the offline Codex harness', () => {
  let mock: MockResponsesServer;
  let home: CodexHome;

  beforeAll(async () => {
    mock = await startMockResponsesServer();
    home = await makeCodexHome(mock.url);
  });
  afterAll(async () => {
    await mock?.close();
    await home?.remove();
  });

  it('runs a real codex exec turn against the mock and writes a rollout file', async () => {
    const run = await runCodexExec(home, ['harness: hello']);
    assertRunOk(run);
    expect(run.threadId).toMatch(/^[0-9a-f-]{36}$/);
    expect(run.agentMessages).toEqual(['echo: harness: hello']);
    const files = await rolloutFiles(path.join(home.path, 'sessions'));
    expect(files).toHaveLength(1);
    expect(files[0]).toContain(run.threadId);
    const first = JSON.parse((await readFile(files[0]!, 'utf8')).split('\n')[0]!) as { type: string; payload: { id: string; model_provider: string } };
    expect(first.type).toBe('session_meta');
    expect(first.payload.id).toBe(run.threadId);
    expect(first.payload.model_provider).toBe('mock');
    // Codex asked the mock only for what it serves: offline means nothing else was needed.
    expect(mock.unexpectedRequests).toEqual([]);
    expect(mock.requests.some((r) => r.prompt === 'harness: hello')).toBe(true);
  });

  it('makes a turn fail on request, and codex reports the failure', async () => {
    mock.failNext();
    const run = await runCodexExec(home, ['harness: this one fails']);
    expect(run.turnFailed).toBe(true);
    expect(run.code).not.toBe(0);
    expect(run.agentMessages).toEqual([]);
  });

  it('talks to codex app-server: lists exec threads only when asked, reads turns, runs a legacy turn', async () => {
    const client = await AppServerClient.start(home);
    try {
      // exec threads are hidden from the default (interactive-only) listing.
      const defaults = await client.listAllThreads();
      expect(defaults).toEqual([]);
      const all = await client.listAllThreads({ sourceKinds: ALL_SOURCE_KINDS, modelProviders: [] });
      expect(all.map((t) => t.preview).sort()).toEqual(['harness: hello', 'harness: this one fails']);

      const started = await client.request<{ thread: { id: string; historyMode: string } }>('thread/start', { historyMode: 'legacy' });
      expect(started.thread.historyMode).toBe('legacy');
      const turn = await client.runTurn(started.thread.id, 'harness: legacy turn');
      expect(turn.status).toBe('completed');
      expect(turnAgentTexts(turn)).toEqual(['echo: harness: legacy turn']);

      const read = await client.request<{ thread: { turns: Parameters<typeof turnUserTexts>[0][] } }>('thread/read', {
        threadId: started.thread.id,
        includeTurns: true,
      });
      expect(read.thread.turns.map(turnUserTexts)).toEqual([['harness: legacy turn']]);
    } finally {
      expect((await client.close()).code).toBe(0);
    }
  });
});
