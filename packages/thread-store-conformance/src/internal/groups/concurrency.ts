import { describe, expect, it } from 'vitest';
import { loadHistoryItems } from '@skein/thread-store-api';
import type { SuiteContext } from '../context.js';
import { at, createParams, expectCode, ids, seedThread, turnItems } from '../fixtures.js';

/** Calls issued together, without waiting for each other, as a busy server would. */
export function concurrencyTests(ctx: SuiteContext): void {
  describe('concurrent calls', () => {
    it('threads created, appended and flushed at the same time are all stored', async () => {
      const n = 12;
      const made = await Promise.all(
        Array.from({ length: n }, (_, i) =>
          seedThread(ctx.store, ctx.provider, { createdAt: at(i), user: `parallel ${i}` }),
        ),
      );
      const page = await ctx.store.listThreads({ pageSize: 100 });
      expect(ids(page.items)).toEqual([...made].reverse());
      for (const [i, id] of made.entries()) {
        await expect(ctx.store.readThread({ threadId: id })).resolves.toMatchObject({ preview: `parallel ${i}` });
      }
    });

    it('appends to one thread issued together are all kept', async () => {
      const p = createParams(ctx.provider);
      await ctx.store.createThread(p);
      await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          ctx.store.appendItems({
            threadId: p.threadId,
            items: [{ type: 'event_msg', payload: { type: 'agent_message', message: `m${i}` } }],
          }),
        ),
      );
      await ctx.store.shutdownThread(p.threadId);
      const history = await loadHistoryItems(ctx.store, { threadId: p.threadId });
      // Calls that overlap have no order between them; each must be kept exactly once.
      expect(
        history
          .slice(1)
          .map((i) => (i.payload as { message: string }).message)
          .sort(),
      ).toEqual(Array.from({ length: 10 }, (_, i) => `m${i}`).sort());
    });

    it('patches of different fields issued together are all applied', async () => {
      const id = await seedThread(ctx.store, ctx.provider);
      await Promise.all([
        ctx.store.updateThreadMetadata({ threadId: id, patch: { name: 'together' } }),
        ctx.store.updateThreadMetadata({ threadId: id, patch: { model: 'm-together' } }),
        ctx.store.updateThreadMetadata({ threadId: id, patch: { gitInfo: { branch: 'b' } } }),
        ctx.store.updateThreadMetadata({ threadId: id, patch: { gitInfo: { sha: 's' } } }),
        ctx.store.updateThreadMetadata({ threadId: id, patch: { advanceRecencyAt: at(900) } }),
        ctx.store.updateThreadMetadata({ threadId: id, patch: { advanceRecencyAt: at(800) } }),
      ]);
      const t = await ctx.store.readThread({ threadId: id });
      expect(t).toMatchObject({
        name: 'together',
        model: 'm-together',
        gitInfo: { sha: 's', branch: 'b', originUrl: null },
      });
      expect(t.recencyAt.getTime()).toBe(at(900).getTime());
    });

    it('two creates of one thread at the same time: exactly one wins, the other is a conflict', async () => {
      const p = createParams(ctx.provider);
      const results = await Promise.allSettled([ctx.store.createThread(p), ctx.store.createThread(p)]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const failed = results.find((r) => r.status === 'rejected');
      await expectCode(
        Promise.reject(failed?.status === 'rejected' ? failed.reason : new Error('none failed')),
        'conflict',
      );
      await ctx.store.discardThread(p.threadId);
    });

    it('reads and lists while threads are being written see whole threads only', async () => {
      const writers = Array.from({ length: 6 }, (_, i) =>
        seedThread(ctx.store, ctx.provider, { createdAt: at(i), user: `w${i}` }),
      );
      const lists = Array.from({ length: 6 }, () => ctx.store.listThreads({ pageSize: 100 }));
      const [made, pages] = await Promise.all([Promise.all(writers), Promise.all(lists)]);
      for (const page of pages) for (const t of page.items) expect(t.preview).toMatch(/^w\d$/);
      expect(ids((await ctx.store.listThreads({ pageSize: 100 })).items).sort()).toEqual([...made].sort());
    });

    it('archive and unarchive of many threads at once', async () => {
      const made = await Promise.all(
        Array.from({ length: 8 }, (_, i) => seedThread(ctx.store, ctx.provider, { createdAt: at(i) })),
      );
      await Promise.all(made.map((threadId) => ctx.store.archiveThread({ threadId })));
      expect((await ctx.store.listThreads({})).items).toEqual([]);
      expect((await ctx.store.listThreads({ archived: true })).items).toHaveLength(8);
      await Promise.all(made.slice(0, 4).map((threadId) => ctx.store.unarchiveThread({ threadId })));
      expect((await ctx.store.listThreads({})).items).toHaveLength(4);
    });

    it('turns appended while another thread is read stay with their thread', async () => {
      const a = await seedThread(ctx.store, ctx.provider, { keepLive: true, user: 'thread a' });
      const b = await seedThread(ctx.store, ctx.provider, { user: 'thread b' });
      await Promise.all([
        ctx.store.appendItems({ threadId: a, items: turnItems('a again', 'ok') }).then(() => ctx.store.flushThread(a)),
        loadHistoryItems(ctx.store, { threadId: b }),
        ctx.store.readThread({ threadId: b, includeHistory: true }),
      ]);
      await ctx.store.shutdownThread(a);
      expect(JSON.stringify(await loadHistoryItems(ctx.store, { threadId: b }))).not.toContain('a again');
      expect(JSON.stringify(await loadHistoryItems(ctx.store, { threadId: a }))).toContain('a again');
    });
  });
}
