import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { EchoModelClient, OpenAIResponsesModelClient, Session } from '@skein/core-session';
import type { SessionEventMsg } from '@skein/core-session';
import { collectHistory, parseThreadId, userMessageText } from '@skein/thread-store-api';
import { LocalThreadStore } from '@skein/thread-store-local';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AppServerClient,
  assertRunOk,
  defaultReply,
  makeCodexHome,
  MOCK_API_KEY_ENV,
  MOCK_MODEL,
  MOCK_PROVIDER_ID,
  runCodexExec,
  startMockResponsesServer,
  turnAgentTexts,
  turnUserTexts,
  type AppServerThread,
  type CodexHome,
  type MockResponsesServer,
} from '../src/harness.js';

/**
 * A Session (core-session) over a LocalThreadStore records a two-turn thread while talking to
 * the same mock Responses API Codex uses; the real `codex app-server` must then list it with the
 * right preview and read both turns back.
 */
describe('a thread written by a Session is read by real Codex', () => {
  let mock: MockResponsesServer;
  let home: CodexHome;
  let cwd: string;
  const prompts = ['e2e: first turn from a Skein session', 'e2e: second turn'];
  let threadId: string;
  let rolloutPath: string | null;

  beforeAll(async () => {
    mock = await startMockResponsesServer();
    home = await makeCodexHome(mock.url);
    cwd = path.join(home.path, '..', `${path.basename(home.path)}-session-work`);
    await mkdir(cwd, { recursive: true });
    process.env[MOCK_API_KEY_ENV] = 'mock-key';
    // Legacy: in this fresh home Codex has no thread_history_1.sqlite yet, and it shows a paginated
    // thread's turns only from that projection (paginated-alternation.test.ts covers paginated).
    const store = new LocalThreadStore({
      home: home.path,
      defaultModelProvider: MOCK_PROVIDER_ID,
      historyMode: 'legacy',
    });
    try {
      const model = new OpenAIResponsesModelClient({
        model: MOCK_MODEL,
        baseUrl: mock.url,
        apiKeyEnv: MOCK_API_KEY_ENV,
        provider: MOCK_PROVIDER_ID,
      });
      const session = await Session.start({ store, model, cwd, source: { kind: 'cli' }, cliVersion: '0.169.0' });
      threadId = session.threadId;
      const events = session.events()[Symbol.asyncIterator]();
      const until = async (type: SessionEventMsg['type']): Promise<SessionEventMsg[]> => {
        const seen: SessionEventMsg[] = [];
        for (;;) {
          const r = await events.next();
          if (r.done) throw new Error(`session events ended before ${type}: ${seen.map((m) => m.type).join(', ')}`);
          seen.push(r.value.msg);
          if (r.value.msg.type === type) return seen;
        }
      };
      for (const prompt of prompts) {
        session.submit({ type: 'user_turn', items: [{ type: 'text', text: prompt }] });
        const msgs = await until('turn_complete');
        expect(msgs.filter((m) => m.type === 'error')).toEqual([]);
      }
      rolloutPath = await session.live.localRolloutPath();
      session.submit({ type: 'shutdown' });
      await until('shutdown_complete');
    } finally {
      await store.close();
    }
  });

  afterAll(async () => {
    delete process.env[MOCK_API_KEY_ENV];
    await mock?.close();
    await home?.remove();
    if (cwd) await rm(cwd, { recursive: true, force: true });
  });

  it('the session talked to the mock model once per turn', () => {
    const turns = mock.requests.filter((r) => r.path.endsWith('/responses'));
    expect(turns.map((r) => r.prompt)).toEqual(prompts);
    expect(rolloutPath).toMatch(/rollout-.*\.jsonl$/);
  });

  it('codex app-server lists the thread with its preview and reads both turns', async () => {
    const c = await AppServerClient.start(home);
    try {
      const listed = await c.listAllThreads();
      const mine = listed.find((t) => t.id === threadId);
      expect(mine, `thread/list returned ${listed.map((t) => t.id).join(', ')}`).toBeDefined();
      expect(mine?.preview).toBe(prompts[0]);
      expect(mine?.modelProvider).toBe(MOCK_PROVIDER_ID);
      expect(mine?.cwd).toBe(cwd);
      expect(mine?.path).toBe(rolloutPath);

      const read = await c.request<{ thread: AppServerThread }>('thread/read', { threadId, includeTurns: true });
      expect(read.thread.historyMode).toBe('legacy');
      expect(read.thread.turns.map((t) => t.status)).toEqual(['completed', 'completed']);
      expect(read.thread.turns.map(turnUserTexts)).toEqual(prompts.map((p) => [p]));
      expect(read.thread.turns.map(turnAgentTexts)).toEqual(prompts.map((p) => [defaultReply(p)]));
    } finally {
      await c.close();
    }
  });

  it('codex exec resumes the thread and appends a turn that a Session reads back', async () => {
    const run = await runCodexExec(home, ['resume', threadId, 'e2e: third turn, by Codex'], { cwd });
    assertRunOk(run);
    expect(run.threadId).toBe(threadId);
    expect(run.agentMessages).toEqual([defaultReply('e2e: third turn, by Codex')]);
    const store = new LocalThreadStore({ home: home.path, defaultModelProvider: MOCK_PROVIDER_ID });
    try {
      const history = await collectHistory(store.loadHistory({ threadId: parseThreadId(threadId) }));
      const users = history.map(userMessageText).filter((t): t is string => t !== undefined);
      expect(users).toEqual([...prompts, 'e2e: third turn, by Codex']);
    } finally {
      await store.close();
    }
  });

  it('an interrupted Session turn reads as interrupted in codex app-server', async () => {
    const store = new LocalThreadStore({ home: home.path, defaultModelProvider: MOCK_PROVIDER_ID });
    let interruptedId: string;
    try {
      // The echo model holds any prompt containing "hold" open until the turn is aborted.
      const model = new EchoModelClient({
        provider: MOCK_PROVIDER_ID,
        model: MOCK_MODEL,
        pause: (prompt, signal) =>
          prompt.includes('hold')
            ? new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }))
            : Promise.resolve(),
      });
      const session = await Session.start({ store, model, cwd, source: { kind: 'cli' } });
      interruptedId = session.threadId;
      const events = session.events()[Symbol.asyncIterator]();
      const until = async (type: SessionEventMsg['type']): Promise<void> => {
        for (;;) {
          const r = await events.next();
          if (r.done) throw new Error(`session events ended before ${type}`);
          if (r.value.msg.type === type) return;
        }
      };
      session.submit({ type: 'user_turn', items: [{ type: 'text', text: 'e2e: answered' }] });
      await until('turn_complete');
      session.submit({ type: 'user_turn', items: [{ type: 'text', text: 'e2e: hold, then interrupt' }] });
      await until('agent_message_delta');
      session.submit({ type: 'interrupt' });
      await until('turn_aborted');
      session.submit({ type: 'shutdown' });
      await until('shutdown_complete');
    } finally {
      await store.close();
    }
    const c = await AppServerClient.start(home);
    try {
      // A paginated thread (the default) in a home where Codex has no thread_history_1.sqlite yet:
      // Codex shows its turns once it has loaded the thread and projected the file.
      await c.request('thread/resume', { threadId: interruptedId });
      const read = await c.request<{ thread: AppServerThread }>('thread/read', {
        threadId: interruptedId,
        includeTurns: true,
      });
      expect(read.thread.preview).toBe('e2e: answered');
      expect(read.thread.turns.map((t) => t.status)).toEqual(['completed', 'interrupted']);
      expect(read.thread.turns.map(turnUserTexts)).toEqual([['e2e: answered'], ['e2e: hold, then interrupt']]);
    } finally {
      await c.close();
    }
  });
});
