import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { collectHistory, isThreadStoreError, newThreadId } from '@skein/thread-store-api';
import type { ThreadId } from '@skein/thread-store-api';
import { LocalThreadStore } from '@skein/thread-store-local';
import { RemoteThreadStore, startThreadStoreServer } from '@skein/thread-store-remote';
import { record, seeded, selfMaxRssMiB, trials } from './figures.js';
import { tempDir } from './home.js';

const TOKENS = { 'alpha-token-0123456789': 'alpha', 'beta-token-01234567890': 'beta' };

/** What a call answered: `ok`, a ThreadStoreError code, or `wrong: …` for anything else. */
async function outcome(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    return isThreadStoreError(e) ? e.code : `wrong: ${String(e)}`;
  }
}

describe('tenant escape', () => {
  it('a tenant never reads, lists, finds or changes another tenant’s threads, by id, cursor or search', async () => {
    const rounds = trials(20, 300);
    const rand = seeded(0x7e7a);
    const dir = tempDir('skein-rel-tenants-');
    const server = await startThreadStoreServer({
      auth: { tokens: TOKENS },
      logger: false,
      storeForTenant: (tenant) => {
        const home = path.join(dir, tenant);
        mkdirSync(home, { recursive: true });
        return new LocalThreadStore({ home });
      },
    });
    const alpha = new RemoteThreadStore({ baseUrl: server.url, token: 'alpha-token-0123456789' });
    const beta = new RemoteThreadStore({ baseUrl: server.url, token: 'beta-token-01234567890' });
    const alphaIds: ThreadId[] = [];
    const wrong: string[] = [];
    let calls = 0;
    const expectCode = async (what: string, p: Promise<unknown>, allowed: string[]): Promise<void> => {
      calls += 1;
      const got = await outcome(p);
      if (!allowed.includes(got)) wrong.push(`${what}: ${got}`);
    };

    for (let round = 0; round < rounds; round++) {
      // Alpha writes a thread with a word only it uses.
      const id = newThreadId();
      const secret = `alphasecret${round}x${Math.floor(rand() * 1e9)}`;
      await alpha.createThread({
        threadId: id,
        source: { kind: 'cli' },
        metadata: { cwd: '/a', modelProvider: 'openai' },
      });
      await alpha.appendItems({
        threadId: id,
        items: [{ type: 'event_msg', payload: { type: 'user_message', message: `remember ${secret}` } }],
      });
      await alpha.flushThread(id);
      if (rand() < 0.5) await alpha.shutdownThread(id);
      alphaIds.push(id);

      // Beta, by every door.
      const target = alphaIds[Math.floor(rand() * alphaIds.length)]!;
      await expectCode('readThread', beta.readThread({ threadId: target, includeHistory: true }), ['not_found']);
      await expectCode('loadHistory', collectHistory(beta.loadHistory({ threadId: target })), ['not_found']);
      await expectCode('listTurns', beta.listTurns({ threadId: target }), ['not_found']);
      await expectCode('listItems', beta.listItems({ threadId: target }), ['not_found']);
      await expectCode('resumeThread', beta.resumeThread({ threadId: target }), ['not_found']);
      await expectCode('appendItems', beta.appendItems({ threadId: target, items: [] }), ['not_found']);
      await expectCode('flushThread', beta.flushThread(target), ['not_found']);
      await expectCode(
        'updateThreadMetadata',
        beta.updateThreadMetadata({ threadId: target, patch: { name: 'stolen' } }),
        ['not_found'],
      );
      await expectCode('archiveThread', beta.archiveThread({ threadId: target }), ['not_found']);
      await expectCode('unarchiveThread', beta.unarchiveThread({ threadId: target }), ['not_found']);
      await expectCode('deleteThread', beta.deleteThread({ threadId: target }), ['not_found']);
      const listed = await beta.listThreads({ modelProviders: [] });
      const found = await beta.searchThreads({ searchTerm: secret, modelProviders: [] });
      calls += 2;
      if (listed.items.some((t) => alphaIds.includes(t.threadId))) wrong.push('listThreads showed an alpha thread');
      if (found.items.length > 0) wrong.push('searchThreads found an alpha thread');
      // A cursor alpha was given, replayed by beta: never alpha's threads.
      const page = await alpha.listThreads({ modelProviders: [], pageSize: 1 });
      if (page.nextCursor !== null) {
        calls += 1;
        const got = await beta
          .listThreads({ modelProviders: [], pageSize: 5, cursor: page.nextCursor })
          .catch((e) => e);
        if (isThreadStoreError(got)) {
          if (got.code !== 'invalid_request') wrong.push(`cursor replay: ${got.code}`);
        } else if (got.items.some((t: { threadId: ThreadId }) => alphaIds.includes(t.threadId)))
          wrong.push('a replayed cursor showed an alpha thread');
      }
    }

    // Everything alpha wrote is intact, unrenamed, unarchived.
    for (const id of alphaIds) {
      const t = await alpha.readThread({ threadId: id });
      if (t.name === 'stolen' || t.archivedAt !== null) wrong.push(`alpha thread ${id} was changed`);
    }
    await alpha.close();
    await beta.close();
    await server.close();

    // Tenant names that are not one plain folder name are refused before any store is opened.
    for (const name of ['..', '.', 'a/b', '', '../x', 'a\\b', '\u0000']) {
      calls += 1;
      const started = await outcome(
        startThreadStoreServer({
          auth: { tokens: { 'edge-token-0123456789': name } },
          storeForTenant: () => new LocalThreadStore({ home: dir }),
          logger: false,
        }).then((s) => s.close()),
      );
      if (started !== 'invalid_request') wrong.push(`tenant name ${JSON.stringify(name)}: ${started}`);
    }

    record({
      probe: 'tenant escape: another tenant’s ids, cursors and search terms through every RPC',
      trials: rounds,
      acknowledged: alphaIds.length,
      lost: 0,
      wrong: wrong.length,
      maxRssMiB: selfMaxRssMiB(),
      notes: `${calls} calls by the other tenant or with edge tenant names`,
    });
    expect(wrong).toEqual([]);
  });
});
