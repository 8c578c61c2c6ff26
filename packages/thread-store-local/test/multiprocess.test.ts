import { describe, expect, it } from 'vitest';
import { collectHistory, newThreadId } from '@skein/thread-store-api';
import { agentMsg, openStore, tmpHome, userMsg } from './helpers/home.js';
import { spawnChild } from './helpers/proc.js';

describe('two processes on one home', () => {
  it('one writes while the other lists and reads; a second writer for the same thread gets conflict', async () => {
    const home = tmpHome();
    const child = spawnChild([home, 'command']);
    try {
      expect(await child.next()).toEqual({ ready: true });
      const id = newThreadId();
      expect(await child.send({ op: 'create', threadId: id })).toMatchObject({ ok: true });
      const here = openStore(home);

      // The thread is held by the child: creating, resuming, archiving or deleting it here conflicts.
      const c = await here
        .createThread({ threadId: id, source: { kind: 'cli' }, metadata: { cwd: '/x', modelProvider: 'openai' } })
        .catch((e: unknown) => e);
      expect(c).toMatchObject({ code: 'conflict', message: expect.stringContaining('another process') });

      await child.send({
        op: 'append',
        threadId: id,
        items: [userMsg('written by the child'), agentMsg('first answer')],
      });
      // Not flushed yet: nothing to read.
      await expect(here.readThread({ threadId: id })).rejects.toMatchObject({ code: 'not_found' });
      expect(await child.send({ op: 'flush', threadId: id })).toMatchObject({ ok: true });

      expect((await here.listThreads({})).items.map((t) => t.threadId)).toEqual([id]);
      expect((await here.readThread({ threadId: id })).preview).toBe('written by the child');
      await expect(here.resumeThread({ threadId: id })).rejects.toMatchObject({ code: 'conflict' });
      await expect(here.archiveThread({ threadId: id })).rejects.toMatchObject({ code: 'conflict' });
      await expect(here.deleteThread({ threadId: id })).rejects.toMatchObject({ code: 'conflict' });
      // A name needs no writer lock (session_index.jsonl), as in Codex.
      await here.updateThreadMetadata({ threadId: id, patch: { name: 'to be cleared' } });
      await here.updateThreadMetadata({ threadId: id, patch: { name: null } });
      await here.updateThreadMetadata({ threadId: id, patch: { name: 'renamed from outside' } });
      // Other patches append to the rollout: refused while the child writes it.
      await expect(here.updateThreadMetadata({ threadId: id, patch: { model: 'x' } })).rejects.toMatchObject({
        code: 'conflict',
      });
      // A patch with a name and other fields is all or nothing: the name is not left behind.
      await expect(
        here.updateThreadMetadata({ threadId: id, patch: { name: 'must not stick', model: 'x' } }),
      ).rejects.toMatchObject({ code: 'conflict' });
      expect((await here.readThread({ threadId: id })).name).toBe('renamed from outside');

      await child.send({ op: 'append', threadId: id, items: [agentMsg('second answer')] });
      await child.send({ op: 'flush', threadId: id });
      const h = await collectHistory((await here.readThread({ threadId: id, includeHistory: true })).history);
      expect(h).toHaveLength(4);
      expect((await here.searchThreads({ searchTerm: 'second answer' })).items.map((r) => r.thread.name)).toEqual([
        'renamed from outside',
      ]);

      // Threads created here are seen by the child.
      const mine = newThreadId();
      await here.createThread({
        threadId: mine,
        source: { kind: 'cli' },
        metadata: { cwd: '/x', modelProvider: 'openai' },
      });
      await here.appendItems({ threadId: mine, items: [userMsg('written here') as never] });
      await here.flushThread(mine);
      const listed = await child.send({ op: 'list' });
      expect((listed.result as string[]).sort()).toEqual([id, mine].sort());
      // And the child cannot take it.
      expect(await child.send({ op: 'resume', threadId: mine })).toMatchObject({ ok: false, code: 'conflict' });

      // Once the child lets go, this process can take the thread.
      await child.send({ op: 'shutdown', threadId: id });
      await here.resumeThread({ threadId: id });
      await here.shutdownThread(id);
      await here.archiveThread({ threadId: id });
    } finally {
      child.proc.kill('SIGKILL');
      await child.exited;
    }
  });

  it('a writer lock held by a killed process is released', async () => {
    const home = tmpHome();
    const child = spawnChild([home, 'command']);
    await child.next();
    const id = newThreadId();
    await child.send({ op: 'create', threadId: id });
    await child.send({ op: 'append', threadId: id, items: [userMsg('then the process died')] });
    await child.send({ op: 'flush', threadId: id });
    child.proc.kill('SIGKILL');
    await child.exited;
    const here = openStore(home);
    await here.resumeThread({ threadId: id });
    await here.shutdownThread(id);
    await here.deleteThread({ threadId: id });
  });

  it('three processes index one home at the same time without errors', async () => {
    const home = tmpHome();
    const children = [spawnChild([home, 'command']), spawnChild([home, 'command'])];
    try {
      for (const c of children) expect(await c.next()).toEqual({ ready: true });
      const here = openStore(home);
      const ids: string[] = [];
      const writer = (async () => {
        for (let i = 0; i < 12; i++) {
          const id = newThreadId();
          ids.push(id);
          await here.createThread({
            threadId: id,
            source: { kind: 'cli' },
            metadata: { cwd: '/x', modelProvider: 'openai' },
          });
          await here.appendItems({
            threadId: id,
            items: [userMsg(`thread ${i}`) as never, agentMsg(`reply ${i}`) as never],
          });
          await here.shutdownThread(id);
          await here.listThreads({ pageSize: 100 });
        }
      })();
      const listers = children.map(async (c) => {
        for (let i = 0; i < 12; i++) {
          const r = await c.send({ op: 'list' });
          expect(r.message ?? null).toBeNull();
        }
      });
      await Promise.all([writer, ...listers]);
      for (const c of children) {
        const r = await c.send({ op: 'list' });
        expect((r.result as string[]).sort()).toEqual([...ids].sort());
      }
      expect((await here.searchThreads({ searchTerm: 'reply 11' })).items).toHaveLength(1);
    } finally {
      for (const c of children) c.proc.kill('SIGKILL');
      await Promise.all(children.map((c) => c.exited));
    }
  });
});
