import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { newThreadId, SessionSources, type ThreadId, type ThreadStore } from '@skein/thread-store-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AppServerClient,
  defaultReply,
  makeCodexHome,
  MOCK_PROVIDER_ID,
  startMockResponsesServer,
  turnAgentTexts,
  type AppServerThread,
  type CodexHome,
  type MockResponsesServer,
} from '../src/harness.js';
import { openSkeinStore, skeinHistory } from './support/skein.js';
import { turnItems } from './support/skein-writer.js';

/**
 * A session appends the model's answer while an earlier flush (or a metadata update, which
 * flushes) is still writing. Those items must reach the file: otherwise Codex shows the turn as
 * interrupted and its answer is gone. (The recorder once cleared its whole buffer after a write,
 * dropping lines appended during it; a Session's second turn then read back as `interrupted`.)
 */
describe('items appended while a flush is in flight', () => {
  let mock: MockResponsesServer;
  let home: CodexHome;
  let store: ThreadStore;
  let cwd: string;

  beforeAll(async () => {
    mock = await startMockResponsesServer();
    home = await makeCodexHome(mock.url);
    cwd = path.join(home.path, '..', `${path.basename(home.path)}-work`);
    await mkdir(cwd, { recursive: true });
    // Legacy: Codex reads a legacy thread's turns from the file, in a home it never opened.
    store = openSkeinStore(home.path, 'legacy');
  });
  afterAll(async () => {
    await store?.close();
    await mock?.close();
    await home?.remove();
  });

  it('keeps every appended item, and Codex reads the turn as completed', async () => {
    const ids: ThreadId[] = [];
    for (let run = 0; run < 5; run++) {
      const threadId = newThreadId();
      ids.push(threadId);
      await store.createThread({
        threadId,
        source: SessionSources.cli,
        metadata: { cwd, modelProvider: MOCK_PROVIDER_ID },
      });
      const prompt = `turn ${run}: ${'long context '.repeat(20_000)}`.trim();
      const items = turnItems(cwd, { prompt, reply: defaultReply(`turn ${run}`) });
      // The turn's start is flushed (materializing the file)…
      await store.appendItems({ threadId, items: items.slice(0, 2) });
      await store.flushThread(threadId);
      // …then the big user message is being written when the answer arrives.
      await store.appendItems({ threadId, items: items.slice(2, 4) });
      const inFlight = store.flushThread(threadId);
      await new Promise((resolve) => setImmediate(resolve));
      await store.appendItems({ threadId, items: items.slice(4) });
      await inFlight;
      await store.flushThread(threadId);
      await store.shutdownThread(threadId);
      await store.updateThreadMetadata({
        threadId,
        patch: { preview: `turn ${run}`, firstUserMessage: `turn ${run}` },
      });
    }

    for (const [run, threadId] of ids.entries()) {
      expect.soft((await skeinHistory(store, threadId)).agent, `run ${run}`).toEqual([defaultReply(`turn ${run}`)]);
    }
    const client = await AppServerClient.start(home);
    try {
      for (const [run, threadId] of ids.entries()) {
        const read = await client.request<{ thread: AppServerThread }>('thread/read', {
          threadId,
          includeTurns: true,
        });
        expect
          .soft(
            read.thread.turns.map((t) => t.status),
            `run ${run}`,
          )
          .toEqual(['completed']);
        expect.soft(read.thread.turns.map(turnAgentTexts).flat(), `run ${run}`).toEqual([defaultReply(`turn ${run}`)]);
      }
    } finally {
      await client.close();
    }
  });
});
