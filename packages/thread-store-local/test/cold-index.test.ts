import { appendFileSync, readFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { FTS_AUTOMERGE, SCHEMA_VERSION } from '../src/internal/index-db.js';
import { agentMsg, meta, openStore, tmpHome, userMsg, writeRollout } from './helpers/home.js';

/** What the cold index does to be cheaper must not change what it stores or answers. */

const INDEX = `skein_index_${SCHEMA_VERSION}.sqlite`;
const ID = '0a1b2c3d-0000-4000-8000-0000000000c1';
const REL = `sessions/2025/10/01/rollout-2025-10-01T12-00-00-${ID}.jsonl`;

/** FileState.fingerprint as a separate read of the file's first `upTo` bytes takes it. */
function fingerprintFromDisk(file: string, upTo: number): string {
  const bytes = readFileSync(file).subarray(0, upTo);
  const tail = bytes.subarray(Math.max(0, upTo - 64), upTo);
  return `${bytes.subarray(0, Math.min(256, upTo)).toString('base64')}.${tail.toString('base64')}`;
}

function fileRow(home: string): { indexed_bytes: number; fingerprint: string | undefined } {
  const db = new Database(path.join(home, INDEX), { readonly: true });
  try {
    const row = db.prepare('SELECT indexed_bytes, state FROM files WHERE rel = ?').get(REL) as {
      indexed_bytes: number;
      state: string;
    };
    return {
      indexed_bytes: row.indexed_bytes,
      fingerprint: (JSON.parse(row.state) as { fingerprint?: string }).fingerprint,
    };
  } finally {
    db.close();
  }
}

describe('cold index', () => {
  it('takes a whole file’s fingerprint from the bytes it read, equal to a separate read of the file', async () => {
    const home = tmpHome();
    const file = writeRollout(home, REL, [
      meta(ID),
      userMsg(`a long first message ${'x'.repeat(400)}`),
      agentMsg('and an answer'),
    ]);
    const store = openStore(home);
    await store.indexNow();
    const row = fileRow(home);
    expect(row.indexed_bytes).toBe(readFileSync(file).length);
    expect(row.fingerprint).toBe(fingerprintFromDisk(file, row.indexed_bytes));

    // An append is read as a tail (the fingerprint matched) and finds the new message.
    appendFileSync(file, `${JSON.stringify(userMsg('appended needle text', '2025-10-01T12:00:05.000Z'))}\n`);
    await store.indexNow();
    const after = fileRow(home);
    expect(after.indexed_bytes).toBe(readFileSync(file).length);
    expect(after.fingerprint).toBe(fingerprintFromDisk(file, after.indexed_bytes));
    const hits = await store.searchThreads({ searchTerm: 'needle' });
    expect(hits.items.map((h) => h.thread.threadId)).toEqual([ID]);
  });

  it('sets the FTS5 automerge of a new index, and of an index that had another', async () => {
    const home = tmpHome();
    writeRollout(home, REL, [meta(ID), userMsg('hello there')]);
    const automerge = (): unknown => {
      const db = new Database(path.join(home, INDEX), { readonly: true });
      try {
        return db.prepare("SELECT v FROM messages_config WHERE k = 'automerge'").pluck().get();
      } finally {
        db.close();
      }
    };
    const a = openStore(home);
    await a.indexNow();
    expect(automerge()).toBe(FTS_AUTOMERGE);
    await a.close();

    const db = new Database(path.join(home, INDEX));
    db.prepare("INSERT INTO messages (messages, rank) VALUES ('automerge', 4)").run();
    db.close();
    expect(automerge()).toBe(4);
    const b = openStore(home);
    expect((await b.searchThreads({ searchTerm: 'hello' })).items).toHaveLength(1);
    expect(automerge()).toBe(FTS_AUTOMERGE);
  });
});
