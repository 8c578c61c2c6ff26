import { describe, expect, it } from 'vitest';
import { newThreadId } from '@skein/thread-store-api';
import type { ThreadMetadataPatch } from '@skein/thread-store-api';
import type { SuiteContext } from '../context.js';
import { at, createParams, expectCode, seedThread } from '../fixtures.js';

export function patchTests(ctx: SuiteContext): void {
  describe('metadata patches', () => {
    it('sets a name, leaves it when absent or undefined, and clears it with null', async () => {
      const id = await seedThread(ctx.store, ctx.provider, { user: 'name me' });
      const named = await ctx.store.updateThreadMetadata({ threadId: id, patch: { name: 'My thread' } });
      expect(named.name).toBe('My thread');
      expect(named.preview).toBe('name me');
      expect((await ctx.store.readThread({ threadId: id })).name).toBe('My thread');
      const left = await ctx.store.updateThreadMetadata({ threadId: id, patch: { name: undefined, model: 'gpt-x' } });
      expect(left.name).toBe('My thread');
      expect(left.model).toBe('gpt-x');
      const cleared = await ctx.store.updateThreadMetadata({ threadId: id, patch: { name: null } });
      expect(cleared.name).toBeNull();
      expect((await ctx.store.readThread({ threadId: id })).name).toBeNull();
    });

    it('renaming twice keeps the latest name', async () => {
      const id = await seedThread(ctx.store, ctx.provider);
      await ctx.store.updateThreadMetadata({ threadId: id, patch: { name: 'first' } });
      await ctx.store.updateThreadMetadata({ threadId: id, patch: { name: 'second' } });
      expect((await ctx.store.readThread({ threadId: id })).name).toBe('second');
    });

    it('an empty patch changes nothing and returns the thread', async () => {
      const id = await seedThread(ctx.store, ctx.provider);
      const before = await ctx.store.readThread({ threadId: id });
      const after = await ctx.store.updateThreadMetadata({ threadId: id, patch: {} });
      expect(after).toEqual(before);
    });

    it('clears nullable fields with null, and string fields that cannot be null to ""', async () => {
      const id = await seedThread(ctx.store, ctx.provider, { model: 'gpt-5', effort: 'high' });
      const t = await ctx.store.updateThreadMetadata({
        threadId: id,
        patch: { model: null, reasoningEffort: null, preview: null },
      });
      expect(t.model).toBeNull();
      expect(t.reasoningEffort).toBeNull();
      expect(t.preview).toBe('');
      expect(await ctx.store.readThread({ threadId: id })).toMatchObject({
        model: null,
        reasoningEffort: null,
        preview: '',
      });
    });

    it('sets the summary fields a session derives', async () => {
      const id = await seedThread(ctx.store, ctx.provider);
      const usage = { inputTokens: 1, cachedInputTokens: 0, outputTokens: 2, reasoningOutputTokens: 0, totalTokens: 3 };
      const patch: ThreadMetadataPatch = {
        preview: 'patched preview',
        model: 'patched-model',
        reasoningEffort: 'low',
        modelProvider: 'patched-provider',
        agentNickname: 'nick',
        tokenUsage: usage,
        memoryMode: 'disabled',
      };
      const t = await ctx.store.updateThreadMetadata({ threadId: id, patch });
      expect(t).toMatchObject({ ...patch, tokenUsage: usage });
      expect(await ctx.store.readThread({ threadId: id })).toMatchObject({ ...patch, tokenUsage: usage });
    });

    it('merges git info field by field; null clears a field or all of it', async () => {
      const id = await seedThread(ctx.store, ctx.provider);
      let t = await ctx.store.updateThreadMetadata({
        threadId: id,
        patch: { gitInfo: { sha: 'aaa111', branch: 'main' } },
      });
      expect(t.gitInfo).toEqual({ sha: 'aaa111', branch: 'main', originUrl: null });
      t = await ctx.store.updateThreadMetadata({
        threadId: id,
        patch: { gitInfo: { branch: 'dev', originUrl: 'https://example.com/r.git' } },
      });
      expect(t.gitInfo).toEqual({ sha: 'aaa111', branch: 'dev', originUrl: 'https://example.com/r.git' });
      t = await ctx.store.updateThreadMetadata({ threadId: id, patch: { gitInfo: { sha: null } } });
      expect(t.gitInfo).toEqual({ sha: null, branch: 'dev', originUrl: 'https://example.com/r.git' });
      expect((await ctx.store.readThread({ threadId: id })).gitInfo).toEqual(t.gitInfo);
      t = await ctx.store.updateThreadMetadata({ threadId: id, patch: { gitInfo: null } });
      expect(t.gitInfo).toBeNull();
      expect((await ctx.store.readThread({ threadId: id })).gitInfo).toBeNull();
    });

    it('a title distinct from the first user message becomes the name; one equal to it does not', async () => {
      const id = await seedThread(ctx.store, ctx.provider, { user: 'fix the flaky test' });
      let t = await ctx.store.updateThreadMetadata({ threadId: id, patch: { title: 'fix the flaky test' } });
      expect(t.name).toBeNull();
      t = await ctx.store.updateThreadMetadata({ threadId: id, patch: { title: 'Flaky test hunt' } });
      expect(t.name).toBe('Flaky test hunt');
      expect((await ctx.store.readThread({ threadId: id })).name).toBe('Flaky test hunt');
    });

    it('sets and clears approval mode and sandbox policy', async () => {
      const id = await seedThread(ctx.store, ctx.provider);
      const policy = { type: 'workspace-write', writable_roots: ['/tmp'], network_access: false };
      let t = await ctx.store.updateThreadMetadata({
        threadId: id,
        patch: { approvalMode: 'never', sandboxPolicy: policy },
      });
      expect(t).toMatchObject({ approvalMode: 'never', sandboxPolicy: policy });
      expect(await ctx.store.readThread({ threadId: id })).toMatchObject({
        approvalMode: 'never',
        sandboxPolicy: policy,
      });
      t = await ctx.store.updateThreadMetadata({ threadId: id, patch: { approvalMode: null } });
      expect(t.approvalMode).toBeNull();
      expect(t.sandboxPolicy).toEqual(policy);
    });

    it('advanceRecencyAt only moves recency forward', async () => {
      const id = await seedThread(ctx.store, ctx.provider, { createdAt: at(10) });
      let t = await ctx.store.updateThreadMetadata({ threadId: id, patch: { advanceRecencyAt: at(50) } });
      expect(t.recencyAt.getTime()).toBe(at(50).getTime());
      t = await ctx.store.updateThreadMetadata({ threadId: id, patch: { advanceRecencyAt: at(20) } });
      expect(t.recencyAt.getTime()).toBe(at(50).getTime());
      t = await ctx.store.updateThreadMetadata({ threadId: id, patch: { advanceRecencyAt: null } });
      expect(t.recencyAt.getTime()).toBe(at(50).getTime());
      t = await ctx.store.updateThreadMetadata({ threadId: id, patch: { advanceRecencyAt: at(60) } });
      expect(t.recencyAt.getTime()).toBe(at(60).getTime());
      expect((await ctx.store.readThread({ threadId: id })).recencyAt.getTime()).toBe(at(60).getTime());
      expect(t.createdAt.getTime()).toBe(at(10).getTime());
    });

    it('updatedAt can be set with millisecond precision', async () => {
      const id = await seedThread(ctx.store, ctx.provider);
      const when = new Date(Date.UTC(2030, 1, 2, 3, 4, 5, 678));
      const t = await ctx.store.updateThreadMetadata({ threadId: id, patch: { updatedAt: when } });
      expect(t.updatedAt.toISOString()).toBe(when.toISOString());
      expect((await ctx.store.readThread({ threadId: id })).updatedAt.toISOString()).toBe(when.toISOString());
    });

    it('a bad patch is invalid_request and writes nothing', async () => {
      const id = await seedThread(ctx.store, ctx.provider);
      const before = await ctx.store.readThread({ threadId: id });
      const bad: unknown[] = [
        { name: 'kept?', modelProvider: null },
        { name: 'kept?', createdAt: new Date('not a date') },
        { name: '   ' },
        { name: 'kept?', unknownField: 1 },
        { name: 'kept?', memoryMode: 'sometimes' },
        { name: 42 },
        null,
        'name',
      ];
      for (const patch of bad) {
        await expectCode(
          ctx.store.updateThreadMetadata({ threadId: id, patch: patch as ThreadMetadataPatch }),
          'invalid_request',
        );
      }
      expect(await ctx.store.readThread({ threadId: id })).toEqual(before);
    });

    it('a missing thread is not_found; an archived one needs includeArchived', async () => {
      await expectCode(ctx.store.updateThreadMetadata({ threadId: newThreadId(), patch: { name: 'x' } }), 'not_found');
      const id = await seedThread(ctx.store, ctx.provider);
      await ctx.store.archiveThread({ threadId: id });
      await expectCode(ctx.store.updateThreadMetadata({ threadId: id, patch: { name: 'x' } }), 'not_found');
      const t = await ctx.store.updateThreadMetadata({
        threadId: id,
        patch: { name: 'archived name' },
        includeArchived: true,
      });
      expect(t.name).toBe('archived name');
      expect(t.archivedAt).not.toBeNull();
      expect((await ctx.store.readThread({ threadId: id, includeArchived: true })).name).toBe('archived name');
    });

    it('patching a live thread that is not materialized yet materializes it', async () => {
      const p = createParams(ctx.provider, { createdAt: at(7) });
      await ctx.store.createThread(p);
      const t = await ctx.store.updateThreadMetadata({ threadId: p.threadId, patch: { name: 'early name' } });
      expect(t.name).toBe('early name');
      expect(t.createdAt.getTime()).toBe(at(7).getTime());
      await expect(ctx.store.readThread({ threadId: p.threadId })).resolves.toMatchObject({ name: 'early name' });
      await ctx.store.appendItems({
        threadId: p.threadId,
        items: [{ type: 'event_msg', payload: { type: 'user_message', message: 'later' } }],
      });
      await ctx.store.shutdownThread(p.threadId);
      await expect(ctx.store.readThread({ threadId: p.threadId })).resolves.toMatchObject({
        name: 'early name',
        preview: 'later',
      });
    });

    it('a patched name is found by the list searchTerm and survives later appends', async () => {
      const id = await seedThread(ctx.store, ctx.provider, { user: 'plain', keepLive: true });
      await ctx.store.updateThreadMetadata({ threadId: id, patch: { name: 'Sandpiper work' } });
      await ctx.store.appendItems({
        threadId: id,
        items: [{ type: 'event_msg', payload: { type: 'agent_message', message: 'more' } }],
      });
      await ctx.store.shutdownThread(id);
      expect((await ctx.store.listThreads({ searchTerm: 'sandpiper' })).items.map((t) => t.threadId)).toEqual([id]);
      expect((await ctx.store.readThread({ threadId: id })).name).toBe('Sandpiper work');
    });
  });
}
