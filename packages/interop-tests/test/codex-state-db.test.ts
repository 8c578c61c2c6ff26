import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LocalThreadStore, type LocalStoreWarning } from '@skein/thread-store-local';
import { parseThreadId } from '@skein/thread-store-api';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppServerClient, assertRunOk, MOCK_PROVIDER_ID, runCodexExec, type AppServerThread } from '../src/harness.js';
import { useCodexFixture } from './support/codex-fixture.js';

/**
 * Codex's own state_5.sqlite, made by the real binary with CODEX_SQLITE_HOME pointing outside
 * the home: Skein finds it where Codex does, keeps its rows in step (Codex then shows Skein's
 * rename), and reports instead of hiding it when Codex holds the database busy.
 */
describe("Codex's state DB under CODEX_SQLITE_HOME", () => {
  const fx = useCodexFixture(0);
  let sqliteHome: string;
  beforeAll(async () => {
    sqliteHome = await mkdtemp(path.join(tmpdir(), 'skein-codex-sqlite-'));
  });
  afterAll(async () => {
    await rm(sqliteHome, { recursive: true, force: true });
  });

  async function codexName(id: string): Promise<string | null> {
    const client = await AppServerClient.start(fx.home, { env: { CODEX_SQLITE_HOME: sqliteHome } });
    try {
      return (await client.request<{ thread: AppServerThread }>('thread/read', { threadId: id })).thread.name;
    } finally {
      await client.close();
    }
  }

  it('updates the DB Codex uses, and reports a busy DB as a warning without failing the rename', async () => {
    const { home } = fx;
    const run = await runCodexExec(home, ['a thread whose DB lives elsewhere'], {
      env: { CODEX_SQLITE_HOME: sqliteHome },
    });
    assertRunOk(run);
    const id = parseThreadId(run.threadId);
    expect(existsSync(path.join(sqliteHome, 'state_5.sqlite'))).toBe(true);
    expect(existsSync(path.join(home.path, 'state_5.sqlite'))).toBe(false);

    const warnings: LocalStoreWarning[] = [];
    const saved = process.env.CODEX_SQLITE_HOME;
    process.env.CODEX_SQLITE_HOME = sqliteHome;
    let store: LocalThreadStore;
    try {
      store = new LocalThreadStore({
        home: home.path,
        defaultModelProvider: MOCK_PROVIDER_ID,
        onWarning: (w) => warnings.push(w),
      });
    } finally {
      if (saved === undefined) delete process.env.CODEX_SQLITE_HOME;
      else process.env.CODEX_SQLITE_HOME = saved;
    }
    try {
      await store.updateThreadMetadata({ threadId: id, patch: { name: 'named by Skein' } });
      expect(warnings).toEqual([]);
      // Codex shows names from its DB: this is only visible because Skein updated that DB.
      expect(await codexName(id)).toBe('named by Skein');

      // Codex (here: another connection) holds the write lock: the rename still happens in the
      // files, and the DB miss is reported.
      const holder = new Database(path.join(sqliteHome, 'state_5.sqlite'));
      holder.exec('BEGIN IMMEDIATE');
      try {
        const t = await store.updateThreadMetadata({ threadId: id, patch: { name: 'while Codex is busy' } });
        expect(t.name).toBe('while Codex is busy');
      } finally {
        holder.exec('ROLLBACK');
        holder.close();
      }
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatchObject({ code: 'codex_state', threadId: id });
      expect(warnings[0]!.message).toContain('state_5.sqlite');
      expect(await codexName(id)).toBe('named by Skein');
      expect((await store.readThread({ threadId: id })).name).toBe('while Codex is busy');
    } finally {
      await store.close();
    }
  });
});
