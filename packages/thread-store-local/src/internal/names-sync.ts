import { statSync } from 'node:fs';
import { markPending } from './file-rows.js';
import type { IndexContext } from './index-context.js';
import { readSessionIndex } from './session-index.js';
import type { NameEntry } from './session-index.js';

/** The `names` rows: session_index.jsonl as last read, and which threads' names it changed. */

/** What was read of session_index.jsonl, with the key (size, mtime, inode) to record. */
export interface NamesRead {
  names: Map<string, NameEntry>;
  key: string;
}

/** session_index.jsonl's names when the file changed since the index last read it; null when unchanged. */
export async function namesIfChanged(ctx: IndexContext): Promise<NamesRead | null> {
  let key = 'absent';
  try {
    const st = statSync(ctx.layout.sessionIndex);
    key = `${st.size}:${st.mtimeMs}:${st.ino}`;
  } catch {
    // no session_index.jsonl
  }
  const prev = ctx.stmt("SELECT value FROM kv WHERE key = 'session_index'").get() as { value: string } | undefined;
  if (prev?.value === key) return null;
  const names = key === 'absent' ? new Map<string, NameEntry>() : await readSessionIndex(ctx.layout);
  return { names, key };
}

/**
 * Replaces the indexed names; returns the threads whose name changed. The key of the file read
 * is recorded in the same transaction: a process killed in between must leave the names to be
 * read again, not marked current while they are not.
 */
export function syncNamesChanged(ctx: IndexContext, read: NamesRead | null): string[] {
  if (!read) return [];
  const { names, key } = read;
  const changed: string[] = [];
  ctx.db
    .transaction(() => {
      ctx.stmt("INSERT OR REPLACE INTO kv (key, value) VALUES ('session_index', ?)").run(key);
      const rows = ctx.stmt('SELECT thread_id, name, at_ms FROM names').all() as {
        thread_id: string;
        name: string;
        at_ms: number;
      }[];
      const old = new Map(rows.map((r) => [r.thread_id, r]));
      for (const [id, e] of names) {
        const o = old.get(id);
        if (!o || o.name !== e.name || o.at_ms !== e.atMs) changed.push(id);
      }
      for (const id of old.keys()) if (!names.has(id)) changed.push(id);
      markPending(ctx, changed);
      ctx.stmt('DELETE FROM names').run();
      const ins = ctx.stmt('INSERT INTO names (thread_id, name, at_ms) VALUES (?, ?, ?)');
      for (const [id, e] of names) ins.run(id, e.name, e.atMs);
    })
    .immediate();
  return changed;
}
