import { describe, expect, it } from 'vitest';
import { loadHistoryItems, newThreadId, parseRolloutTime } from '@skein/thread-store-api';
import type { RolloutItem, SessionMetaItem } from '@skein/thread-store-api';
import type { SuiteContext } from '../context.js';
import { CWD_A, at, createParams, expectCode, seedThread, shape, turnItems } from '../fixtures.js';

const userTurn = (text: string): RolloutItem[] => turnItems(text, `reply to ${text}`);

export function lifecycleTests(ctx: SuiteContext): void {
  describe('live-writer lifecycle', () => {
    it('createThread writes nothing: the thread is not readable, loadable or listed', async () => {
      const p = createParams(ctx.provider);
      await ctx.store.createThread(p);
      await expectCode(ctx.store.readThread({ threadId: p.threadId }), 'not_found');
      await expectCode(loadHistoryItems(ctx.store, { threadId: p.threadId }), 'not_found');
      const page = await ctx.store.listThreads({ modelProviders: [] });
      expect(page.items).toEqual([]);
    });

    it('appended items are not readable before a flush, and are after it', async () => {
      const p = createParams(ctx.provider);
      await ctx.store.createThread(p);
      await ctx.store.appendItems({ threadId: p.threadId, items: userTurn('first question') });
      await expectCode(ctx.store.readThread({ threadId: p.threadId }), 'not_found');
      await ctx.store.flushThread(p.threadId);
      const history = await loadHistoryItems(ctx.store, { threadId: p.threadId });
      expect(shape(history)).toEqual([
        'session_meta',
        'turn_context',
        'response_item:message',
        'event_msg:user_message',
        'response_item:message',
        'event_msg:agent_message',
      ]);
    });

    it('flushing a created thread with nothing appended does not materialize it', async () => {
      const p = createParams(ctx.provider);
      await ctx.store.createThread(p);
      await ctx.store.flushThread(p.threadId);
      await expectCode(ctx.store.readThread({ threadId: p.threadId }), 'not_found');
    });

    it('persistThread materializes an empty thread with only its session_meta', async () => {
      const p = createParams(ctx.provider, { createdAt: at(3) });
      await ctx.store.createThread(p);
      await ctx.store.persistThread(p.threadId);
      const t = await ctx.store.readThread({ threadId: p.threadId, includeHistory: true });
      expect(t.threadId).toBe(p.threadId);
      expect(t.preview).toBe('');
      expect(t.createdAt.getTime()).toBe(at(3).getTime());
      const history = await loadHistoryItems(ctx.store, { threadId: p.threadId });
      expect(shape(history)).toEqual(['session_meta']);
    });

    it('a thread with an empty preview is readable but never listed', async () => {
      const id = await seedThread(ctx.store, ctx.provider, { user: null });
      await expect(ctx.store.readThread({ threadId: id })).resolves.toMatchObject({ threadId: id, preview: '' });
      const page = await ctx.store.listThreads({ modelProviders: [], allowedSources: ['cli'] });
      expect(page.items.map((t) => t.threadId)).not.toContain(id);
    });

    it('the session_meta carries the create parameters in Codex on-disk form', async () => {
      const p = createParams(ctx.provider, { createdAt: new Date(Date.UTC(2024, 4, 6, 7, 8, 9, 123)) });
      p.gitInfo = { sha: 'abc123', branch: 'main', originUrl: 'git@example.com:me/repo.git' };
      await ctx.store.createThread(p);
      await ctx.store.persistThread(p.threadId);
      const [first] = await loadHistoryItems(ctx.store, { threadId: p.threadId });
      expect(first?.type).toBe('session_meta');
      const meta = (first as SessionMetaItem).payload;
      expect(meta.id).toBe(p.threadId);
      expect(meta.timestamp).toBe('2024-05-06T07:08:09.123Z');
      expect(meta.cwd).toBe(CWD_A);
      expect(meta.source).toBe('cli');
      expect(meta.model_provider).toBe(ctx.provider);
      expect(meta.originator).toBe('skein_conformance');
      expect(meta.cli_version).toBe('0.0.0-conformance');
      expect(meta.session_id ?? p.threadId).toBe(p.threadId);
      expect(meta.git).toEqual({
        commit_hash: 'abc123',
        branch: 'main',
        repository_url: 'git@example.com:me/repo.git',
      });
    });

    it('a given sessionMeta is the first history item exactly, keys in their order and unknown fields kept', async () => {
      const p = createParams(ctx.provider, { createdAt: at(7) });
      const given: SessionMetaItem = {
        timestamp: '2024-01-15T12:07:00.250Z',
        type: 'session_meta',
        payload: {
          account_scoped: true,
          session_id: p.threadId,
          id: p.threadId,
          timestamp: '2024-01-15T12:07:00.100Z',
          cwd: CWD_A,
          originator: 'codex_exec',
          cli_version: '0.169.0',
          source: 'cli',
          model_provider: ctx.provider,
          future_field: { nested: [1, 'two'] },
        },
      };
      await ctx.store.createThread({ ...p, sessionMeta: given });
      await ctx.store.appendItems({ threadId: p.threadId, items: turnItems('moved here', 'with its first line') });
      await ctx.store.shutdownThread(p.threadId);
      const [first] = await loadHistoryItems(ctx.store, { threadId: p.threadId });
      const { ordinal: _ordinal, ...envelope } = first as RolloutItem & { ordinal?: unknown };
      expect(JSON.stringify(envelope)).toBe(JSON.stringify(given));
      expect((await ctx.store.readThread({ threadId: p.threadId })).preview).toBe('moved here');
    });

    it('a sessionMeta of another thread, or not a session_meta item, is invalid_request', async () => {
      const p = createParams(ctx.provider);
      const meta = (id: string): SessionMetaItem => ({
        type: 'session_meta',
        payload: { id, timestamp: '2024-01-15T12:00:00.000Z', cwd: CWD_A },
      });
      await expectCode(ctx.store.createThread({ ...p, sessionMeta: meta(newThreadId()) }), 'invalid_request');
      const notMeta = { type: 'event_msg', payload: { id: p.threadId } } as unknown as SessionMetaItem;
      await expectCode(ctx.store.createThread({ ...p, sessionMeta: notMeta }), 'invalid_request');
      // Nothing was reserved: the id can still be created.
      await ctx.store.createThread(p);
      await ctx.store.shutdownThread(p.threadId);
    });

    it('every stored item has a timestamp: a missing one is filled, a given one is kept', async () => {
      const p = createParams(ctx.provider);
      await ctx.store.createThread(p);
      await ctx.store.appendItems({
        threadId: p.threadId,
        items: [
          { type: 'event_msg', payload: { type: 'user_message', message: 'no timestamp given' } },
          {
            timestamp: '2024-02-03T04:05:06.789Z',
            type: 'event_msg',
            payload: { type: 'agent_message', message: 'given' },
          },
        ],
      });
      await ctx.store.flushThread(p.threadId);
      const history = await loadHistoryItems(ctx.store, { threadId: p.threadId });
      for (const item of history)
        expect(parseRolloutTime(item.timestamp), JSON.stringify(item).slice(0, 200)).not.toBeNull();
      expect(history[2]?.timestamp).toBe('2024-02-03T04:05:06.789Z');
      // Filled timestamps are UTC ISO-8601 with milliseconds, like Codex writes them.
      expect(history[1]?.timestamp).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    });

    it('applies the persistence policy: streaming deltas, *_begin events and approvals are dropped', async () => {
      const p = createParams(ctx.provider);
      await ctx.store.createThread(p);
      await ctx.store.appendItems({
        threadId: p.threadId,
        items: [
          { type: 'event_msg', payload: { type: 'task_started', turn_id: 't1' } },
          { type: 'event_msg', payload: { type: 'user_message', message: 'policy check' } },
          { type: 'event_msg', payload: { type: 'agent_message_delta', delta: 'par' } },
          { type: 'event_msg', payload: { type: 'exec_command_begin', call_id: 'c1' } },
          { type: 'event_msg', payload: { type: 'exec_approval_request', call_id: 'c1' } },
          { type: 'event_msg', payload: { type: 'session_configured', model: 'x' } },
          { type: 'event_msg', payload: { type: 'agent_message', message: 'done' } },
          { type: 'event_msg', payload: { type: 'task_complete', turn_id: 't1' } },
        ],
      });
      await ctx.store.flushThread(p.threadId);
      const history = await loadHistoryItems(ctx.store, { threadId: p.threadId });
      expect(shape(history)).toEqual([
        'session_meta',
        'event_msg:task_started',
        'event_msg:user_message',
        'event_msg:agent_message',
        'event_msg:task_complete',
      ]);
    });

    it('a bad item rejects the whole append with invalid_request and appends nothing', async () => {
      const p = createParams(ctx.provider);
      await ctx.store.createThread(p);
      await ctx.store.appendItems({ threadId: p.threadId, items: userTurn('kept') });
      const bad = [
        { type: 'event_msg', payload: { type: 'user_message', message: 'not kept' } },
        { payload: { type: 'agent_message', message: 'no type' } },
      ] as unknown as RolloutItem[];
      await expectCode(ctx.store.appendItems({ threadId: p.threadId, items: bad }), 'invalid_request');
      await ctx.store.flushThread(p.threadId);
      const history = await loadHistoryItems(ctx.store, { threadId: p.threadId });
      expect(history).toHaveLength(1 + userTurn('kept').length);
    });

    it('shutting down a thread that never got an item leaves no trace, and the id can be created again', async () => {
      const p = createParams(ctx.provider);
      await ctx.store.createThread(p);
      await ctx.store.shutdownThread(p.threadId);
      await expectCode(ctx.store.readThread({ threadId: p.threadId }), 'not_found');
      await ctx.store.createThread(p);
      await ctx.store.appendItems({ threadId: p.threadId, items: userTurn('second life') });
      await ctx.store.shutdownThread(p.threadId);
      await expect(ctx.store.readThread({ threadId: p.threadId })).resolves.toMatchObject({ preview: 'second life' });
    });

    it('shutdownThread flushes buffered items and closes the writer', async () => {
      const p = createParams(ctx.provider);
      await ctx.store.createThread(p);
      await ctx.store.appendItems({ threadId: p.threadId, items: userTurn('flushed by shutdown') });
      await ctx.store.shutdownThread(p.threadId);
      const t = await ctx.store.readThread({ threadId: p.threadId });
      expect(t.preview).toBe('flushed by shutdown');
      await expectCode(ctx.store.appendItems({ threadId: p.threadId, items: userTurn('late') }), 'not_found');
      await expectCode(ctx.store.flushThread(p.threadId), 'not_found');
      await expectCode(ctx.store.shutdownThread(p.threadId), 'not_found');
    });

    it('append, flush, persist and shutdown without a live writer are not_found', async () => {
      const never = newThreadId();
      await expectCode(ctx.store.appendItems({ threadId: never, items: userTurn('x') }), 'not_found');
      await expectCode(ctx.store.flushThread(never), 'not_found');
      await expectCode(ctx.store.persistThread(never), 'not_found');
      await expectCode(ctx.store.shutdownThread(never), 'not_found');
      // A stored thread whose writer was shut down has no live writer either.
      const id = await seedThread(ctx.store, ctx.provider);
      await expectCode(ctx.store.appendItems({ threadId: id, items: userTurn('x') }), 'not_found');
      await expectCode(ctx.store.persistThread(id), 'not_found');
    });

    it('discardThread keeps what is durable, drops what is not, and closes the writer', async () => {
      const p = createParams(ctx.provider);
      await ctx.store.createThread(p);
      await ctx.store.appendItems({ threadId: p.threadId, items: userTurn('durable') });
      await ctx.store.flushThread(p.threadId);
      await ctx.store.appendItems({ threadId: p.threadId, items: userTurn('never flushed') });
      await ctx.store.discardThread(p.threadId);
      const history = await loadHistoryItems(ctx.store, { threadId: p.threadId });
      expect(history).toHaveLength(1 + userTurn('durable').length);
      expect(JSON.stringify(history)).not.toContain('never flushed');
      await expectCode(ctx.store.appendItems({ threadId: p.threadId, items: userTurn('after') }), 'not_found');
      await expectCode(ctx.store.flushThread(p.threadId), 'not_found');
      await expectCode(ctx.store.persistThread(p.threadId), 'not_found');
      await expectCode(ctx.store.shutdownThread(p.threadId), 'not_found');
    });

    it('discardThread of a never-materialized thread leaves no trace', async () => {
      const p = createParams(ctx.provider);
      await ctx.store.createThread(p);
      await ctx.store.appendItems({ threadId: p.threadId, items: userTurn('dropped') });
      await ctx.store.discardThread(p.threadId);
      await expectCode(ctx.store.readThread({ threadId: p.threadId }), 'not_found');
      await expectCode(ctx.store.resumeThread({ threadId: p.threadId }), 'not_found');
      await ctx.store.createThread(p);
      await ctx.store.discardThread(p.threadId);
    });

    it('discardThread without a live writer is ok, and so is discarding twice', async () => {
      await ctx.store.discardThread(newThreadId());
      const p = createParams(ctx.provider);
      await ctx.store.createThread(p);
      await ctx.store.discardThread(p.threadId);
      await ctx.store.discardThread(p.threadId);
    });

    it('after a discard, resumeThread continues from the durable prefix', async () => {
      const p = createParams(ctx.provider);
      await ctx.store.createThread(p);
      await ctx.store.appendItems({ threadId: p.threadId, items: userTurn('kept turn') });
      await ctx.store.flushThread(p.threadId);
      await ctx.store.appendItems({ threadId: p.threadId, items: userTurn('dropped turn') });
      await ctx.store.discardThread(p.threadId);
      await ctx.store.resumeThread({ threadId: p.threadId });
      await ctx.store.appendItems({ threadId: p.threadId, items: userTurn('resumed turn') });
      await ctx.store.shutdownThread(p.threadId);
      const text = JSON.stringify(await loadHistoryItems(ctx.store, { threadId: p.threadId }));
      expect(text).toContain('kept turn');
      expect(text).not.toContain('dropped turn');
      expect(text.indexOf('kept turn')).toBeLessThan(text.indexOf('resumed turn'));
    });

    it('a second createThread for a thread with a live writer is a conflict', async () => {
      const p = createParams(ctx.provider);
      await ctx.store.createThread(p);
      await expectCode(ctx.store.createThread(p), 'conflict');
      await ctx.store.appendItems({ threadId: p.threadId, items: userTurn('still live') });
      await ctx.store.flushThread(p.threadId);
      await expectCode(ctx.store.createThread(p), 'conflict');
      await expectCode(ctx.store.resumeThread({ threadId: p.threadId }), 'conflict');
    });

    it('createThread of a thread that already exists (active or archived) is a conflict', async () => {
      const id = await seedThread(ctx.store, ctx.provider);
      await expectCode(ctx.store.createThread(createParams(ctx.provider, { threadId: id })), 'conflict');
      await ctx.store.archiveThread({ threadId: id });
      await expectCode(ctx.store.createThread(createParams(ctx.provider, { threadId: id })), 'conflict');
    });

    it('resumeThread appends after the existing history', async () => {
      const id = await seedThread(ctx.store, ctx.provider, { user: 'turn one', agent: 'answer one' });
      const before = await loadHistoryItems(ctx.store, { threadId: id });
      await ctx.store.resumeThread({ threadId: id });
      await ctx.store.appendItems({ threadId: id, items: userTurn('turn two') });
      await ctx.store.flushThread(id);
      const after = await loadHistoryItems(ctx.store, { threadId: id });
      expect(after.slice(0, before.length)).toEqual(before);
      expect(after).toHaveLength(before.length + userTurn('turn two').length);
      expect(shape(after).filter((s) => s === 'session_meta')).toHaveLength(1);
      // The first user message stays the preview.
      await expect(ctx.store.readThread({ threadId: id })).resolves.toMatchObject({ preview: 'turn one' });
      await ctx.store.shutdownThread(id);
    });

    it('resumeThread of a missing thread is not_found; of a live one a conflict', async () => {
      await expectCode(ctx.store.resumeThread({ threadId: newThreadId() }), 'not_found');
      const id = await seedThread(ctx.store, ctx.provider, { keepLive: true });
      await expectCode(ctx.store.resumeThread({ threadId: id }), 'conflict');
      await ctx.store.shutdownThread(id);
      await ctx.store.resumeThread({ threadId: id });
      await ctx.store.shutdownThread(id);
    });

    it('resumeThread of an archived thread needs includeArchived, and the thread stays archived', async () => {
      const id = await seedThread(ctx.store, ctx.provider);
      await ctx.store.archiveThread({ threadId: id });
      const e = await expectCode(ctx.store.resumeThread({ threadId: id }), 'not_found');
      expect(e.message).toMatch(/archived/i);
      await ctx.store.resumeThread({ threadId: id, includeArchived: true });
      await ctx.store.appendItems({ threadId: id, items: userTurn('while archived') });
      await ctx.store.shutdownThread(id);
      const t = await ctx.store.readThread({ threadId: id, includeArchived: true });
      expect(t.archivedAt).not.toBeNull();
      expect(JSON.stringify(await loadHistoryItems(ctx.store, { threadId: id, includeArchived: true }))).toContain(
        'while archived',
      );
    });

    it('resuming and shutting down without appending leaves the history as it was', async () => {
      const id = await seedThread(ctx.store, ctx.provider);
      const before = await loadHistoryItems(ctx.store, { threadId: id });
      await ctx.store.resumeThread({ threadId: id });
      await ctx.store.persistThread(id);
      await ctx.store.flushThread(id);
      await ctx.store.shutdownThread(id);
      expect(await loadHistoryItems(ctx.store, { threadId: id })).toEqual(before);
    });

    it('persistThread after items were appended makes them durable too', async () => {
      const p = createParams(ctx.provider);
      await ctx.store.createThread(p);
      await ctx.store.appendItems({ threadId: p.threadId, items: userTurn('persisted') });
      await ctx.store.persistThread(p.threadId);
      await expect(ctx.store.readThread({ threadId: p.threadId })).resolves.toMatchObject({ preview: 'persisted' });
      await ctx.store.discardThread(p.threadId);
      await expect(ctx.store.readThread({ threadId: p.threadId })).resolves.toMatchObject({ preview: 'persisted' });
    });

    it.skipIf(ctx.harness.capabilities.paginatedHistory === true)(
      'createThread with historyMode "paginated" is unsupported',
      async () => {
        const p = createParams(ctx.provider);
        p.historyMode = 'paginated';
        await expectCode(ctx.store.createThread(p), 'unsupported');
      },
    );

    it.skipIf(ctx.harness.capabilities.paginatedHistory !== true)(
      'createThread with historyMode "paginated" writes a paginated thread',
      async () => {
        const p = createParams(ctx.provider);
        p.historyMode = 'paginated';
        await ctx.store.createThread(p);
        await ctx.store.appendItems({ threadId: p.threadId, items: userTurn('paged') });
        await ctx.store.shutdownThread(p.threadId);
        await expect(ctx.store.readThread({ threadId: p.threadId })).resolves.toMatchObject({
          historyMode: 'paginated',
          preview: 'paged',
        });
      },
    );

    it('createThread needs a non-empty model provider', async () => {
      const p = createParams(ctx.provider);
      p.metadata = { cwd: CWD_A, modelProvider: '' };
      await expectCode(ctx.store.createThread(p), 'invalid_request');
    });

    it('several live writers on different threads keep their items apart', async () => {
      const a = createParams(ctx.provider, { createdAt: at(1) });
      const b = createParams(ctx.provider, { createdAt: at(2) });
      await ctx.store.createThread(a);
      await ctx.store.createThread(b);
      await ctx.store.appendItems({ threadId: a.threadId, items: userTurn('for a') });
      await ctx.store.appendItems({ threadId: b.threadId, items: userTurn('for b') });
      await ctx.store.appendItems({ threadId: a.threadId, items: userTurn('more for a') });
      await ctx.store.shutdownThread(a.threadId);
      await ctx.store.shutdownThread(b.threadId);
      const ha = JSON.stringify(await loadHistoryItems(ctx.store, { threadId: a.threadId }));
      const hb = JSON.stringify(await loadHistoryItems(ctx.store, { threadId: b.threadId }));
      expect(ha).toContain('more for a');
      expect(ha).not.toContain('for b');
      expect(hb).not.toContain('for a');
    });

    it('close() flushes live writers; later calls are invalid_request; closing twice is ok', async () => {
      const p = createParams(ctx.provider);
      await ctx.store.createThread(p);
      await ctx.store.appendItems({ threadId: p.threadId, items: userTurn('flushed by close') });
      await ctx.store.close();
      await ctx.store.close();
      await expectCode(ctx.store.readThread({ threadId: p.threadId }), 'invalid_request');
      await expectCode(ctx.store.listThreads({}), 'invalid_request');
      await expectCode(ctx.store.createThread(createParams(ctx.provider)), 'invalid_request');
    });
  });
}
