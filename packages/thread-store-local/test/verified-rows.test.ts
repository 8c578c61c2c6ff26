import { appendFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { normalizeListParams } from '@skein/thread-store-api';
import { DamagedIndex, openIndexDb, SCHEMA_VERSION } from '../src/internal/index-db.js';
import { ThreadIndex } from '../src/internal/indexer.js';
import { HomeLayout } from '../src/internal/paths.js';
import { agentMsg, meta, tmpHome, userMsg, writeRollout } from './helpers/home.js';

/**
 * Rows an answer reads are checked against their checksums; a row checked before with the same
 * served values is not hashed again (verified-rows.ts), and any change to them is.
 */

const THREADS = 12;
const idOf = (i: number): string => `0f000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
const relOf = (i: number): string =>
  `sessions/2026/02/${String(1 + i).padStart(2, '0')}/rollout-2026-02-${String(1 + i).padStart(2, '0')}T10-00-00-${idOf(i)}.jsonl`;

function indexedHome(): { home: string; index: ThreadIndex; db: Database.Database } {
  const home = tmpHome();
  for (let i = 0; i < THREADS; i++)
    writeRollout(home, relOf(i), [
      meta(idOf(i), { cwd: `/work/p${i}` }, `2026-02-${String(1 + i).padStart(2, '0')}T10:00:00.000Z`),
      userMsg(`question ${i}`),
    ]);
  const layout = new HomeLayout(home);
  const { db } = openIndexDb(layout.indexDb);
  return { home, index: new ThreadIndex(layout, db, 'openai'), db };
}

const page = (index: ThreadIndex) =>
  index.snapshot(() => index.listPage(normalizeListParams({ pageSize: 100 }, 'openai'), 'local', null));

/** Runs `sql` on the index file from another connection, as damage from outside would come. */
function tamper(home: string, sql: string, ...args: unknown[]): void {
  const other = new Database(path.join(home, `skein_index_${SCHEMA_VERSION}.sqlite`));
  expect(other.prepare(sql).run(...args).changes).toBe(1);
  other.close();
}

describe('rows checked once are not hashed again while they stay the same', () => {
  it('a repeated page hashes nothing; a thread that changed is hashed again', async () => {
    const { home, index, db } = indexedHome();
    try {
      await index.syncAll();
      const first = page(index);
      expect(first.items).toHaveLength(THREADS);
      expect(index.rowsHashed).toBe(THREADS);
      expect(page(index)).toEqual(first);
      expect(index.locate(idOf(3))?.thread.cwd).toBe('/work/p3');
      expect(index.rowsHashed).toBe(THREADS);
      // One thread grows: its row is rewritten, and only it is checked again.
      appendFileSync(path.join(home, relOf(5)), `${JSON.stringify(agentMsg('a later answer'))}\n`);
      await index.syncAll();
      page(index);
      expect(index.rowsHashed).toBe(THREADS + 1);
    } finally {
      db.close();
    }
  });

  it('served values changed under a checked row (its sum kept) are caught by the next answer', async () => {
    const { home, index, db } = indexedHome();
    try {
      await index.syncAll();
      page(index);
      tamper(home, `UPDATE threads SET data = replace(data, '/work/p4', '/work/pX') WHERE thread_id = ?`, idOf(4));
      expect(() => page(index)).toThrow(DamagedIndex);
      expect(() => index.locate(idOf(4))).toThrow(DamagedIndex);
      // The other rows were not touched and still answer.
      expect(index.locate(idOf(2))?.thread.cwd).toBe('/work/p2');
    } finally {
      db.close();
    }
  });

  it('a sum changed under a checked row is caught, by a listing and by a read by id', async () => {
    const { home, index, db } = indexedHome();
    try {
      await index.syncAll();
      page(index);
      tamper(home, 'UPDATE threads SET sum = sum + 1 WHERE thread_id = ?', idOf(9));
      expect(() => index.locate(idOf(9))).toThrow(/does not match its checksum/);
      expect(() => page(index)).toThrow(DamagedIndex);
    } finally {
      db.close();
    }
  });
});
