import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import type { ThreadId } from '@skein/thread-store-api';
import { meta, openStore, tmpHome, userMsg, writeRollout } from './helpers/home.js';

const A = '0a1b2c3d-0000-4000-8000-0000000000c1' as ThreadId;
const P = '0a1b2c3d-0000-4000-8000-0000000000c2' as ThreadId;

function home(withState: 'full' | 'minimal' | 'none'): { home: string; file: string } {
  const h = tmpHome();
  const file = writeRollout(h, `sessions/2025/10/01/rollout-2025-10-01T12-00-00-${A}.jsonl`, [
    meta(A),
    userMsg('first message'),
  ]);
  writeRollout(h, `sessions/2025/10/02/rollout-2025-10-02T12-00-00-${P}.jsonl`, [
    { ...(meta(P, { history_mode: 'paginated' }) as object), ordinal: 0 },
    {
      timestamp: '2025-10-02T12:00:01.000Z',
      ordinal: 1,
      type: 'event_msg',
      payload: {
        type: 'item_completed',
        item: { type: 'UserMessage', id: 'u', content: [{ type: 'text', text: 'paginated' }] },
      },
    },
  ]);
  if (withState !== 'none') {
    const db = new Database(path.join(h, 'state_5.sqlite'));
    db.pragma('journal_mode = WAL');
    if (withState === 'full') {
      db.exec(`CREATE TABLE threads (id TEXT PRIMARY KEY, rollout_path TEXT NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
        updated_at_ms INTEGER, title TEXT NOT NULL, first_user_message TEXT NOT NULL DEFAULT '', preview TEXT NOT NULL DEFAULT '',
        name TEXT, archived INTEGER DEFAULT 0, archived_at INTEGER, history_mode TEXT NOT NULL DEFAULT 'legacy');
        CREATE TABLE thread_dynamic_tools (thread_id TEXT NOT NULL REFERENCES threads(id) ON DELETE CASCADE, position INTEGER, name TEXT);`);
      const ins = db.prepare(
        'INSERT INTO threads (id, rollout_path, created_at, updated_at, title, first_user_message, preview, history_mode) VALUES (?, ?, 1, 1, ?, ?, ?, ?)',
      );
      ins.run(A, file, 'first message', 'first message', 'first message', 'legacy');
      ins.run(P, 'x', 'paginated', 'paginated', 'paginated', 'paginated');
      db.prepare('INSERT INTO thread_dynamic_tools VALUES (?, 0, ?)').run(A, 'tool');
    } else {
      db.exec('CREATE TABLE threads (id TEXT PRIMARY KEY, rollout_path TEXT NOT NULL)');
      db.prepare('INSERT INTO threads VALUES (?, ?)').run(A, file);
    }
    db.close();
  }
  return { home: h, file };
}

function row(h: string, id: string): Record<string, unknown> | undefined {
  const db = new Database(path.join(h, 'state_5.sqlite'), { readonly: true });
  try {
    return db.prepare('SELECT * FROM threads WHERE id = ?').get(id) as Record<string, unknown> | undefined;
  } finally {
    db.close();
  }
}

describe("Codex's state_5.sqlite", () => {
  it('keeps the threads row in step on archive, unarchive, rename and delete', async () => {
    const { home: h, file } = home('full');
    const store = openStore(h);
    const before = Math.floor(Date.now() / 1000);
    await store.archiveThread({ threadId: A });
    const archived = row(h, A);
    expect(archived).toMatchObject({
      archived: 1,
      rollout_path: path.join(h, 'archived_sessions', path.basename(file)),
    });
    expect(archived?.archived_at as number).toBeGreaterThanOrEqual(before);

    await store.unarchiveThread({ threadId: A });
    expect(row(h, A)).toMatchObject({ archived: 0, archived_at: null, rollout_path: file });

    await store.updateThreadMetadata({ threadId: A, patch: { name: 'legacy name' } });
    expect(row(h, A)).toMatchObject({ title: 'legacy name', name: null });
    await store.updateThreadMetadata({ threadId: A, patch: { name: null } });
    expect(row(h, A)).toMatchObject({ title: 'first message' });
    await store.updateThreadMetadata({ threadId: P, patch: { name: 'paginated name' } });
    expect(row(h, P)).toMatchObject({ name: 'paginated name', title: 'paginated' });

    await store.deleteThread({ threadId: A });
    expect(row(h, A)).toBeUndefined();
    const db = new Database(path.join(h, 'state_5.sqlite'), { readonly: true });
    expect(db.prepare('SELECT count(*) AS n FROM thread_dynamic_tools').get()).toEqual({ n: 0 });
    db.close();
  });

  it('updates only the columns an older schema has', async () => {
    const { home: h } = home('minimal');
    const store = openStore(h);
    await store.archiveThread({ threadId: A });
    expect(row(h, A)?.rollout_path).toContain('archived_sessions');
    await store.updateThreadMetadata({ threadId: A, patch: { name: 'n' }, includeArchived: true });
    await store.deleteThread({ threadId: A });
    expect(row(h, A)).toBeUndefined();
  });

  it('never creates the file when Codex has none', async () => {
    const { home: h } = home('none');
    const store = openStore(h);
    await store.archiveThread({ threadId: A });
    await store.updateThreadMetadata({ threadId: A, patch: { name: 'n' }, includeArchived: true });
    await store.deleteThread({ threadId: A });
    expect(existsSync(path.join(h, 'state_5.sqlite'))).toBe(false);
    // The rename and the delete were recorded in session_index.jsonl (delete rewrote it).
    expect(readFileSync(path.join(h, 'session_index.jsonl'), 'utf8')).toBe('');
  });
});
