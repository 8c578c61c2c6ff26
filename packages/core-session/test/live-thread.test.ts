import { existsSync } from 'node:fs';
import { collectHistory, isThreadStoreError, newThreadId } from '@skein/thread-store-api';
import type { RolloutItem, ThreadId, ThreadStore } from '@skein/thread-store-api';
import { afterEach, describe, expect, it } from 'vitest';
import { LiveThread, LiveThreadInitGuard } from '../src/index.js';
import {
  agentMessage,
  ControlledThreadStore,
  TestClock,
  taskStarted,
  userMessage,
} from './support/controlled-store.js';
import { inMemoryFactory, localFactory } from './support/stores.js';
import type { StoreFactory, StoreHarness } from './support/stores.js';

const factories: StoreFactory[] = [inMemoryFactory];
const local = await localFactory();
if (local) factories.push(local);

async function errorOf(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => null,
    (e: unknown) => e,
  );
}

describe.each(factories)('LiveThread lifecycle over $name', (factory) => {
  let h: StoreHarness;
  const harnesses: StoreHarness[] = [];
  afterEach(async () => {
    for (const x of harnesses.splice(0)) await x.cleanup();
  });
  async function open(now?: () => Date): Promise<StoreHarness> {
    h = await factory.make(now ? { now } : {});
    harnesses.push(h);
    return h;
  }
  const create = (
    store: ThreadStore,
    threadId: ThreadId,
    extra: Partial<Parameters<typeof LiveThread.create>[1]> = {},
    clock?: TestClock,
  ) =>
    LiveThread.create(
      store,
      {
        threadId,
        source: { kind: 'cli' },
        metadata: { cwd: h.cwd, modelProvider: 'openai' },
        cliVersion: '0.1.0',
        ...extra,
      },
      clock ? { now: clock.now } : {},
    );

  it('a created thread that never gets an item leaves no trace', async () => {
    await open();
    const id = newThreadId();
    const live = await create(h.store, id);
    await live.flush();
    await live.shutdown();
    expect(isThreadStoreError(await errorOf(h.store.readThread({ threadId: id })), 'not_found')).toBe(true);
    const page = await h.store.listThreads({ modelProviders: [] });
    expect(page.items).toHaveLength(0);
    // The id is free again.
    const again = await create(h.store, id);
    await again.discard();
  });

  it('appends, flushes and derives metadata; appends after shutdown are not_found', async () => {
    await open();
    const id = newThreadId();
    const live = await create(h.store, id);
    await live.appendItems([userMessage('fix the failing test'), agentMessage('done')]);
    await live.flush();
    const thread = await live.readThread({ includeHistory: true });
    expect(thread.preview).toBe('fix the failing test');
    expect(thread.firstUserMessage).toBe('fix the failing test');
    expect(thread.cwd).toBe(h.cwd);
    const history = await collectHistory(thread.history);
    expect(history.map((i) => i.type)).toEqual(['session_meta', 'event_msg', 'event_msg']);
    await live.shutdown();
    expect(isThreadStoreError(await errorOf(live.appendItems([userMessage('late')])), 'not_found')).toBe(true);
    expect(isThreadStoreError(await errorOf(live.flush()), 'not_found')).toBe(true);
    expect(isThreadStoreError(await errorOf(live.shutdown()), 'not_found')).toBe(true);
  });

  it('persist materializes an empty thread', async () => {
    await open();
    const id = newThreadId();
    const live = await create(h.store, id);
    await live.persist();
    const thread = await h.store.readThread({ threadId: id });
    expect(thread.preview).toBe('');
    expect(thread.modelProvider).toBe('openai');
    await live.shutdown();
  });

  it('resume loads the history before observing metadata, held back until the first append', async () => {
    await open();
    const id = newThreadId();
    const createdAt = new Date('2025-03-04T05:06:07.000Z');
    const first = await create(h.store, id, { createdAt });
    await first.appendItems([userMessage('original request')]);
    await first.shutdown();

    const counting = new ControlledThreadStore(h.store);
    counting.holdUpdates = false;
    const live = await LiveThread.resume(counting, {
      threadId: id,
      metadata: { modelProvider: 'other-provider', cwd: h.cwd },
    });
    await live.flush();
    expect(counting.updates).toBe(0);
    await live.appendItems([agentMessage('resumed')]);
    await live.flush();
    expect(counting.updates).toBe(1);
    const thread = await live.readThread();
    expect(thread.createdAt.toISOString()).toBe(createdAt.toISOString());
    expect(thread.modelProvider).toBe('openai');
    expect(thread.firstUserMessage).toBe('original request');
    const history = await collectHistory(live.loadHistory());
    expect(history.at(-1)).toMatchObject({ type: 'event_msg', payload: { type: 'agent_message', message: 'resumed' } });
    await live.shutdown();
  });

  it('resume with a given history does not reload it', async () => {
    await open();
    const id = newThreadId();
    const first = await create(h.store, id);
    await first.appendItems([userMessage('hello')]);
    await first.shutdown();
    const history = await collectHistory(h.store.loadHistory({ threadId: id }));
    let loads = 0;
    const spy: ThreadStore = Object.create(h.store) as ThreadStore;
    spy.loadHistory = (p) => {
      loads += 1;
      return h.store.loadHistory(p);
    };
    const live = await LiveThread.resume(spy, { threadId: id, history });
    expect(loads).toBe(0);
    await live.shutdown();
  });

  it('recencyAt advances on turn starts only', async () => {
    const clock = new TestClock();
    await open(clock.now);
    const id = newThreadId();
    const live = await create(h.store, id, { createdAt: clock.now() }, clock);
    // Explicit line times so every store sees the test clock, not the wall clock.
    const at = <T extends object>(item: T): T => ({ ...item, timestamp: clock.now().toISOString() });
    await live.appendItems([at(userMessage('hi'))]);
    await live.flush();
    const t0 = await live.readThread();
    clock.advance(60_000);
    await live.appendItems([at(agentMessage('output only'))]);
    await live.flush();
    const t1 = await live.readThread();
    expect(t1.recencyAt.getTime()).toBe(t0.recencyAt.getTime());
    clock.advance(60_000);
    await live.appendItems([at(taskStarted('turn-2'))]);
    await live.flush();
    const t2 = await live.readThread();
    expect(t2.recencyAt.getTime()).toBe(clock.ms);
    await live.shutdown();
  });

  it('discard drops unflushed items and keeps the durable prefix', async () => {
    await open();
    const id = newThreadId();
    const live = await create(h.store, id);
    await live.appendItems([userMessage('kept')]);
    await live.flush();
    await live.appendItems([userMessage('dropped')]);
    await live.discard();
    await live.discard();
    expect(isThreadStoreError(await errorOf(live.appendItems([userMessage('x')])), 'not_found')).toBe(true);
    const again = await LiveThread.resume(h.store, { threadId: id });
    const history = await collectHistory(again.loadHistory());
    const texts = history.filter((i) => i.type === 'event_msg').map((i) => (i.payload as { message?: string }).message);
    expect(texts).toEqual(['kept']);
    await again.shutdown();
  });

  it('updateMetadata writes pending derived metadata first, then the patch', async () => {
    await open();
    const id = newThreadId();
    const live = await create(h.store, id);
    const updated = await live.updateMetadata({ name: 'My thread' });
    expect(updated.name).toBe('My thread');
    expect(updated.modelProvider).toBe('openai');
    await live.appendItems([userMessage('later')]);
    await live.shutdown();
    const read = await h.store.readThread({ threadId: id });
    expect(read.name).toBe('My thread');
    expect(read.preview).toBe('later');
  });

  it('the init guard discards the writer when start-up fails and keeps it on commit', async () => {
    await open();
    const id = newThreadId();
    const failingStartUp = async () => {
      await using guard = new LiveThreadInitGuard(await create(h.store, id));
      expect(guard.thread?.isOpen).toBe(true);
      throw new Error('start-up failed');
    };
    await expect(failingStartUp()).rejects.toThrow('start-up failed');
    // Nothing was written, and the writer is gone: the same id can be created again (no conflict).
    expect(isThreadStoreError(await errorOf(h.store.readThread({ threadId: id })), 'not_found')).toBe(true);
    let committed: LiveThread | undefined;
    {
      await using guard = new LiveThreadInitGuard(await create(h.store, id));
      committed = guard.commit();
    }
    await committed.appendItems([userMessage('after commit')]);
    await committed.shutdown();
    expect((await h.store.readThread({ threadId: id })).preview).toBe('after commit');
  });

  it('an ephemeral thread never touches the store but is readable while loaded', async () => {
    await open();
    const id = newThreadId();
    const live = await create(h.store, id, { ephemeral: true });
    await live.appendItems([userMessage('secret'), agentMessage('ok')]);
    await live.flush();
    const thread = await live.readThread({ includeHistory: true });
    expect(thread.preview).toBe('secret');
    expect(thread.rolloutPath).toBeNull();
    expect((await collectHistory(thread.history)).map((i: RolloutItem) => i.type)).toEqual([
      'session_meta',
      'event_msg',
      'event_msg',
    ]);
    expect(await live.localRolloutPath()).toBeNull();
    expect(isThreadStoreError(await errorOf(live.requireLocalRolloutPath()), 'unsupported')).toBe(true);
    await live.shutdown();
    expect(isThreadStoreError(await errorOf(h.store.readThread({ threadId: id })), 'not_found')).toBe(true);
    expect((await h.store.listThreads({ modelProviders: [] })).items).toHaveLength(0);
  });

  it('a rollout path is available only when the store keeps local files', async () => {
    await open();
    const id = newThreadId();
    const live = await create(h.store, id);
    await live.appendItems([userMessage('where am I')]);
    if (factory.localPaths) {
      const p = await live.requireLocalRolloutPath();
      expect(existsSync(p)).toBe(true);
    } else {
      const err = await errorOf(live.requireLocalRolloutPath());
      expect(isThreadStoreError(err, 'unsupported')).toBe(true);
      expect((err as Error).message).toMatch(/remote/);
      expect(await live.localRolloutPath()).toBeNull();
    }
    await live.shutdown();
  });
});

describe('LiveThread git info', () => {
  it('records the commit, branch and origin of the cwd repository at create', async () => {
    const { mkdtemp, mkdir, writeFile, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const path = await import('node:path');
    const { InMemoryThreadStore } = await import('@skein/thread-store-api');
    const repo = await mkdtemp(path.join(tmpdir(), 'skein-git-'));
    try {
      const sha = 'a'.repeat(40);
      await mkdir(path.join(repo, '.git', 'refs', 'heads'), { recursive: true });
      await writeFile(path.join(repo, '.git', 'HEAD'), 'ref: refs/heads/main\n');
      await writeFile(path.join(repo, '.git', 'refs', 'heads', 'main'), `${sha}\n`);
      await writeFile(
        path.join(repo, '.git', 'config'),
        '[core]\n\tbare = false\n[remote "origin"]\n\turl = https://example.com/repo.git\n',
      );
      const cwd = path.join(repo, 'sub', 'dir');
      await mkdir(cwd, { recursive: true });
      const store = new InMemoryThreadStore();
      const live = await LiveThread.create(store, {
        threadId: newThreadId(),
        source: { kind: 'cli' },
        metadata: { cwd, modelProvider: 'openai' },
      });
      await live.appendItems([userMessage('in a repo')]);
      await live.flush();
      expect((await live.readThread()).gitInfo).toEqual({
        sha,
        branch: 'main',
        originUrl: 'https://example.com/repo.git',
      });
      const history = await collectHistory(live.loadHistory());
      expect(history[0]?.payload).toMatchObject({
        git: { commit_hash: sha, branch: 'main', repository_url: 'https://example.com/repo.git' },
      });
      await live.shutdown();

      const none = await LiveThread.create(store, {
        threadId: newThreadId(),
        source: { kind: 'cli' },
        gitInfo: null,
        metadata: { cwd, modelProvider: 'openai' },
      });
      await none.appendItems([userMessage('no git please')]);
      await none.flush();
      expect((await none.readThread()).gitInfo).toBeNull();
      await none.shutdown();
    } finally {
      await rm(repo, { recursive: true, force: true });
    }
  });
});

describe('LiveThread bad input', () => {
  it('rejects malformed params with invalid_request, never a TypeError', async () => {
    const { InMemoryThreadStore } = await import('@skein/thread-store-api');
    const store = new InMemoryThreadStore();
    const bad: unknown[] = [
      null,
      {},
      { threadId: 'not-a-uuid', source: { kind: 'cli' }, metadata: { cwd: '/p', modelProvider: 'x' } },
      { threadId: newThreadId(), source: { kind: 'cli' } },
      { threadId: newThreadId(), source: { kind: 'cli' }, metadata: { cwd: '/p', modelProvider: '' } },
    ];
    for (const params of bad) {
      const err = await errorOfCall(() => LiveThread.create(store, params as never));
      expect(isThreadStoreError(err, 'invalid_request'), JSON.stringify(params)).toBe(true);
    }
    for (const params of [null, { threadId: '../x' }, { threadId: newThreadId(), history: 'nope' }]) {
      const err = await errorOfCall(() => LiveThread.resume(store, params as never));
      expect(isThreadStoreError(err, 'invalid_request'), JSON.stringify(params)).toBe(true);
    }
  });
});

async function errorOfCall(f: () => Promise<unknown>): Promise<unknown> {
  try {
    await f();
    return null;
  } catch (e) {
    return e;
  }
}
