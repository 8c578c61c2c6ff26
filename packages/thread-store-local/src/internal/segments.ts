import { existsSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { sqliteAddon } from './sqlite-addon.js';
import { parseRolloutFileName, plainRolloutPath } from './paths.js';

/**
 * A paginated thread can have several rollout files: Codex's revert starts a new segment
 * (`rollout-<stamp>-<thread>_<rollout>.jsonl`) whose `history_base` points at the older one, and
 * appends go to the newest. Codex records which one in `state_5.threads.rollout_path`; that row
 * is authoritative when it names a file of the thread that exists.
 */
export function codexRolloutPath(stateDb: string, threadId: string): string | null {
  if (!existsSync(stateDb)) return null;
  let db: Database.Database | null = null;
  try {
    db = new Database(stateDb, { ...sqliteAddon(), readonly: true, fileMustExist: true });
    db.pragma('busy_timeout = 2000');
    const row = db.prepare('SELECT rollout_path FROM threads WHERE id = ?').get(threadId) as
      { rollout_path: unknown } | undefined;
    const p = row?.rollout_path;
    if (typeof p !== 'string' || p === '') return null;
    const name = parseRolloutFileName(path.basename(p));
    if (!name || name.threadId !== threadId.toLowerCase()) return null;
    const plain = plainRolloutPath(p);
    if (existsSync(plain)) return plain;
    return existsSync(`${plain}.zst`) ? `${plain}.zst` : null;
  } catch {
    return null;
  } finally {
    db?.close();
  }
}
