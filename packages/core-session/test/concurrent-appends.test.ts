import { collectHistory, newThreadId } from '@skein/thread-store-api';
import type { RolloutItem } from '@skein/thread-store-api';
import { afterEach, describe, expect, it } from 'vitest';
import { LiveThread } from '../src/index.js';
import { agentMessage } from './support/controlled-store.js';
import { inMemoryFactory, localFactory } from './support/stores.js';
import type { StoreFactory, StoreHarness } from './support/stores.js';

const tokenCount = (total: number): RolloutItem => ({
  type: 'event_msg',
  payload: {
    type: 'token_count',
    info: {
      total_token_usage: {
        input_tokens: total,
        cached_input_tokens: 0,
        output_tokens: 0,
        reasoning_output_tokens: 0,
        total_tokens: total,
      },
    },
    rate_limits: null,
  },
});

// fsync on: the slower the write, the more appends arrive while it is in progress.
const local = (await localFactory('always')) as StoreFactory;

/**
 * The metadata worker writes while the session keeps appending, so a store must accept appends
 * while an update (or a flush) of the same thread is being written, and lose none of them.
 */
async function appendWhileMetadataIsWritten(factory: StoreFactory, harnesses: StoreHarness[]): Promise<void> {
  const h = await factory.make();
  harnesses.push(h);
  const rounds = 200;
  // Several threads, because whether an append lands inside a write depends on I/O timing.
  for (let t = 0; t < 5; t++) {
    const live = await LiveThread.create(h.store, {
      threadId: newThreadId(),
      source: { kind: 'cli' },
      metadata: { cwd: h.cwd, modelProvider: 'openai' },
    });
    for (let i = 0; i < rounds; i++) {
      // Each token count is a new fact, so the worker keeps an update in flight.
      await live.appendItems([tokenCount(i + 1), agentMessage(`m${i}`)]);
      await new Promise((r) => setImmediate(r));
    }
    await live.shutdown();
    const history = await collectHistory(h.store.loadHistory({ threadId: live.threadId }));
    const messages = history.filter((i) => (i.payload as { type?: string }).type === 'agent_message');
    expect(messages).toHaveLength(rounds);
    expect((await h.store.readThread({ threadId: live.threadId })).tokenUsage?.totalTokens).toBe(rounds);
  }
}

describe('appends while metadata is being written', () => {
  const harnesses: StoreHarness[] = [];
  afterEach(async () => {
    for (const x of harnesses.splice(0)) await x.cleanup();
  });

  it('InMemoryThreadStore keeps every item', async () => {
    await appendWhileMetadataIsWritten(inMemoryFactory, harnesses);
  });

  it('LocalThreadStore keeps every item', async () => {
    await appendWhileMetadataIsWritten(local, harnesses);
  });
});
