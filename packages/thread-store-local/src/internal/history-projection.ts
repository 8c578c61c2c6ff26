import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import { sqliteAddon } from './sqlite-addon.js';
import { isObject } from '@skein/thread-store-api';
import type { WrittenLine } from './recorder.js';

/**
 * Keeps Codex's `thread_history_1.sqlite` projection of a paginated rollout current after Skein
 * appends to it, as Codex's own writer does after each flush: `thread/read {includeTurns}` and
 * `thread/turns/list` read only these rows, so without this a Skein turn stays invisible to Codex
 * until it next loads the thread. Runs under the thread's writer lock, and only when the
 * checkpoint (`next_rollout_byte_offset`) equals the file size before the append: any other state
 * is left for Codex to catch up from its checkpoint, except a checkpoint past the end of the file
 * (the file was cut), whose rows are reset so Codex rebuilds them. Never creates Codex's schema;
 * errors are swallowed (the rollout is authoritative and Codex re-projects it on load).
 */

const REQUIRED: Record<string, readonly string[]> = {
  thread_turns: [
    'thread_id',
    'turn_id',
    'rollout_ordinal',
    'status',
    'error_json',
    'started_at',
    'completed_at',
    'duration_ms',
    'first_user_item_id',
    'final_agent_item_id',
    'rollout_byte_offset',
    'rollout_end_ordinal',
    'rollout_end_byte_offset',
    'root_turn_id',
  ],
  thread_items: [
    'thread_id',
    'turn_id',
    'item_id',
    'rollout_ordinal',
    'created_at_ms',
    'item_json',
    'item_type',
    'updated_at_ordinal',
    'started_at_ms',
    'completed_at_ms',
  ],
  thread_history_projection_state: ['thread_id', 'next_rollout_byte_offset', 'next_rollout_ordinal'],
};

function schemaFits(db: Database.Database): boolean {
  for (const [table, cols] of Object.entries(REQUIRED)) {
    const have = new Set(
      (db.prepare(`SELECT name FROM pragma_table_info('${table}')`).all() as { name: string }[]).map((c) => c.name),
    );
    if (!cols.every((c) => have.has(c))) return false;
  }
  return true;
}

/** The app-server v2 ThreadItem JSON Codex stores for an `item_completed` item; null if unknown. */
export function v2ItemJson(item: Record<string, unknown>): { type: string; json: string } | null {
  const id = item.id;
  if (typeof id !== 'string') return null;
  const content = Array.isArray(item.content) ? (item.content as unknown[]).filter(isObject) : [];
  switch (item.type) {
    case 'UserMessage': {
      const parts = content.map((c) =>
        c.type === 'text' ? { type: 'text', text: c.text, text_elements: c.text_elements ?? [] } : c,
      );
      return { type: 'userMessage', json: JSON.stringify({ type: 'userMessage', id, clientId: null, content: parts }) };
    }
    case 'AgentMessage': {
      const text = content.map((c) => (typeof c.text === 'string' ? c.text : '')).join('');
      return {
        type: 'agentMessage',
        json: JSON.stringify({
          type: 'agentMessage',
          moderation: null,
          id,
          text,
          phase: item.phase ?? null,
          memoryCitation: null,
          delivery: null,
          questions: null,
        }),
      };
    }
    case 'Reasoning':
      return {
        type: 'reasoning',
        json: JSON.stringify({
          type: 'reasoning',
          id,
          summary: Array.isArray(item.summary_text) ? item.summary_text : [],
          content: Array.isArray(item.raw_content) ? item.raw_content : [],
        }),
      };
    default:
      return null;
  }
}

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? Math.floor(v) : null;
}

function str(v: unknown): string | null {
  return typeof v === 'string' && v !== '' ? v : null;
}

/** Whether Skein can project every line itself (an item it cannot convert is left to Codex). */
function projectable(lines: readonly WrittenLine[]): boolean {
  return lines.every((l) => {
    const p = l.item.payload;
    if (l.item.type !== 'event_msg' || !isObject(p) || p.type !== 'item_completed') return true;
    return isObject(p.item) && v2ItemJson(p.item) !== null;
  });
}

type Outcome = 'projected' | 'skipped' | 'reset' | 'absent';

/**
 * Projects lines Skein just appended to the rollout `rolloutId` (the file was `sizeBefore` bytes
 * before them). Returns what it did (tests look at it).
 */
export function projectAppended(
  dbPath: string,
  rolloutId: string,
  lines: readonly WrittenLine[],
  sizeBefore: number,
): Outcome {
  if (lines.length === 0 || !existsSync(dbPath)) return 'absent';
  let db: Database.Database | null = null;
  try {
    db = new Database(dbPath, { ...sqliteAddon(), fileMustExist: true });
    db.pragma('busy_timeout = 5000');
    if (!schemaFits(db)) return 'absent';
    const conn = db;
    const run = conn.transaction((): Outcome => {
      const state = conn
        .prepare(
          'SELECT next_rollout_byte_offset AS off, next_rollout_ordinal AS ord FROM thread_history_projection_state WHERE thread_id = ?',
        )
        .get(rolloutId) as { off: number; ord: number } | undefined;
      const checkpoint = state?.off ?? 0;
      if (checkpoint > sizeBefore) {
        // The file is shorter than what was projected: the rows describe bytes that are gone.
        for (const t of ['thread_items', 'thread_turns', 'thread_history_projection_state'])
          conn.prepare(`DELETE FROM ${t} WHERE thread_id = ?`).run(rolloutId);
        return 'reset';
      }
      if (checkpoint !== sizeBefore || !projectable(lines)) return 'skipped';
      let expected = state?.ord ?? lines[0]!.ordinal;
      for (const line of lines) {
        if (line.ordinal < expected) continue;
        projectLine(conn, rolloutId, line);
        expected = line.ordinal + 1;
      }
      const last = lines[lines.length - 1]!;
      conn
        .prepare(
          `INSERT INTO thread_history_projection_state (thread_id, next_rollout_byte_offset, next_rollout_ordinal)
           VALUES (?, ?, ?) ON CONFLICT(thread_id) DO UPDATE SET
             next_rollout_byte_offset = excluded.next_rollout_byte_offset,
             next_rollout_ordinal = excluded.next_rollout_ordinal`,
        )
        .run(rolloutId, last.end, expected);
      return 'projected';
    });
    return run.immediate();
  } catch {
    return 'skipped';
  } finally {
    db?.close();
  }
}

function ensureTurn(db: Database.Database, rolloutId: string, turnId: string, line: WrittenLine): void {
  db.prepare(
    `INSERT INTO thread_turns (thread_id, turn_id, rollout_ordinal, status, rollout_byte_offset, root_turn_id)
     VALUES (?, ?, ?, 'inProgress', ?, ?) ON CONFLICT(thread_id, turn_id) DO NOTHING`,
  ).run(rolloutId, turnId, line.ordinal, line.start, turnId);
}

function finalAgentItem(db: Database.Database, rolloutId: string, turnId: string): string | null {
  const rows = db
    .prepare(
      `SELECT item_id, item_json FROM thread_items WHERE thread_id = ? AND turn_id = ? AND item_type = 'agentMessage'
       ORDER BY rollout_ordinal DESC`,
    )
    .all(rolloutId, turnId) as { item_id: string; item_json: string }[];
  const phase = (r: { item_json: string }): unknown => (JSON.parse(r.item_json) as { phase?: unknown }).phase ?? null;
  return (rows.find((r) => phase(r) === 'final_answer') ?? rows.find((r) => phase(r) === null))?.item_id ?? null;
}

function projectLine(db: Database.Database, rolloutId: string, line: WrittenLine): void {
  const p = line.item.payload;
  if (line.item.type !== 'event_msg' || !isObject(p)) return;
  const turnId = str(p.turn_id);
  switch (p.type) {
    case 'task_started': {
      if (!turnId) return;
      db.prepare(
        `INSERT INTO thread_turns (thread_id, turn_id, rollout_ordinal, status, started_at, rollout_byte_offset, root_turn_id)
         VALUES (?, ?, ?, 'inProgress', ?, ?, ?) ON CONFLICT(thread_id, turn_id) DO UPDATE SET
           rollout_ordinal = excluded.rollout_ordinal, rollout_byte_offset = excluded.rollout_byte_offset,
           started_at = excluded.started_at`,
      ).run(rolloutId, turnId, line.ordinal, num(p.started_at), line.start, str(p.root_turn_id) ?? turnId);
      return;
    }
    case 'task_complete':
    case 'turn_aborted': {
      if (!turnId) return;
      ensureTurn(db, rolloutId, turnId, line);
      const failed = p.type === 'task_complete' && isObject(p.error);
      const status = p.type === 'turn_aborted' ? 'interrupted' : failed ? 'failed' : 'completed';
      db.prepare(
        `UPDATE thread_turns SET status = ?, error_json = ?, completed_at = ?, duration_ms = ?,
           rollout_end_ordinal = ?, rollout_end_byte_offset = ?, final_agent_item_id = ?
         WHERE thread_id = ? AND turn_id = ?`,
      ).run(
        status,
        failed ? JSON.stringify(p.error) : null,
        num(p.completed_at),
        num(p.duration_ms),
        line.ordinal,
        line.end,
        finalAgentItem(db, rolloutId, turnId),
        rolloutId,
        turnId,
      );
      return;
    }
    case 'item_completed': {
      if (!turnId || !isObject(p.item) || str(p.thread_id) === null) return;
      const v2 = v2ItemJson(p.item);
      if (!v2) return;
      const itemId = p.item.id as string;
      const ts = Date.parse(typeof line.item.timestamp === 'string' ? line.item.timestamp : '');
      const completed = num(p.completed_at_ms);
      db.prepare(
        `INSERT INTO thread_items (thread_id, turn_id, item_id, rollout_ordinal, created_at_ms, item_json, item_type,
           updated_at_ordinal, started_at_ms, completed_at_ms)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(thread_id, turn_id, item_id) DO UPDATE SET
           item_json = excluded.item_json, updated_at_ordinal = excluded.updated_at_ordinal,
           completed_at_ms = excluded.completed_at_ms`,
      ).run(
        rolloutId,
        turnId,
        itemId,
        line.ordinal,
        completed ?? (Number.isNaN(ts) ? Date.now() : ts),
        v2.json,
        v2.type,
        line.ordinal,
        num(p.started_at_ms),
        completed,
      );
      if (v2.type === 'userMessage')
        db.prepare(
          'UPDATE thread_turns SET first_user_item_id = ? WHERE thread_id = ? AND turn_id = ? AND first_user_item_id IS NULL',
        ).run(itemId, rolloutId, turnId);
      return;
    }
    default:
      return;
  }
}
