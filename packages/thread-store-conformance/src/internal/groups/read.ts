import { describe, expect, it } from 'vitest';
import { collectHistory, loadHistoryItems, newThreadId } from '@skein/thread-store-api';
import type { ThreadId } from '@skein/thread-store-api';
import type { SuiteContext } from '../context.js';
import { CWD_B, at, createParams, expectCode, expectIterCode, seedThread, shape } from '../fixtures.js';

export function readTests(ctx: SuiteContext): void {
  describe('read', () => {
    it('summary fields are derived from the history', async () => {
      const id = await seedThread(ctx.store, ctx.provider, {
        createdAt: new Date(Date.UTC(2024, 2, 4, 5, 6, 7, 891)),
        user: 'Explain the build',
        agent: 'The build uses turbo.',
        cwd: CWD_B,
        model: 'gpt-5.1-codex-max',
        effort: 'high',
      });
      const t = await ctx.store.readThread({ threadId: id });
      expect(t).toMatchObject({
        threadId: id,
        sessionId: id,
        forkedFromId: null,
        parentThreadId: null,
        preview: 'Explain the build',
        firstUserMessage: 'Explain the build',
        name: null,
        modelProvider: ctx.provider,
        model: 'gpt-5.1-codex-max',
        reasoningEffort: 'high',
        archivedAt: null,
        cwd: CWD_B,
        cliVersion: '0.0.0-conformance',
        source: { kind: 'cli' },
        historyMode: 'legacy',
      });
      expect(t.createdAt).toBeInstanceOf(Date);
      expect(t.createdAt.toISOString()).toBe('2024-03-04T05:06:07.891Z');
      expect(t.updatedAt).toBeInstanceOf(Date);
      expect(Number.isNaN(t.updatedAt.getTime())).toBe(false);
      expect(t.recencyAt.getTime()).toBe(t.createdAt.getTime());
      expect(t.history).toBeUndefined();
    });

    it('loadHistoryJson, where a store offers it, gives the JSON of exactly the items of loadHistory', async () => {
      const json = ctx.store.loadHistoryJson?.bind(ctx.store);
      if (!json) return;
      const collect = async (params: Parameters<typeof json>[0]): Promise<unknown[]> => {
        const out: unknown[] = [];
        for await (const text of json(params)) out.push(JSON.parse(text) as unknown);
        return out;
      };
      const id = await seedThread(ctx.store, ctx.provider, { user: 'Explain the build', agent: 'It uses turbo.' });
      const items = await loadHistoryItems(ctx.store, { threadId: id });
      expect(items.length).toBeGreaterThan(2);
      expect(await collect({ threadId: id })).toEqual(items);
      await ctx.store.archiveThread({ threadId: id });
      await expectCode(() => collect({ threadId: id }), 'not_found');
      expect(await collect({ threadId: id, includeArchived: true })).toEqual(items);
      await expectCode(() => collect({ threadId: newThreadId() }), 'not_found');
    });

    it('rolloutPath is null exactly when the store has no local paths', async () => {
      const id = await seedThread(ctx.store, ctx.provider);
      const t = await ctx.store.readThread({ threadId: id });
      if (ctx.harness.capabilities.localPaths) expect(typeof t.rolloutPath).toBe('string');
      else expect(t.rolloutPath).toBeNull();
    });

    it('the preview strips the "## My request for Codex:" marker', async () => {
      const id = await seedThread(ctx.store, ctx.provider, {
        user: '# Context\nstuff\n## My request for Codex:\n  fix the tests  ',
      });
      await expect(ctx.store.readThread({ threadId: id })).resolves.toMatchObject({ preview: 'fix the tests' });
    });

    it('a raw user_message event gives the thread its preview', async () => {
      const p = createParams(ctx.provider);
      await ctx.store.createThread(p);
      await ctx.store.appendItems({
        threadId: p.threadId,
        items: [{ type: 'event_msg', payload: { type: 'user_message', message: 'only an event' } }],
      });
      await ctx.store.shutdownThread(p.threadId);
      await expect(ctx.store.readThread({ threadId: p.threadId })).resolves.toMatchObject({
        preview: 'only an event',
        firstUserMessage: 'only an event',
      });
    });

    it('the first user message stays the preview after later turns', async () => {
      const id = await seedThread(ctx.store, ctx.provider, { user: 'the first' });
      await ctx.store.resumeThread({ threadId: id });
      await ctx.store.appendItems({
        threadId: id,
        items: [{ type: 'event_msg', payload: { type: 'user_message', message: 'the second' } }],
      });
      await ctx.store.shutdownThread(id);
      await expect(ctx.store.readThread({ threadId: id })).resolves.toMatchObject({ preview: 'the first' });
    });

    it('model and effort follow the latest turn_context; token usage the latest token_count', async () => {
      const id = await seedThread(ctx.store, ctx.provider, {
        model: 'model-one',
        effort: 'low',
        extra: [
          { type: 'turn_context', payload: { cwd: '/elsewhere', model: 'model-two', effort: 'xhigh' } },
          {
            type: 'event_msg',
            payload: {
              type: 'token_count',
              info: {
                total_token_usage: {
                  input_tokens: 10,
                  cached_input_tokens: 2,
                  output_tokens: 5,
                  reasoning_output_tokens: 1,
                  total_tokens: 15,
                },
              },
            },
          },
        ],
      });
      const t = await ctx.store.readThread({ threadId: id });
      expect(t.model).toBe('model-two');
      expect(t.reasoningEffort).toBe('xhigh');
      expect(t.tokenUsage).toEqual({
        inputTokens: 10,
        cachedInputTokens: 2,
        outputTokens: 5,
        reasoningOutputTokens: 1,
        totalTokens: 15,
      });
    });

    it('recencyAt is the latest turn start, never before createdAt', async () => {
      const id = await seedThread(ctx.store, ctx.provider, {
        createdAt: at(10),
        extra: [
          { timestamp: at(20).toISOString(), type: 'event_msg', payload: { type: 'task_started', turn_id: 't1' } },
          { timestamp: at(30).toISOString(), type: 'event_msg', payload: { type: 'task_started', turn_id: 't2' } },
        ],
      });
      const t = await ctx.store.readThread({ threadId: id });
      expect(t.recencyAt.toISOString()).toBe(at(30).toISOString());
      const old = await seedThread(ctx.store, ctx.provider, {
        createdAt: at(10),
        extra: [
          { timestamp: at(5).toISOString(), type: 'event_msg', payload: { type: 'task_started', turn_id: 't0' } },
        ],
      });
      const o = await ctx.store.readThread({ threadId: old });
      expect(o.recencyAt.toISOString()).toBe(at(10).toISOString());
    });

    it('updatedAt never goes back as more history is written, and is not before createdAt', async () => {
      const id = await seedThread(ctx.store, ctx.provider, { createdAt: at(0) });
      const first = await ctx.store.readThread({ threadId: id });
      expect(first.updatedAt.getTime()).toBeGreaterThanOrEqual(first.createdAt.getTime());
      await ctx.store.resumeThread({ threadId: id });
      await ctx.store.appendItems({
        threadId: id,
        items: [{ type: 'event_msg', payload: { type: 'agent_message', message: 'more' } }],
      });
      await ctx.store.shutdownThread(id);
      const second = await ctx.store.readThread({ threadId: id });
      expect(second.updatedAt.getTime()).toBeGreaterThanOrEqual(first.updatedAt.getTime());
    });

    it('sub-agent and fork lineage is read back', async () => {
      const parent = await seedThread(ctx.store, ctx.provider);
      const child = await seedThread(ctx.store, ctx.provider, {
        source: {
          kind: 'subagent',
          subagent: {
            kind: 'thread_spawn',
            parentThreadId: parent,
            depth: 1,
            agentNickname: 'scout',
            agentRole: 'explorer',
          },
        },
      });
      const c = await ctx.store.readThread({ threadId: child });
      expect(c.parentThreadId).toBe(parent);
      expect(c.agentNickname).toBe('scout');
      expect(c.agentRole).toBe('explorer');
      expect(c.source).toMatchObject({
        kind: 'subagent',
        subagent: { kind: 'thread_spawn', parentThreadId: parent, depth: 1 },
      });
      const fork = await seedThread(ctx.store, ctx.provider, { forkedFromId: parent });
      await expect(ctx.store.readThread({ threadId: fork })).resolves.toMatchObject({ forkedFromId: parent });
    });

    it('includeHistory returns the same history as loadHistory, in order', async () => {
      const id = await seedThread(ctx.store, ctx.provider);
      const t = await ctx.store.readThread({ threadId: id, includeHistory: true });
      expect(t.history).toBeDefined();
      const fromRead = await collectHistory(t.history);
      const fromLoad = await loadHistoryItems(ctx.store, { threadId: id });
      expect(fromRead).toEqual(fromLoad);
      expect(shape(fromLoad)[0]).toBe('session_meta');
      expect(fromLoad).toHaveLength(6);
    });

    it('history items come back exactly as appended, unknown fields included', async () => {
      const item = {
        timestamp: '2024-01-15T12:00:01.000Z',
        type: 'response_item',
        payload: {
          type: 'function_call',
          name: 'shell',
          arguments: '{"cmd":["ls"]}',
          call_id: 'call_1',
          future_field: { nested: [1, 'two', null] },
        },
      };
      const id = await seedThread(ctx.store, ctx.provider, { extra: [item] });
      const history = await loadHistoryItems(ctx.store, { threadId: id });
      expect(history[history.length - 1]).toEqual(item);
    });

    it('loadHistory reports errors when iterated, not when called', async () => {
      const history = ctx.store.loadHistory({ threadId: newThreadId() });
      await expectIterCode(() => history, 'not_found');
      const bad = ctx.store.loadHistory({ threadId: '../x' as ThreadId });
      await expectIterCode(() => bad, 'invalid_request');
    });

    it('a missing thread is not_found in readThread and loadHistory', async () => {
      const id = newThreadId();
      await expectCode(ctx.store.readThread({ threadId: id }), 'not_found');
      await expectCode(
        ctx.store.readThread({ threadId: id, includeArchived: true, includeHistory: true }),
        'not_found',
      );
      await expectIterCode(() => ctx.store.loadHistory({ threadId: id }), 'not_found');
    });

    it('an archived thread is not_found (saying it is archived) unless includeArchived', async () => {
      const id = await seedThread(ctx.store, ctx.provider, { user: 'archived read' });
      await ctx.store.archiveThread({ threadId: id });
      const e = await expectCode(ctx.store.readThread({ threadId: id }), 'not_found');
      expect(e.message).toMatch(/archived/i);
      await expectIterCode(() => ctx.store.loadHistory({ threadId: id }), 'not_found');
      const t = await ctx.store.readThread({ threadId: id, includeArchived: true, includeHistory: true });
      expect(t.preview).toBe('archived read');
      expect(t.archivedAt).toBeInstanceOf(Date);
      expect(await collectHistory(t.history)).toHaveLength(6);
      expect(await loadHistoryItems(ctx.store, { threadId: id, includeArchived: true })).toHaveLength(6);
    });

    it('readThreadByRolloutPath is unsupported without local paths', async () => {
      if (ctx.harness.capabilities.localPaths) {
        const id = await seedThread(ctx.store, ctx.provider);
        const t = await ctx.store.readThread({ threadId: id });
        expect(t.rolloutPath).toBeTypeOf('string');
        const byPath = await ctx.store.readThreadByRolloutPath({ rolloutPath: t.rolloutPath ?? '' });
        expect(byPath.threadId).toBe(id);
      } else {
        await expectCode(ctx.store.readThreadByRolloutPath({ rolloutPath: '/tmp/rollout.jsonl' }), 'unsupported');
      }
    });

    it('a history being written while it is read yields a consistent prefix', async () => {
      const id = await seedThread(ctx.store, ctx.provider, { keepLive: true });
      const reading = ctx.store.loadHistory({ threadId: id })[Symbol.asyncIterator]();
      const first = await reading.next();
      expect(first.done).toBe(false);
      await ctx.store.appendItems({
        threadId: id,
        items: [{ type: 'event_msg', payload: { type: 'agent_message', message: 'late' } }],
      });
      await ctx.store.flushThread(id);
      let n = 1;
      while (!(await reading.next()).done) n += 1;
      expect(n === 6 || n === 7).toBe(true);
      await ctx.store.shutdownThread(id);
    });
  });
}
