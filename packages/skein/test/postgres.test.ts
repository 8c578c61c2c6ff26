import { describe, expect, it } from 'vitest';
import { isThreadStoreError, loadHistoryItems, newThreadId } from '@skein/thread-store-api';
import { RemoteThreadStore } from '@skein/thread-store-remote';
import { cleanEnv, ok, run, serve } from './cli-harness.js';
import { useTestDatabase } from './pg-database.js';

// A database of its own on the PostgreSQL at SKEIN_TEST_PG_URL (default: the local cluster).
const url = useTestDatabase('skein_cli');

describe('skein with --store postgres://…', () => {
  it('db migrate applies the schema once and then reports it current', async () => {
    const env = cleanEnv();
    expect(await ok(['db', 'migrate', '--store', url], { env })).toMatch(
      /applied 1: .*\napplied 2: .*\napplied 3: .*\napplied 4: .*\n.*schema version 0 -> 4/,
    );
    expect(await ok(['db', 'migrate'], { env: { ...env, SKEIN_STORE: url } })).toContain(
      'schema is current (version 4)',
    );
    const missing = await run(['db', 'migrate'], { env });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--store postgres://');
    const wrong = await run(['db', 'migrate', '--store', 'http://127.0.0.1:7077'], { env });
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('PostgreSQL URL');
  });

  it('two stateless servers on one database: both see every thread, one live writer per thread', async () => {
    const env = cleanEnv();
    const one = await serve(null, ['--store', url], env);
    const two = await serve(null, [], { ...env, SKEIN_STORE: url });
    const a = new RemoteThreadStore({ baseUrl: one.url });
    const b = new RemoteThreadStore({ baseUrl: two.url });
    try {
      expect(one.output().stdout).toContain(`Store:     ${url}`);
      const threadId = newThreadId();
      await a.createThread({ threadId, source: { kind: 'cli' }, metadata: { cwd: '/repo', modelProvider: 'openai' } });
      await a.appendItems({
        threadId,
        items: [{ type: 'event_msg', payload: { type: 'user_message', message: 'written through server one' } }],
      });
      await a.flushThread(threadId);
      expect((await b.listThreads({})).items.map((t) => t.threadId)).toEqual([threadId]);
      const conflict: unknown = await b.resumeThread({ threadId }).catch((e: unknown) => e);
      expect(isThreadStoreError(conflict, 'conflict')).toBe(true);
      await a.shutdownThread(threadId);
      await b.resumeThread({ threadId });
      await b.appendItems({
        threadId,
        items: [{ type: 'event_msg', payload: { type: 'agent_message', message: 'and through server two' } }],
      });
      await b.shutdownThread(threadId);
      const text = JSON.stringify(await loadHistoryItems(a, { threadId }));
      expect(text.indexOf('written through server one')).toBeLessThan(text.indexOf('and through server two'));

      // The other commands take the database directly too.
      expect(await ok(['threads', 'list', '--store', url], { env })).toContain('written through server one');
      expect(await ok(['threads', 'list'], { env: { ...env, SKEIN_STORE: url } })).toContain(threadId.slice(0, 8));
      const both = await run(['threads', 'list', '--store', url, '--home', '/tmp'], { env });
      expect(both.code).toBe(2);
    } finally {
      await a.close();
      await b.close();
      expect((await one.stop()).code).toBe(0);
      expect((await two.stop()).code).toBe(0);
    }
    expect(one.output().stdout).toContain('Everything written is committed');
  });
});
