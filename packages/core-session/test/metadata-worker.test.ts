import { InMemoryThreadStore, isThreadStoreError, newThreadId, ThreadStoreError } from '@skein/thread-store-api';
import type { RolloutItem } from '@skein/thread-store-api';
import { describe, expect, it } from 'vitest';
import { LiveThread } from '../src/index.js';
import { agentMessage, ControlledThreadStore, settled, TestClock, userMessage } from './support/controlled-store.js';

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
const turnContext = (model: string): RolloutItem => ({
  type: 'turn_context',
  payload: {
    cwd: '/work/proj',
    approval_policy: 'never',
    sandbox_policy: { type: 'read-only' },
    model,
    summary: 'auto',
  },
});

async function setup(clock = new TestClock()) {
  const store = new ControlledThreadStore(new InMemoryThreadStore({ now: clock.now }));
  const threadId = newThreadId();
  const live = await LiveThread.create(
    store,
    {
      threadId,
      source: { kind: 'cli' },
      metadata: { cwd: '/work/proj', modelProvider: 'openai' },
      cliVersion: '1.2.3',
    },
    { now: clock.now, touchWindowMs: 5_000 },
  );
  return { store, live, threadId, clock };
}

describe('LiveThread metadata worker (async, off the append path)', () => {
  it('append returns after history acceptance while metadata is blocked', async () => {
    const { store, live, threadId } = await setup();
    await live.appendItems([userMessage('first message')]);
    expect(store.appends).toBe(1);
    expect(store.updates).toBe(0);
    expect(live.metadataWorkerRunning).toBe(true);

    const u1 = await store.nextUpdate();
    // The held-back create patch is merged into the first derived patch.
    expect(u1.params.patch.preview).toBe('first message');
    expect(u1.params.patch.firstUserMessage).toBe('first message');
    expect(u1.params.patch.modelProvider).toBe('openai');
    expect(u1.params.patch.cliVersion).toBe('1.2.3');
    expect(u1.params.includeArchived).toBe(true);

    const flushed = live.flush();
    expect(await settled(flushed)).toBe(false);
    u1.complete();
    await flushed;
    expect(store.updates).toBe(1);
    const thread = await store.readThread({ threadId });
    expect(thread.preview).toBe('first message');
  });

  it('appends coalesce while a metadata update is in flight; flush does not wait for later metadata', async () => {
    const { store, live } = await setup();
    await live.appendItems([userMessage('first')]);
    const u1 = await store.nextUpdate();
    await live.appendItems([tokenCount(10)]);
    await live.appendItems([turnContext('gpt-test')]);
    expect(store.heldCount).toBe(0);
    u1.complete();

    const u2 = await store.nextUpdate();
    // Appends 2 and 3 went out as one update.
    expect(u2.params.patch.tokenUsage?.totalTokens).toBe(10);
    expect(u2.params.patch.model).toBe('gpt-test');

    const flushed = live.flush();
    expect(await settled(flushed)).toBe(false);
    // Accepted after the flush's barrier: the flush must not wait for it.
    await live.appendItems([tokenCount(20)]);
    u2.complete();
    await flushed;
    expect(store.updates).toBe(2);

    const u3 = await store.nextUpdate();
    expect(u3.params.patch.tokenUsage?.totalTokens).toBe(20);
    u3.complete();
    await live.flush();
    expect(store.appends).toBe(4);
    expect(store.updates).toBe(3);
  });

  it('a queued generation keeps its barrier when the in-flight update fails', async () => {
    const { store, live, threadId } = await setup();
    await live.appendItems([userMessage('first')]);
    const u1 = await store.nextUpdate();
    await live.appendItems([tokenCount(42)]);
    const flushed = live.flush();
    u1.fail(ThreadStoreError.conflict('in-flight failure'));

    // The worker retries at once with the merged patch.
    const retry = await store.nextUpdate();
    expect(retry.params.patch.preview).toBe('first');
    expect(retry.params.patch.tokenUsage?.totalTokens).toBe(42);
    expect(await settled(flushed)).toBe(false);
    retry.complete();
    await flushed;
    expect(store.updates).toBe(1);
    const thread = await store.readThread({ threadId });
    expect(thread.preview).toBe('first');
    expect(thread.tokenUsage?.totalTokens).toBe(42);
  });

  it('a failed async update is retried and reported by the next barrier', async () => {
    const { store, live } = await setup();
    await live.appendItems([userMessage('first')]);
    const u1 = await store.nextUpdate();
    u1.fail(ThreadStoreError.conflict('background failure'));
    // Not surfaced to anyone, and the worker stops instead of spinning.
    await settled(Promise.resolve());
    expect(live.metadataWorkerRunning).toBe(false);
    expect(store.heldCount).toBe(0);

    const f1 = live.flush();
    const retry = await store.nextUpdate();
    expect(retry.params.patch.preview).toBe('first');
    retry.fail(ThreadStoreError.conflict('barrier failure'));
    const err = await f1.then(
      () => null,
      (e: unknown) => e,
    );
    expect(isThreadStoreError(err, 'conflict')).toBe(true);
    expect((err as Error).message).toBe('barrier failure');

    const f2 = live.flush();
    (await store.nextUpdate()).complete();
    await f2;
    expect(store.updates).toBe(1);
  });

  it('shutdown waits for queued metadata before closing the store writer', async () => {
    const { store, live, threadId } = await setup();
    await live.appendItems([userMessage('hello')]);
    const u1 = await store.nextUpdate();
    const shut = live.shutdown();
    expect(await settled(shut)).toBe(false);
    expect(store.shutdowns).toBe(0);
    u1.complete();
    await shut;
    expect(store.shutdowns).toBe(1);
    expect(store.updates).toBe(1);
    expect((await store.readThread({ threadId })).preview).toBe('hello');
    await expect(live.appendItems([userMessage('late')])).rejects.toMatchObject({ code: 'not_found' });
  });

  it('discard waits for in-flight metadata before discarding the store writer', async () => {
    const { store, live } = await setup();
    await live.appendItems([userMessage('hello')]);
    const u1 = await store.nextUpdate();
    const discarded = live.discard();
    expect(await settled(discarded)).toBe(false);
    expect(store.discards).toBe(0);
    u1.complete();
    await discarded;
    expect(store.discards).toBe(1);
    // Idempotent, and the writer is gone.
    await live.discard();
    expect(store.discards).toBe(1);
    await expect(live.appendItems([userMessage('late')])).rejects.toMatchObject({ code: 'not_found' });
  });

  it('updatedAt touches from items with no new facts are coalesced to one per window', async () => {
    const clock = new TestClock();
    const { store, live, threadId } = await setup(clock);
    store.holdUpdates = false;
    await live.appendItems([userMessage('hi')]);
    await live.flush();
    expect(store.updates).toBe(1);

    clock.advance(1_000);
    await live.appendItems([agentMessage('one')]);
    clock.advance(1_000);
    await live.appendItems([agentMessage('two')]);
    await settled(Promise.resolve());
    // Inside the window: nothing emitted, the touch stays pending.
    expect(store.updates).toBe(1);

    clock.advance(5_000);
    await live.appendItems([agentMessage('three')]);
    await live.flush();
    expect(store.updates).toBe(2);
    expect((await store.readThread({ threadId })).updatedAt.getTime()).toBe(clock.ms);

    // A pending touch is written by the next barrier.
    clock.advance(100);
    await live.appendItems([agentMessage('four')]);
    await settled(Promise.resolve());
    expect(store.updates).toBe(2);
    await live.flush();
    expect(store.updates).toBe(3);
    expect((await store.readThread({ threadId })).updatedAt.getTime()).toBe(clock.ms);
  });

  it('later user messages emit only a touch, not preview fields', async () => {
    const clock = new TestClock();
    const { store, live, threadId } = await setup(clock);
    await live.appendItems([userMessage('first')]);
    (await store.nextUpdate()).complete();
    await live.flush();
    clock.advance(10);
    await live.appendItems([userMessage('second')]);
    await settled(Promise.resolve());
    expect(store.heldCount).toBe(0);
    const flushed = live.flush();
    const u2 = await store.nextUpdate();
    expect(Object.keys(u2.params.patch)).toEqual(['updatedAt']);
    u2.complete();
    await flushed;
    const thread = await store.readThread({ threadId });
    expect(thread.preview).toBe('first');
    expect(thread.firstUserMessage).toBe('first');
  });
});
