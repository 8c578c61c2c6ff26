import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { InMemoryThreadStore, newThreadId } from '@skein/thread-store-api';
import type { ThreadStore } from '@skein/thread-store-api';
import { LocalThreadStore } from '@skein/thread-store-local';
import { afterEach, describe, expect, it } from 'vitest';
import { EchoModelClient, LiveThread, Session } from '../src/index.js';

/** A store that records the order of the calls a resume makes. */
function recording(store: ThreadStore, calls: string[]): ThreadStore {
  return new Proxy(store, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => {
        calls.push(String(prop));
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('resume takes the writer lock before it reads the history', () => {
  it('LiveThread.resume and Session.resume open the writer first, then load', async () => {
    const base = new InMemoryThreadStore({ defaultModelProvider: 'openai' });
    const id = newThreadId();
    await base.createThread({
      threadId: id,
      source: { kind: 'cli' },
      metadata: { cwd: '/tmp', modelProvider: 'openai' },
    });
    await base.appendItems({
      threadId: id,
      items: [{ type: 'event_msg', payload: { type: 'user_message', message: 'hi', images: [], local_images: [] } }],
    });
    await base.shutdownThread(id);

    const calls: string[] = [];
    const live = await LiveThread.resume(recording(base, calls), { threadId: id });
    expect(calls.slice(0, 2)).toEqual(['resumeThread', 'loadHistory']);
    expect(live.resumedHistory.length).toBeGreaterThan(0);
    await live.shutdown();

    calls.length = 0;
    const session = await Session.resume({ store: recording(base, calls), model: new EchoModelClient(), threadId: id });
    expect(calls.slice(0, 2)).toEqual(['resumeThread', 'loadHistory']);
    session.submit({ type: 'shutdown' });
    await session.done;
  });

  it('a thread another writer holds is refused before any history is read', async () => {
    const home = await mkdtemp(path.join(tmpdir(), 'skein-resume-order-'));
    const holder = new LocalThreadStore({ home });
    const other = new LocalThreadStore({ home });
    cleanups.push(async () => {
      await holder.close();
      await other.close();
      await rm(home, { recursive: true, force: true });
    });
    const id = newThreadId();
    await holder.createThread({
      threadId: id,
      source: { kind: 'cli' },
      metadata: { cwd: home, modelProvider: 'openai' },
    });
    await holder.persistThread(id);
    const calls: string[] = [];
    await expect(LiveThread.resume(recording(other, calls), { threadId: id })).rejects.toMatchObject({
      code: 'conflict',
    });
    expect(calls).toEqual(['resumeThread']);
  });
});
