import { describe, expect, it } from 'vitest';
import { loadHistoryItems } from '@skein/thread-store-api';
import type { SuiteContext } from '../context.js';
import { at, createParams, expectCode, ids, seedThread, turnItems } from '../fixtures.js';

export function durabilityTests(ctx: SuiteContext): void {
  describe.skipIf(!ctx.harness.capabilities.reopen)('durability (reopen)', () => {
    it('flushed items and derived metadata are there after reopening', async () => {
      const id = await seedThread(ctx.store, ctx.provider, {
        createdAt: at(4),
        user: 'survive a restart',
        model: 'm-1',
        effort: 'low',
      });
      const history = await loadHistoryItems(ctx.store, { threadId: id });
      const before = await ctx.store.readThread({ threadId: id });
      const store = await ctx.reopen();
      expect(await loadHistoryItems(store, { threadId: id })).toEqual(history);
      const after = await store.readThread({ threadId: id });
      expect(after).toMatchObject({
        threadId: id,
        preview: 'survive a restart',
        model: 'm-1',
        reasoningEffort: 'low',
        createdAt: before.createdAt,
        recencyAt: before.recencyAt,
        cwd: before.cwd,
        modelProvider: before.modelProvider,
      });
    });

    it('patched metadata, including the name, survives a reopen', async () => {
      const id = await seedThread(ctx.store, ctx.provider);
      const updatedAt = new Date(Date.UTC(2031, 0, 1, 0, 0, 0, 5));
      await ctx.store.updateThreadMetadata({
        threadId: id,
        patch: {
          name: 'Durable name',
          gitInfo: { sha: 'fff000', branch: 'release' },
          advanceRecencyAt: at(500),
          updatedAt,
          model: 'patched',
        },
      });
      const before = await ctx.store.readThread({ threadId: id });
      const store = await ctx.reopen();
      const after = await store.readThread({ threadId: id });
      expect(after).toMatchObject({
        name: 'Durable name',
        gitInfo: { sha: 'fff000', branch: 'release', originUrl: null },
        model: 'patched',
      });
      expect(after.recencyAt.toISOString()).toBe(at(500).toISOString());
      expect(after.updatedAt.toISOString()).toBe(updatedAt.toISOString());
      expect(after).toEqual(before);
    });

    it('a cleared name stays cleared after a reopen', async () => {
      const id = await seedThread(ctx.store, ctx.provider);
      await ctx.store.updateThreadMetadata({ threadId: id, patch: { name: 'temporary' } });
      await ctx.store.updateThreadMetadata({ threadId: id, patch: { name: null } });
      const store = await ctx.reopen();
      expect((await store.readThread({ threadId: id })).name).toBeNull();
    });

    it('archive state and deletions survive a reopen', async () => {
      const archived = await seedThread(ctx.store, ctx.provider, { createdAt: at(1) });
      const deleted = await seedThread(ctx.store, ctx.provider, { createdAt: at(2) });
      const kept = await seedThread(ctx.store, ctx.provider, { createdAt: at(3) });
      await ctx.store.archiveThread({ threadId: archived });
      await ctx.store.deleteThread({ threadId: deleted });
      const store = await ctx.reopen();
      expect(ids((await store.listThreads({})).items)).toEqual([kept]);
      expect(ids((await store.listThreads({ archived: true })).items)).toEqual([archived]);
      await expectCode(store.readThread({ threadId: deleted, includeArchived: true }), 'not_found');
      await expectCode(store.readThread({ threadId: archived }), 'not_found');
    });

    it('close() flushes live writers, and the reopened store can resume them', async () => {
      const p = createParams(ctx.provider);
      await ctx.store.createThread(p);
      await ctx.store.appendItems({ threadId: p.threadId, items: turnItems('written before close', 'ok') });
      const store = await ctx.reopen();
      const t = await store.readThread({ threadId: p.threadId });
      expect(t.preview).toBe('written before close');
      await store.resumeThread({ threadId: p.threadId });
      await store.appendItems({ threadId: p.threadId, items: turnItems('after reopen', 'ok') });
      await store.shutdownThread(p.threadId);
      const text = JSON.stringify(await loadHistoryItems(store, { threadId: p.threadId }));
      expect(text.indexOf('written before close')).toBeLessThan(text.indexOf('after reopen'));
    });

    it('items dropped by a discard stay gone after a reopen', async () => {
      const p = createParams(ctx.provider);
      await ctx.store.createThread(p);
      await ctx.store.appendItems({ threadId: p.threadId, items: turnItems('kept', 'ok') });
      await ctx.store.flushThread(p.threadId);
      await ctx.store.appendItems({ threadId: p.threadId, items: turnItems('discarded', 'no') });
      await ctx.store.discardThread(p.threadId);
      const store = await ctx.reopen();
      const text = JSON.stringify(await loadHistoryItems(store, { threadId: p.threadId }));
      expect(text).toContain('kept');
      expect(text).not.toContain('discarded');
    });

    it('listing order and cursors are the same after a reopen', async () => {
      for (let i = 0; i < 5; i += 1) await seedThread(ctx.store, ctx.provider, { createdAt: at(i) });
      const first = await ctx.store.listThreads({ pageSize: 2 });
      const all = ids((await ctx.store.listThreads({})).items);
      const store = await ctx.reopen();
      expect(ids((await store.listThreads({})).items)).toEqual(all);
      const second = await store.listThreads({ pageSize: 2, cursor: first.nextCursor });
      expect(ids(second.items)).toEqual(all.slice(2, 4));
    });

    it('an empty thread shut down before a reopen left no trace', async () => {
      const p = createParams(ctx.provider);
      await ctx.store.createThread(p);
      await ctx.store.shutdownThread(p.threadId);
      const store = await ctx.reopen();
      await expectCode(store.readThread({ threadId: p.threadId }), 'not_found');
      await store.createThread(p);
      await store.discardThread(p.threadId);
    });
  });
}
