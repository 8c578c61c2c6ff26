import { describe, expect, it } from 'vitest';
import type { RolloutItem, ThreadSearchResult } from '@skein/thread-store-api';
import type { SuiteContext } from '../context.js';
import { CWD_B, at, expectCode, seedThread } from '../fixtures.js';

const threadIds = (items: readonly ThreadSearchResult[]): string[] => items.map((r) => r.thread.threadId);

export function searchTests(ctx: SuiteContext): void {
  describe.skipIf(ctx.harness.capabilities.contentSearch === false)('search', () => {
    it('finds a whole word of a user message, case-insensitively, with a snippet', async () => {
      const hit = await seedThread(ctx.store, ctx.provider, {
        createdAt: at(1),
        user: 'please look at the flamingo config loader',
      });
      await seedThread(ctx.store, ctx.provider, { createdAt: at(2), user: 'nothing to see here' });
      for (const term of ['flamingo', 'FLAMINGO', 'Flamingo']) {
        const page = await ctx.store.searchThreads({ searchTerm: term });
        expect(threadIds(page.items), term).toEqual([hit]);
        expect(page.items[0]?.snippet.toLowerCase()).toContain('flamingo');
        // Some context around the match, not the bare term.
        expect(page.items[0]?.snippet.length).toBeGreaterThan(term.length);
        expect(page.items[0]?.thread.preview).toBe('please look at the flamingo config loader');
      }
    });

    it('finds a word that only an agent message contains', async () => {
      const hit = await seedThread(ctx.store, ctx.provider, {
        createdAt: at(1),
        user: 'what broke?',
        agent: 'The marmalade cache was stale.',
      });
      const page = await ctx.store.searchThreads({ searchTerm: 'marmalade' });
      expect(threadIds(page.items)).toEqual([hit]);
      expect(page.items[0]?.snippet).toContain('marmalade');
    });

    it('finds words in later turns, not only the first', async () => {
      const id = await seedThread(ctx.store, ctx.provider, { createdAt: at(1), user: 'first turn' });
      await ctx.store.resumeThread({ threadId: id });
      await ctx.store.appendItems({
        threadId: id,
        items: [{ type: 'event_msg', payload: { type: 'user_message', message: 'now about the pelican migration' } }],
      });
      await ctx.store.shutdownThread(id);
      expect(threadIds((await ctx.store.searchThreads({ searchTerm: 'pelican' })).items)).toEqual([id]);
    });

    it('finds 1- and 2-character terms in any message of one write, not only the first', async () => {
      const msg = (type: 'user_message' | 'agent_message', message: string): RolloutItem => ({
        type: 'event_msg',
        payload: { type, message },
      });
      const late = await seedThread(ctx.store, ctx.provider, {
        createdAt: at(1),
        user: 'an opening message',
        // Only the third and fourth messages of the same write hold the terms.
        extra: [
          msg('agent_message', 'nothing yet'),
          msg('user_message', 'then ☃ appeared'),
          msg('agent_message', 'Q7 ok'),
        ],
      });
      const first = await seedThread(ctx.store, ctx.provider, { createdAt: at(2), user: 'q7 and ☃ first' });
      await seedThread(ctx.store, ctx.provider, { createdAt: at(3), user: 'none of those here' });
      for (const term of ['☃', 'q7', 'Q7', 'Q', '7'])
        expect(threadIds((await ctx.store.searchThreads({ searchTerm: term })).items), term).toEqual([first, late]);
      const page = await ctx.store.searchThreads({ searchTerm: 'q7' });
      expect(page.items[1]?.snippet).toContain('Q7 ok');
    });

    it('finds 3+ character terms that only a later message of the same write holds', async () => {
      const id = await seedThread(ctx.store, ctx.provider, {
        createdAt: at(1),
        user: 'opening words',
        agent: 'a first reply',
        extra: [
          { type: 'event_msg', payload: { type: 'user_message', message: 'follow-up: MOCK server died' } },
          { type: 'event_msg', payload: { type: 'agent_message', message: 'the capybara restarted it' } },
        ],
      });
      for (const term of ['MOCK', 'mock', 'OC', 'oc', 'capybara', 'bara'])
        expect(threadIds((await ctx.store.searchThreads({ searchTerm: term })).items), term).toEqual([id]);
    });

    it('does not find unflushed text', async () => {
      const id = await seedThread(ctx.store, ctx.provider, { createdAt: at(1), user: 'flushed words', keepLive: true });
      await ctx.store.appendItems({
        threadId: id,
        items: [{ type: 'event_msg', payload: { type: 'agent_message', message: 'quokka pending' } }],
      });
      expect((await ctx.store.searchThreads({ searchTerm: 'quokka' })).items).toEqual([]);
      await ctx.store.flushThread(id);
      expect(threadIds((await ctx.store.searchThreads({ searchTerm: 'quokka' })).items)).toEqual([id]);
      await ctx.store.shutdownThread(id);
    });

    it('no match is an empty page', async () => {
      await seedThread(ctx.store, ctx.provider, { user: 'hello' });
      expect(await ctx.store.searchThreads({ searchTerm: 'xylophone' })).toEqual({
        items: [],
        nextCursor: null,
        backwardsCursor: null,
      });
    });

    it('an empty or blank term is invalid_request', async () => {
      await expectCode(ctx.store.searchThreads({ searchTerm: '' }), 'invalid_request');
      await expectCode(ctx.store.searchThreads({ searchTerm: '   ' }), 'invalid_request');
    });

    it('applies the list filters and the archived collection', async () => {
      const a = await seedThread(ctx.store, ctx.provider, { createdAt: at(1), user: 'walrus in alpha' });
      const b = await seedThread(ctx.store, ctx.provider, { createdAt: at(2), user: 'walrus in beta', cwd: CWD_B });
      const other = await seedThread(ctx.store, ctx.provider, {
        createdAt: at(3),
        user: 'walrus elsewhere',
        modelProvider: 'other-provider',
      });
      const exec = await seedThread(ctx.store, ctx.provider, {
        createdAt: at(4),
        user: 'walrus exec',
        source: { kind: 'exec' },
      });
      const gone = await seedThread(ctx.store, ctx.provider, { createdAt: at(5), user: 'walrus archived' });
      await ctx.store.archiveThread({ threadId: gone });
      expect(threadIds((await ctx.store.searchThreads({ searchTerm: 'walrus' })).items)).toEqual([b, a]);
      expect(threadIds((await ctx.store.searchThreads({ searchTerm: 'walrus', cwdFilters: [CWD_B] })).items)).toEqual([
        b,
      ]);
      expect(threadIds((await ctx.store.searchThreads({ searchTerm: 'walrus', modelProviders: [] })).items)).toEqual([
        other,
        b,
        a,
      ]);
      expect(
        threadIds((await ctx.store.searchThreads({ searchTerm: 'walrus', allowedSources: ['exec'] })).items),
      ).toEqual([exec]);
      expect(threadIds((await ctx.store.searchThreads({ searchTerm: 'walrus', archived: true })).items)).toEqual([
        gone,
      ]);
    });

    it('uses the list order and pages with cursors forward and backward', async () => {
      const made: string[] = [];
      for (let i = 0; i < 5; i += 1)
        made.push(await seedThread(ctx.store, ctx.provider, { createdAt: at(10 - i), user: `otter number ${i}` }));
      await seedThread(ctx.store, ctx.provider, { createdAt: at(50), user: 'no match' });
      const asc = [...made].reverse();
      const seen: string[] = [];
      let page = await ctx.store.searchThreads({ searchTerm: 'otter', sortDirection: 'asc', pageSize: 2 });
      seen.push(...threadIds(page.items));
      while (page.nextCursor) {
        page = await ctx.store.searchThreads({
          searchTerm: 'otter',
          sortDirection: 'asc',
          pageSize: 2,
          cursor: page.nextCursor,
        });
        seen.push(...threadIds(page.items));
      }
      expect(seen).toEqual(asc);
      const back = await ctx.store.searchThreads({
        searchTerm: 'otter',
        sortDirection: 'asc',
        pageSize: 2,
        cursor: page.backwardsCursor,
      });
      expect(threadIds(back.items)).toEqual(asc.slice(2, 4));
    });

    it('a search cursor is not accepted with another search term', async () => {
      for (let i = 0; i < 3; i += 1)
        await seedThread(ctx.store, ctx.provider, { createdAt: at(i), user: `heron ${i} ibis` });
      const page = await ctx.store.searchThreads({ searchTerm: 'heron', pageSize: 1 });
      expect(page.nextCursor).not.toBeNull();
      await expectCode(
        ctx.store.searchThreads({ searchTerm: 'ibis', pageSize: 1, cursor: page.nextCursor }),
        'invalid_request',
      );
    });
  });
}
