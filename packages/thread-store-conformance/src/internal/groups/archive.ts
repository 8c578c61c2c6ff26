import { describe, expect, it } from 'vitest';
import { loadHistoryItems, newThreadId } from '@skein/thread-store-api';
import type { SuiteContext } from '../context.js';
import { createParams, expectCode, expectIterCode, ids, seedThread } from '../fixtures.js';

export function archiveTests(ctx: SuiteContext): void {
  describe('archive, unarchive, delete', () => {
    it('archiving hides a thread from reads and the active list; archiving again is ok', async () => {
      const id = await seedThread(ctx.store, ctx.provider, { user: 'to archive' });
      await ctx.store.archiveThread({ threadId: id });
      await expectCode(ctx.store.readThread({ threadId: id }), 'not_found');
      expect(ids((await ctx.store.listThreads({})).items)).not.toContain(id);
      const t = await ctx.store.readThread({ threadId: id, includeArchived: true });
      expect(t.archivedAt).toBeInstanceOf(Date);
      expect(t.preview).toBe('to archive');
      await ctx.store.archiveThread({ threadId: id });
      const again = await ctx.store.readThread({ threadId: id, includeArchived: true });
      expect(again.archivedAt).not.toBeNull();
    });

    it('unarchiving returns the thread with archivedAt null and restores it everywhere', async () => {
      const id = await seedThread(ctx.store, ctx.provider, { user: 'round trip' });
      const history = await loadHistoryItems(ctx.store, { threadId: id });
      await ctx.store.archiveThread({ threadId: id });
      const t = await ctx.store.unarchiveThread({ threadId: id });
      expect(t.threadId).toBe(id);
      expect(t.archivedAt).toBeNull();
      expect(t.preview).toBe('round trip');
      expect((await ctx.store.readThread({ threadId: id })).archivedAt).toBeNull();
      expect(ids((await ctx.store.listThreads({})).items)).toContain(id);
      expect(ids((await ctx.store.listThreads({ archived: true })).items)).not.toContain(id);
      expect(await loadHistoryItems(ctx.store, { threadId: id })).toEqual(history);
    });

    it('unarchiving an active thread returns it unchanged', async () => {
      const id = await seedThread(ctx.store, ctx.provider);
      const before = await ctx.store.readThread({ threadId: id });
      const t = await ctx.store.unarchiveThread({ threadId: id });
      expect(t).toEqual(before);
      const twice = await ctx.store.unarchiveThread({ threadId: id });
      expect(twice.archivedAt).toBeNull();
    });

    it('archive, unarchive and delete of a missing thread are not_found', async () => {
      const id = newThreadId();
      await expectCode(ctx.store.archiveThread({ threadId: id }), 'not_found');
      await expectCode(ctx.store.unarchiveThread({ threadId: id }), 'not_found');
      await expectCode(ctx.store.deleteThread({ threadId: id }), 'not_found');
    });

    it('a created but never materialized thread cannot be archived or deleted: not_found', async () => {
      const p = createParams(ctx.provider);
      await ctx.store.createThread(p);
      await expectCode(ctx.store.archiveThread({ threadId: p.threadId }), 'not_found');
      await expectCode(ctx.store.deleteThread({ threadId: p.threadId }), 'not_found');
      await ctx.store.discardThread(p.threadId);
    });

    it('archiving or deleting a thread with a live writer is a conflict', async () => {
      const id = await seedThread(ctx.store, ctx.provider, { keepLive: true });
      await expectCode(ctx.store.archiveThread({ threadId: id }), 'conflict');
      await expectCode(ctx.store.deleteThread({ threadId: id }), 'conflict');
      await expect(ctx.store.readThread({ threadId: id })).resolves.toMatchObject({ archivedAt: null });
      await ctx.store.shutdownThread(id);
      await ctx.store.archiveThread({ threadId: id });
    });

    it('delete removes history and metadata; a second delete is not_found', async () => {
      const id = await seedThread(ctx.store, ctx.provider);
      await ctx.store.updateThreadMetadata({ threadId: id, patch: { name: 'doomed' } });
      await ctx.store.deleteThread({ threadId: id });
      await expectCode(ctx.store.readThread({ threadId: id }), 'not_found');
      await expectCode(ctx.store.readThread({ threadId: id, includeArchived: true }), 'not_found');
      await expectIterCode(() => ctx.store.loadHistory({ threadId: id, includeArchived: true }), 'not_found');
      await expectCode(ctx.store.updateThreadMetadata({ threadId: id, patch: { name: 'x' } }), 'not_found');
      await expectCode(ctx.store.resumeThread({ threadId: id }), 'not_found');
      expect(ids((await ctx.store.listThreads({ modelProviders: [] })).items)).not.toContain(id);
      expect(ids((await ctx.store.listThreads({ searchTerm: 'doomed' })).items)).toEqual([]);
      await expectCode(ctx.store.deleteThread({ threadId: id }), 'not_found');
    });

    it('an archived thread can be deleted', async () => {
      const id = await seedThread(ctx.store, ctx.provider);
      await ctx.store.archiveThread({ threadId: id });
      await ctx.store.deleteThread({ threadId: id });
      await expectCode(ctx.store.readThread({ threadId: id, includeArchived: true }), 'not_found');
      expect(ids((await ctx.store.listThreads({ archived: true })).items)).not.toContain(id);
    });

    it('after a delete the id can be created again, with none of the old history or name', async () => {
      const p = createParams(ctx.provider);
      await ctx.store.createThread(p);
      await ctx.store.appendItems({
        threadId: p.threadId,
        items: [{ type: 'event_msg', payload: { type: 'user_message', message: 'old life' } }],
      });
      await ctx.store.shutdownThread(p.threadId);
      await ctx.store.updateThreadMetadata({ threadId: p.threadId, patch: { name: 'old name' } });
      await ctx.store.deleteThread({ threadId: p.threadId });
      await ctx.store.createThread(p);
      await ctx.store.appendItems({
        threadId: p.threadId,
        items: [{ type: 'event_msg', payload: { type: 'user_message', message: 'new life' } }],
      });
      await ctx.store.shutdownThread(p.threadId);
      const t = await ctx.store.readThread({ threadId: p.threadId });
      expect(t.preview).toBe('new life');
      expect(t.name).toBeNull();
      expect(JSON.stringify(await loadHistoryItems(ctx.store, { threadId: p.threadId }))).not.toContain('old life');
    });

    it('archiving one thread leaves the others alone', async () => {
      const a = await seedThread(ctx.store, ctx.provider);
      const b = await seedThread(ctx.store, ctx.provider);
      await ctx.store.archiveThread({ threadId: a });
      await expect(ctx.store.readThread({ threadId: b })).resolves.toMatchObject({ archivedAt: null });
      await ctx.store.deleteThread({ threadId: b });
      await expect(ctx.store.readThread({ threadId: a, includeArchived: true })).resolves.toMatchObject({
        threadId: a,
      });
    });
  });
}
