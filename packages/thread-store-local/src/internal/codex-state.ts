import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import type { HomeLayout } from './paths.js';

/**
 * Keeps Codex's own `state_5.sqlite` `threads` row in step with what Skein did to the files, so
 * Codex does not show stale state. Never creates or migrates Codex's schema: when the file, the
 * table or a column is missing, that part is skipped. Errors are swallowed, as Codex itself does
 * for these updates: the files are authoritative and Codex repairs its rows from them.
 */
export type CodexStateChange =
  | { kind: 'archive'; rolloutPath: string; at: Date }
  | { kind: 'unarchive'; rolloutPath: string; at: Date }
  | { kind: 'rename'; name: string | null }
  | { kind: 'delete' };

export function updateCodexState(layout: HomeLayout, threadId: string, change: CodexStateChange): boolean {
  if (!existsSync(layout.codexStateDb)) return false;
  let db: Database.Database | null = null;
  try {
    db = new Database(layout.codexStateDb, { fileMustExist: true });
    db.pragma('busy_timeout = 5000');
    // Codex declares cascades (spawn edges, dynamic tools…) on its threads rows.
    if (change.kind === 'delete') db.pragma('foreign_keys = ON');
    const cols = new Set(
      (db.prepare("SELECT name FROM pragma_table_info('threads')").all() as { name: string }[]).map((c) => c.name),
    );
    if (!cols.has('id')) return false;
    const conn = db;
    const set = (assignments: Record<string, unknown>): void => {
      const usable = Object.entries(assignments).filter(([k]) => cols.has(k));
      if (usable.length === 0) return;
      conn
        .prepare(`UPDATE threads SET ${usable.map(([k]) => `${k} = ?`).join(', ')} WHERE id = ?`)
        .run(...usable.map(([, v]) => v), threadId);
    };
    db.transaction(() => {
      switch (change.kind) {
        case 'archive': {
          const s = Math.floor(change.at.getTime() / 1000);
          set({ rollout_path: change.rolloutPath, archived: 1, archived_at: s });
          break;
        }
        case 'unarchive': {
          const s = Math.floor(change.at.getTime() / 1000);
          set({
            rollout_path: change.rolloutPath,
            archived: 0,
            archived_at: null,
            updated_at: s,
            updated_at_ms: change.at.getTime(),
          });
          break;
        }
        case 'rename': {
          // Codex keeps paginated names in `name` and legacy ones in `title`.
          const row = cols.has('history_mode')
            ? (conn.prepare('SELECT history_mode FROM threads WHERE id = ?').get(threadId) as
                { history_mode: string } | undefined)
            : undefined;
          if (row?.history_mode === 'paginated' || !cols.has('title')) set({ name: change.name });
          else if (change.name !== null) set({ title: change.name });
          else if (cols.has('first_user_message'))
            conn.prepare('UPDATE threads SET title = first_user_message WHERE id = ?').run(threadId);
          break;
        }
        case 'delete': {
          conn.prepare('DELETE FROM threads WHERE id = ?').run(threadId);
          break;
        }
      }
    }).immediate();
    if (change.kind === 'delete') deleteHistoryRows(layout, threadId);
    return true;
  } catch {
    return false;
  } finally {
    db?.close();
  }
}

function deleteHistoryRows(layout: HomeLayout, threadId: string): void {
  if (!existsSync(layout.codexHistoryDb)) return;
  let db: Database.Database | null = null;
  try {
    db = new Database(layout.codexHistoryDb, { fileMustExist: true });
    db.pragma('busy_timeout = 5000');
    const conn = db;
    const tables = new Set(
      (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map(
        (r) => r.name,
      ),
    );
    db.transaction(() => {
      for (const t of ['thread_turns', 'thread_items', 'thread_history_projection_state', 'thread_realtime_items'])
        if (tables.has(t)) conn.prepare(`DELETE FROM ${t} WHERE thread_id = ?`).run(threadId);
    }).immediate();
  } catch {
    // Codex rebuilds its projection from the files.
  } finally {
    db?.close();
  }
}
