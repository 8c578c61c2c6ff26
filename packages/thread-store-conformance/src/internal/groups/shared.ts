import { describe, expect, it } from 'vitest';
import { loadHistoryItems } from '@skein/thread-store-api';
import type { SuiteContext } from '../context.js';
import { at, createParams, expectCode, ids, seedThread, turnItems } from '../fixtures.js';

export function sharedStorageTests(ctx: SuiteContext): void {
  describe.skipIf(!ctx.harness.capabilities.sharedStorage)('two instances on the same storage', () => {
    it('B reads and lists what A flushed', async () => {
      const id = await seedThread(ctx.store, ctx.provider, { user: 'from A', keepLive: true });
      const b = await ctx.second();
      await expect(b.readThread({ threadId: id })).resolves.toMatchObject({ preview: 'from A' });
      expect(ids((await b.listThreads({})).items)).toEqual([id]);
      await ctx.store.appendItems({ threadId: id, items: turnItems('more from A', 'ok') });
      await ctx.store.flushThread(id);
      expect(JSON.stringify(await loadHistoryItems(b, { threadId: id }))).toContain('more from A');
      await ctx.store.shutdownThread(id);
    });

    it('B cannot create or resume a thread A holds live: conflict', async () => {
      const id = await seedThread(ctx.store, ctx.provider, { keepLive: true });
      const b = await ctx.second();
      await expectCode(b.resumeThread({ threadId: id }), 'conflict');
      await expectCode(b.createThread(createParams(ctx.provider, { threadId: id })), 'conflict');
      await expectCode(b.archiveThread({ threadId: id }), 'conflict');
      await expectCode(b.deleteThread({ threadId: id }), 'conflict');
      await ctx.store.shutdownThread(id);
      await b.resumeThread({ threadId: id });
      await expectCode(ctx.store.resumeThread({ threadId: id }), 'conflict');
      await b.appendItems({ threadId: id, items: turnItems('written by B', 'ok') });
      await b.shutdownThread(id);
      expect(JSON.stringify(await loadHistoryItems(ctx.store, { threadId: id }))).toContain('written by B');
    });

    it('a writer B discarded or shut down can be taken by A', async () => {
      const id = await seedThread(ctx.store, ctx.provider);
      const b = await ctx.second();
      await b.resumeThread({ threadId: id });
      await b.discardThread(id);
      await ctx.store.resumeThread({ threadId: id });
      await ctx.store.shutdownThread(id);
    });

    it('names, archives and deletes made by B are seen by A', async () => {
      const named = await seedThread(ctx.store, ctx.provider, { createdAt: at(1) });
      const archived = await seedThread(ctx.store, ctx.provider, { createdAt: at(2) });
      const deleted = await seedThread(ctx.store, ctx.provider, { createdAt: at(3) });
      const b = await ctx.second();
      await b.updateThreadMetadata({ threadId: named, patch: { name: 'named by B' } });
      await b.archiveThread({ threadId: archived });
      await b.deleteThread({ threadId: deleted });
      expect((await ctx.store.readThread({ threadId: named })).name).toBe('named by B');
      await expectCode(ctx.store.readThread({ threadId: archived }), 'not_found');
      await expectCode(ctx.store.readThread({ threadId: deleted, includeArchived: true }), 'not_found');
      expect(ids((await ctx.store.listThreads({})).items)).toEqual([named]);
    });

    it('threads created by both instances are all listed by each', async () => {
      const b = await ctx.second();
      const fromA = await seedThread(ctx.store, ctx.provider, { createdAt: at(1) });
      const fromB = await seedThread(b, ctx.provider, { createdAt: at(2) });
      expect(ids((await ctx.store.listThreads({})).items)).toEqual([fromB, fromA]);
      expect(ids((await b.listThreads({})).items)).toEqual([fromB, fromA]);
    });
  });
}
