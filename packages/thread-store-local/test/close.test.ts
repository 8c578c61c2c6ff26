import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { newThreadId, type ThreadId } from '@skein/thread-store-api';
import { LocalThreadStore } from '../src/index.js';
import { seeded } from './helpers/proc.js';
import { holdFlock, isFlocked } from './helpers/flock.js';
import { tmpHome } from './helpers/home.js';

async function makeThread(home: string): Promise<ThreadId> {
  const store = new LocalThreadStore({ home, watch: false });
  const threadId = newThreadId();
  await store.createThread({ threadId, source: { kind: 'cli' }, metadata: { cwd: '/tmp', modelProvider: 'openai' } });
  await store.appendItems({
    threadId,
    items: [{ type: 'event_msg', payload: { type: 'user_message', message: 'hi' } }],
  });
  await store.close();
  return threadId;
}

describe('close()', () => {
  it('waits for a resume still taking its lock, then releases it: no lock and no lock file survive', async () => {
    const home = tmpHome();
    const threadId = await makeThread(home);
    const dir = path.join(home, 'thread-writer-locks');
    const lockFile = path.join(dir, `${threadId}.lock`);
    const rand = seeded(4242);
    for (let round = 0; round < 25; round++) {
      const store = new LocalThreadStore({ home, watch: false });
      // Sometimes the resume has to wait for coordination, so close() starts in the middle of it.
      const free = round % 2 === 1 ? holdFlock(path.join(dir, '.coordination.lock'), 'exnb') : null;
      const resumed = store.resumeThread({ threadId }).then(
        () => 'resumed',
        (e: { code?: string }) => e.code ?? 'error',
      );
      await new Promise((r) => setTimeout(r, Math.floor(rand() * 5)));
      const closed = store.close();
      if (free) setTimeout(free, 20 + Math.floor(rand() * 60));
      await closed;
      const outcome = await resumed;
      // Either the resume finished before close took over (and close shut it down) or it was refused.
      expect(['resumed', 'invalid_request']).toContain(outcome);
      expect(isFlocked(lockFile)).toBe(false);
      expect(existsSync(lockFile)).toBe(false);
    }
    expect(readdirSync(dir)).toEqual(['.coordination.lock']);
    // The thread is free for the next writer.
    const next = new LocalThreadStore({ home, watch: false });
    await next.resumeThread({ threadId });
    await next.close();
  });

  it('a flush and a metadata update under way when close() starts complete first', async () => {
    const home = tmpHome();
    const threadId = await makeThread(home);
    const store = new LocalThreadStore({ home, watch: false });
    await store.resumeThread({ threadId });
    await store.appendItems({
      threadId,
      items: [{ type: 'event_msg', payload: { type: 'agent_message', message: 'before close' } }],
    });
    const flushed = store.flushThread(threadId);
    const updated = store.updateThreadMetadata({ threadId, patch: { model: 'closing-model' } });
    await store.close();
    await flushed;
    expect((await updated).model).toBe('closing-model');
    const reader = new LocalThreadStore({ home, watch: false });
    try {
      const t = await reader.readThread({ threadId });
      expect(t.model).toBe('closing-model');
    } finally {
      await reader.close();
    }
    expect(existsSync(path.join(home, 'thread-writer-locks', `${threadId}.lock`))).toBe(false);
  });
});
