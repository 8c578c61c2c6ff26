import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { sqliteAddon } from './sqlite-addon.js';

/**
 * Keeps Codex's own `state_5.sqlite` `threads` row in step with what Skein did to the files, so
 * Codex does not show stale state. Never creates or migrates Codex's schema: when the file, the
 * table or a column is missing, that part is skipped. A failure (Codex holding the database
 * busy, a damaged file) is thrown to the caller, which reports it as a warning: the files are
 * authoritative and Codex repairs its rows from them.
 */
export type CodexStateChange =
  | { kind: 'archive'; rolloutPath: string; at: Date }
  | { kind: 'unarchive'; rolloutPath: string; at: Date }
  | { kind: 'rename'; name: string | null }
  | { kind: 'delete' }
  /** A new segment of a paginated thread: appends go to it from now on. */
  | { kind: 'segment'; rolloutPath: string };

/** Where Codex keeps its SQLite files for this home. */
export interface CodexDbPaths {
  state: string;
  history: string;
}

/**
 * Codex's rule: `sqlite_home` in `config.toml`, else `$CODEX_SQLITE_HOME`, else the home itself.
 * `explicit` (a store option) wins over both.
 */
export function codexDbPaths(home: string, explicit?: string, env = process.env): CodexDbPaths {
  const dir = explicit ?? configSqliteHome(home) ?? nonEmpty(env.CODEX_SQLITE_HOME) ?? home;
  const abs = path.resolve(home, dir);
  return { state: path.join(abs, 'state_5.sqlite'), history: path.join(abs, 'thread_history_1.sqlite') };
}

function nonEmpty(v: string | undefined): string | undefined {
  return v !== undefined && v.trim() !== '' ? v : undefined;
}

/** A top-level `sqlite_home = "…"` in `$CODEX_HOME/config.toml` (before any [table]). */
function configSqliteHome(home: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(path.join(home, 'config.toml'), 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (t.startsWith('[')) return undefined;
    const m = /^sqlite_home\s*=\s*(?:"((?:[^"\\]|\\.)*)"|'([^']*)')\s*(?:#.*)?$/.exec(t);
    if (m) return nonEmpty(m[2] ?? (JSON.parse(`"${m[1] ?? ''}"`) as string));
  }
  return undefined;
}

/** How long one attempt waits inside SQLite for Codex's lock (it blocks the thread meanwhile). */
const BUSY_TIMEOUT_MS = 100;
/** Attempts, with the event loop free between them. */
const ATTEMPTS = 5;

function isBusy(e: unknown): boolean {
  const code = (e as { code?: string }).code;
  return code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED';
}

/**
 * Applies the change; false when there is no state DB (or no `threads` table) to update.
 * Retries while Codex holds the database, with short in-SQLite waits and timers between.
 */
export async function updateCodexState(
  paths: CodexDbPaths,
  threadId: string,
  change: CodexStateChange,
): Promise<boolean> {
  for (let attempt = 1; ; attempt++) {
    try {
      return applyCodexState(paths, threadId, change);
    } catch (e) {
      if (!isBusy(e) || attempt >= ATTEMPTS) throw e;
      await new Promise((r) => setTimeout(r, BUSY_TIMEOUT_MS));
    }
  }
}

function applyCodexState(paths: CodexDbPaths, threadId: string, change: CodexStateChange): boolean {
  if (!existsSync(paths.state)) return false;
  let db: Database.Database | null = null;
  try {
    db = new Database(paths.state, { ...sqliteAddon(), fileMustExist: true });
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
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
        case 'segment': {
          set({ rollout_path: change.rolloutPath });
          break;
        }
        case 'delete': {
          conn.prepare('DELETE FROM threads WHERE id = ?').run(threadId);
          break;
        }
      }
    }).immediate();
    if (change.kind === 'delete') deleteHistoryRows(paths, threadId);
    return true;
  } finally {
    db?.close();
  }
}

function deleteHistoryRows(paths: CodexDbPaths, threadId: string): void {
  if (!existsSync(paths.history)) return;
  let db: Database.Database | null = null;
  try {
    db = new Database(paths.history, { ...sqliteAddon(), fileMustExist: true });
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
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
  } finally {
    db?.close();
  }
}
