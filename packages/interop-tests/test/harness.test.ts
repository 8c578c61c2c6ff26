import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
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
    const first = JSON.parse((await readFile(files[0]!, 'utf8')).split('\n')[0]!) as {
      type: string;
      payload: { id: string; model_provider: string };
    };
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

      const started = await client.request<{ thread: { id: string; historyMode: string } }>('thread/start', {
        historyMode: 'legacy',
      });
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

/** Whether strace can trace a child here (it needs ptrace; containers may forbid it). */
const straceWorks = spawnSync('strace', ['-f', '-o', '/dev/null', 'true']).status === 0;

/** Every inet connect() a traced run made: `family address:port`. */
function inetConnects(trace: string): string[] {
  const out: string[] = [];
  for (const line of trace.split('\n')) {
    if (!line.includes('connect(')) continue;
    const v4 = /sa_family=AF_INET, sin_port=htons\((\d+)\), sin_addr=inet_addr\("([^"]+)"\)/.exec(line);
    if (v4) out.push(`AF_INET ${v4[2]}:${v4[1]}`);
    const v6 = /sa_family=AF_INET6, sin6_port=htons\((\d+)\).*inet_pton\(AF_INET6, "([^"]+)"/.exec(line);
    if (v6) out.push(`AF_INET6 [${v6[2]}]:${v6[1]}`);
  }
  return out;
}

describe('network isolation', () => {
  it.skipIf(!straceWorks)('codex exec and codex app-server connect to nothing but the mock on 127.0.0.1', async () => {
    const mock = await startMockResponsesServer();
    const home = await makeCodexHome(mock.url);
    const traceDir = await mkdtemp(path.join(tmpdir(), 'skein-strace-'));
    try {
      const execTrace = path.join(traceDir, 'exec.txt');
      const run = await runCodexExec(home, ['traced turn'], {
        wrapper: ['strace', '-f', '-e', 'trace=connect', '-o', execTrace],
      });
      assertRunOk(run);
      expect(run.agentMessages).toEqual(['echo: traced turn']);

      const serverTrace = path.join(traceDir, 'app-server.txt');
      const client = await AppServerClient.start(home, {
        wrapper: ['strace', '-f', '-e', 'trace=connect', '-o', serverTrace],
      });
      try {
        await client.listAllThreads({ sourceKinds: ALL_SOURCE_KINDS, modelProviders: [] });
        const started = await client.request<{ thread: { id: string } }>('thread/start', {});
        expect((await client.runTurn(started.thread.id, 'traced app-server turn')).status).toBe('completed');
      } finally {
        await client.close();
      }

      const connects = [
        ...inetConnects(await readFile(execTrace, 'utf8')),
        ...inetConnects(await readFile(serverTrace, 'utf8')),
      ];
      // At least one connection each (exec's turn and the app-server's turn), all to the mock.
      expect(connects.length).toBeGreaterThanOrEqual(2);
      expect(new Set(connects)).toEqual(new Set([`AF_INET 127.0.0.1:${mock.port}`]));
      expect(mock.unexpectedRequests).toEqual([]);
    } finally {
      await rm(traceDir, { recursive: true, force: true });
      await mock.close();
      await home.remove();
    }
  });
});
