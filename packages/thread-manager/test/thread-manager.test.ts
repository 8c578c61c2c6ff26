import { existsSync } from 'node:fs';
import { EchoModelClient, LiveThread, TURN_ABORTED_MARKER } from '@skein/core-session';
import type { SessionEvent, SessionEventMsg } from '@skein/core-session';
import { collectHistory, isObject, isThreadStoreError, newThreadId } from '@skein/thread-store-api';
import type { RolloutItem } from '@skein/thread-store-api';
import { afterEach, describe, expect, it } from 'vitest';
import { ThreadManager } from '../src/index.js';
import type { CodexThread } from '../src/index.js';
import { factories } from './stores.js';
import type { StoreHarness } from './stores.js';

async function errorOf(p: Promise<unknown> | (() => unknown)): Promise<unknown> {
  try {
    await (typeof p === 'function' ? p() : p);
    return null;
  } catch (e) {
    return e;
  }
}

const readers = new WeakMap<CodexThread, AsyncIterator<SessionEvent>>();
async function until(thread: CodexThread, type: SessionEventMsg['type']): Promise<SessionEventMsg[]> {
  let it = readers.get(thread);
  if (!it) {
    it = thread.events()[Symbol.asyncIterator]();
    readers.set(thread, it);
  }
  const out: SessionEventMsg[] = [];
  for (;;) {
    const r = await it.next();
    if (r.done) throw new Error(`events ended before ${type}`);
    out.push(r.value.msg);
    if (r.value.msg.type === type) return out;
  }
}

async function turn(thread: CodexThread, text: string): Promise<void> {
  thread.submit({ type: 'user_turn', items: [{ type: 'text', text }] });
  await until(thread, 'turn_complete');
}

function kinds(items: readonly RolloutItem[]): string[] {
  return items.map((i) => {
    const p = isObject(i.payload) ? i.payload : {};
    if (i.type === 'event_msg') return `event_msg:${String(p.type)}`;
    if (i.type === 'response_item') return `response_item:${String(p.role)}`;
    return i.type;
  });
}

const TURN = [
  'event_msg:task_started',
  'turn_context',
  'response_item:user',
  'event_msg:user_message',
  'event_msg:agent_message',
  'response_item:assistant',
  'event_msg:token_count',
  'event_msg:task_complete',
];

describe.each(factories)('ThreadManager over $name', (factory) => {
  const harnesses: StoreHarness[] = [];
  const managers: ThreadManager[] = [];
  afterEach(async () => {
    for (const m of managers.splice(0)) await m.shutdownAll();
    for (const h of harnesses.splice(0)) await h.cleanup();
  });
  async function setup(): Promise<{ h: StoreHarness; m: ThreadManager }> {
    const h = await factory.make();
    harnesses.push(h);
    const m = new ThreadManager({
      store: h.store,
      model: new EchoModelClient({ provider: 'openai', model: 'echo-1' }),
      defaults: { cwd: h.cwd, cliVersion: '0.1.0' },
    });
    managers.push(m);
    return { h, m };
  }

  it('starts a thread, routes ops to it and reports its metadata', async () => {
    const { h, m } = await setup();
    const t = await m.startThread();
    expect(m.listLoaded()).toEqual([t.threadId]);
    expect(m.getThread(t.threadId)).toBe(t);
    const before = await t.metadata();
    expect(before).toMatchObject({
      threadId: t.threadId,
      model: 'echo-1',
      modelProvider: 'openai',
      cwd: h.cwd,
      source: { kind: 'cli' },
      ephemeral: false,
      rolloutPath: null,
    });

    const sub = m.routeOp(t.threadId, { type: 'user_turn', items: [{ type: 'text', text: 'routed' }] });
    expect(typeof sub).toBe('string');
    await until(t, 'turn_complete');
    const meta = await t.metadata();
    if (factory.localPaths) {
      expect(meta.rolloutPath).not.toBeNull();
      expect(existsSync(meta.rolloutPath as string)).toBe(true);
    } else {
      expect(meta.rolloutPath).toBeNull();
    }
    await t.shutdown();
    await t.shutdown();
    expect(m.listLoaded()).toEqual([]);
    expect((await h.store.readThread({ threadId: t.threadId })).preview).toBe('routed');
  });

  it('resumes by id, returns the loaded handle when already loaded, and appends after the history', async () => {
    const { h, m } = await setup();
    const t = await m.startThread();
    await turn(t, 'one');
    await t.shutdown();

    const [r1, r2] = await Promise.all([
      m.resumeThread({ threadId: t.threadId }),
      m.resumeThread({ threadId: t.threadId }),
    ]);
    expect(r1).toBe(r2);
    expect(await m.resumeThread({ threadId: t.threadId })).toBe(r1);
    expect((await r1.metadata()).cwd).toBe(h.cwd);
    await turn(r1, 'two');
    await r1.shutdown();
    const history = await collectHistory(h.store.loadHistory({ threadId: t.threadId }));
    expect(kinds(history)).toEqual(['session_meta', ...TURN, ...TURN]);
  });

  it('resumes from a given history', async () => {
    const { h, m } = await setup();
    const t = await m.startThread();
    await turn(t, 'given');
    await t.shutdown();
    const history = await collectHistory(h.store.loadHistory({ threadId: t.threadId }));
    const r = await m.resumeThread({ threadId: t.threadId, history });
    await turn(r, 'after');
    await r.shutdown();
    expect(kinds(await collectHistory(h.store.loadHistory({ threadId: t.threadId })))).toEqual([
      'session_meta',
      ...TURN,
      ...TURN,
    ]);
  });

  it('resuming a thread another process is writing fails with conflict', async () => {
    const { h, m } = await setup();
    const t = await m.startThread();
    await turn(t, 'busy');
    const other = new ThreadManager({ store: h.reopen(), model: new EchoModelClient({ provider: 'openai' }) });
    managers.push(other);
    const err = await errorOf(other.resumeThread({ threadId: t.threadId }));
    expect(isThreadStoreError(err, 'conflict')).toBe(true);
    expect(other.listLoaded()).toEqual([]);
  });

  it('forks at a chosen turn in the legacy fork shape', async () => {
    const { h, m } = await setup();
    const parent = await m.startThread();
    await turn(parent, 'first question');
    await turn(parent, 'second question');

    const fork = await m.forkThread({ threadId: parent.threadId, turns: 1 });
    expect((await fork.metadata()).forkedFromId).toBe(parent.threadId);
    await fork.shutdown();
    const read = await h.store.readThread({ threadId: fork.threadId, includeHistory: true });
    expect(read.forkedFromId).toBe(parent.threadId);
    expect(read.preview).toBe('first question');
    const history = await collectHistory(read.history);
    expect(kinds(history)).toEqual(['session_meta', 'session_meta', ...TURN]);
    expect(history[0]?.payload).toMatchObject({ id: fork.threadId, forked_from_id: parent.threadId });
    expect(history[1]?.payload).toMatchObject({ id: parent.threadId });
    const userMessages = history.filter((i) => isObject(i.payload) && i.payload.type === 'user_message');
    expect(userMessages.map((i) => (i.payload as { message: string }).message)).toEqual(['first question']);

    // Without a turn count the whole history is copied; the parent is untouched and still loaded.
    const whole = await m.forkThread({ threadId: parent.threadId });
    await whole.shutdown();
    expect(kinds(await collectHistory(h.store.loadHistory({ threadId: whole.threadId })))).toEqual([
      'session_meta',
      'session_meta',
      ...TURN,
      ...TURN,
    ]);
    expect(m.listLoaded()).toEqual([parent.threadId]);
    const err = await errorOf(m.forkThread({ threadId: parent.threadId, turns: 3 }));
    expect(isThreadStoreError(err, 'invalid_request')).toBe(true);
  });

  it('a fork marks an unfinished last turn as aborted', async () => {
    const { h, m } = await setup();
    const parentId = newThreadId();
    const live = await LiveThread.create(h.store, {
      threadId: parentId,
      source: { kind: 'cli' },
      metadata: { cwd: h.cwd, modelProvider: 'openai' },
    });
    await live.appendItems([
      { type: 'event_msg', payload: { type: 'task_started', turn_id: 'turn-1' } },
      {
        type: 'turn_context',
        payload: { cwd: h.cwd, model: 'echo-1', approval_policy: 'never', sandbox_policy: { type: 'read-only' } },
      },
      {
        type: 'response_item',
        payload: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'cut short' }] },
      },
      {
        type: 'event_msg',
        payload: { type: 'user_message', message: 'cut short', images: [], local_images: [], text_elements: [] },
      },
    ]);
    await live.shutdown();

    const fork = await m.forkThread({ threadId: parentId });
    await fork.shutdown();
    const history = await collectHistory(h.store.loadHistory({ threadId: fork.threadId }));
    expect(kinds(history)).toEqual([
      'session_meta',
      'session_meta',
      'event_msg:task_started',
      'turn_context',
      'response_item:user',
      'event_msg:user_message',
      'event_msg:turn_aborted',
      'response_item:user',
    ]);
    expect(history[6]?.payload).toMatchObject({ type: 'turn_aborted', turn_id: 'turn-1', reason: 'interrupted' });
    expect((history[7]?.payload as { content: Array<{ text: string }> }).content[0]?.text).toBe(TURN_ABORTED_MARKER);
  });

  it('getThread, routeOp and removeThread on loaded and unknown threads', async () => {
    const { m } = await setup();
    const unknown = newThreadId();
    expect(isThreadStoreError(await errorOf(() => m.getThread(unknown)), 'not_found')).toBe(true);
    expect(isThreadStoreError(await errorOf(() => m.routeOp(unknown, { type: 'interrupt' })), 'not_found')).toBe(true);
    expect(isThreadStoreError(await errorOf(() => m.getThread('../etc/passwd')), 'invalid_request')).toBe(true);
    for (const call of [
      () => m.resumeThread(null as never),
      () => m.forkThread(null as never),
      () => m.startThread(null as never),
      () => m.forkThread({ threadId: newThreadId(), turns: -1 }),
      () => new ThreadManager(null as never),
    ]) {
      const err = await errorOf(call);
      expect(isThreadStoreError(err, 'invalid_request') || isThreadStoreError(err, 'not_found'), String(err)).toBe(
        true,
      );
    }
    const t = await m.startThread();
    expect(isThreadStoreError(await errorOf(m.startThread({ threadId: t.threadId })), 'conflict')).toBe(true);
    expect(m.removeThread(t.threadId)).toBe(t);
    expect(m.removeThread(t.threadId)).toBeUndefined();
    expect(m.listLoaded()).toEqual([]);
    await t.shutdown();
  });

  it('updates metadata through the LiveThread when loaded and straight in the store when cold', async () => {
    const { h, m } = await setup();
    const t = await m.startThread();
    await turn(t, 'rename me');
    const loaded = await m.updateThreadMetadata(t.threadId, { name: 'Loaded name' });
    expect(loaded.name).toBe('Loaded name');
    await t.shutdown();
    const cold = await m.updateThreadMetadata(t.threadId, { name: 'Cold name' });
    expect(cold.name).toBe('Cold name');
    expect((await h.store.readThread({ threadId: t.threadId })).name).toBe('Cold name');
    expect(isThreadStoreError(await errorOf(m.updateThreadMetadata(newThreadId(), { name: 'x' })), 'not_found')).toBe(
      true,
    );
  });

  it('ephemeral threads stay out of the store', async () => {
    const { h, m } = await setup();
    const t = await m.startThread({ ephemeral: true });
    await turn(t, 'private');
    expect(await t.metadata()).toMatchObject({ ephemeral: true, rolloutPath: null });
    expect((await t.readThread()).preview).toBe('private');
    await t.shutdown();
    expect((await h.store.listThreads({ modelProviders: [] })).items).toHaveLength(0);
  });

  it('resuming from a rollout path needs a store with local files', async () => {
    const { h, m } = await setup();
    const t = await m.startThread();
    await turn(t, 'by path');
    const meta = await t.metadata();
    await t.shutdown();
    if (factory.localPaths) {
      const r = await m.resumeThreadFromRolloutPath(meta.rolloutPath as string);
      expect(r.threadId).toBe(t.threadId);
      await r.shutdown();
    } else {
      const err = await errorOf(m.resumeThreadFromRolloutPath('/tmp/rollout.jsonl'));
      expect(isThreadStoreError(err, 'unsupported')).toBe(true);
      expect((err as Error).message).toMatch(/remote/);
    }
    void h;
  });

  it('shutdownAll shuts every loaded thread down', async () => {
    const { h, m } = await setup();
    const a = await m.startThread();
    const b = await m.startThread();
    await turn(a, 'a');
    b.submit({ type: 'user_turn', items: [{ type: 'text', text: 'b' }] });
    await m.shutdownAll();
    expect(a.isShutDown && b.isShutDown).toBe(true);
    expect(m.listLoaded()).toEqual([]);
    expect(isThreadStoreError(await errorOf(m.startThread()), 'invalid_request')).toBe(true);
    expect((await h.store.readThread({ threadId: a.threadId })).preview).toBe('a');
  });
});
