import { existsSync, renameSync, rmSync, statSync } from 'node:fs';
import Database from 'better-sqlite3';
import { sqliteAddon } from './sqlite-addon.js';
import { ThreadStoreError } from '@skein/thread-store-api';
import { assertNotSymlink } from './no-follow.js';
import { createThreadCounts, ensureThreadCounts } from './thread-counts.js';

/**
 * Skein's own SQLite index in the home. It is a cache: every answer can be rebuilt from the
 * rollout files and `session_index.jsonl`, so a damaged or foreign file is moved aside and
 * rebuilt rather than repaired. The schema version is both in the file name
 * (`skein_index_<version>.sqlite`) and in `user_version`; a new version starts a new file.
 */
export const SCHEMA_VERSION = 7;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS files (
  rel TEXT PRIMARY KEY,
  thread_id TEXT NOT NULL,
  archived INTEGER NOT NULL,
  listable INTEGER NOT NULL,
  zst INTEGER NOT NULL,
  size INTEGER NOT NULL,
  mtime_ms REAL NOT NULL,
  ctime_ms REAL NOT NULL,
  ino INTEGER NOT NULL,
  indexed_bytes INTEGER NOT NULL,
  state TEXT NOT NULL,
  -- A paginated fork's history_base (thread id, end offset in the parent): search follows it.
  base_id TEXT,
  base_end INTEGER,
  -- Checksums of each row's values (row-sum.ts), verified on read and in the background.
  sum INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS files_thread ON files(thread_id);
CREATE INDEX IF NOT EXISTS files_by_mtime ON files(mtime_ms);
CREATE TABLE IF NOT EXISTS threads (
  thread_id TEXT PRIMARY KEY,
  rel TEXT NOT NULL,
  archived INTEGER NOT NULL,
  listable INTEGER NOT NULL,
  has_preview INTEGER NOT NULL,
  model_provider TEXT NOT NULL,
  cwd TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL,
  recency_ms INTEGER NOT NULL,
  archived_ms INTEGER,
  name TEXT,
  preview TEXT NOT NULL,
  source TEXT NOT NULL,
  -- The listing filters as columns, so a page is one indexed SQL query: the source's kind, the
  -- sub-agent kind (subagent_review, …) or NULL, sessionSourceKey, and name / preview lowercased
  -- the way String.prototype.toLowerCase does it (SQLite's own folding is ASCII-only).
  source_kind TEXT NOT NULL,
  subagent_kind TEXT,
  source_key TEXT NOT NULL,
  name_lc TEXT NOT NULL,
  preview_lc TEXT NOT NULL,
  data TEXT NOT NULL,
  sum INTEGER NOT NULL
);
-- Keyset paging walks one of these in order (listings only show listable threads with a preview).
CREATE INDEX IF NOT EXISTS threads_by_created ON threads(archived, created_ms, thread_id)
  WHERE listable = 1 AND has_preview = 1;
CREATE INDEX IF NOT EXISTS threads_by_updated ON threads(archived, updated_ms, thread_id)
  WHERE listable = 1 AND has_preview = 1;
CREATE INDEX IF NOT EXISTS threads_by_recency ON threads(archived, recency_ms, thread_id)
  WHERE listable = 1 AND has_preview = 1;
CREATE INDEX IF NOT EXISTS threads_rel ON threads(rel);
-- Counts of a listing (\`countThreads\`) read only this index, never the (large) rows: it holds
-- every column of the source and provider filters.
CREATE INDEX IF NOT EXISTS threads_by_source
  ON threads(archived, source_kind, subagent_kind, source_key, model_provider)
  WHERE listable = 1 AND has_preview = 1;
CREATE TABLE IF NOT EXISTS names (
  thread_id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  at_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS kv (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
CREATE VIRTUAL TABLE IF NOT EXISTS messages USING fts5(text, tokenize = 'trigram case_sensitive 0');
CREATE TABLE IF NOT EXISTS message_files (
  rid INTEGER PRIMARY KEY,
  rel TEXT NOT NULL,
  -- The layout of the row's messages (see content-search.ts): lengths and end offsets.
  parts TEXT NOT NULL,
  -- Checksum of the FTS row's text and parts.
  sum INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS message_files_rel ON message_files(rel);
-- The turns of each file (see turn-index.ts): where each starts and ends, in history positions
-- and bytes, so a page of turns or items reads only those turns' bytes. open = 1 marks the turn
-- still open at the end of the indexed bytes (rewritten by the next pass).
CREATE TABLE IF NOT EXISTS turns (
  rel TEXT NOT NULL,
  ordinal INTEGER NOT NULL,
  last_ordinal INTEGER NOT NULL,
  turn_id TEXT NOT NULL,
  open INTEGER NOT NULL,
  paginated INTEGER NOT NULL,
  status TEXT NOT NULL,
  error TEXT,
  started_ms INTEGER,
  completed_ms INTEGER,
  duration_ms INTEGER,
  start_byte INTEGER NOT NULL,
  end_byte INTEGER NOT NULL,
  items_before INTEGER NOT NULL,
  item_count INTEGER NOT NULL,
  PRIMARY KEY (rel, ordinal)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS turns_by_id ON turns(rel, turn_id);
CREATE INDEX IF NOT EXISTS turns_by_last ON turns(rel, last_ordinal);
`;

/**
 * How many segments of a level FTS5 merges into one (its `automerge` setting; SQLite's default
 * is 4). Every commit of `messages` rows writes a new segment holding each distinct trigram of
 * its rows; merging 16 at a time instead of 4 rewrites each posting about half as often. A cold
 * index of 10,000 synthetic threads commits ~120 times, and the merges were most of its FTS5
 * time (~2.3 s of FTS5 work with 4, ~1.6 s with 16). Queries read at most 16 segments per level
 * instead of 4; the (few) levels keep that small.
 */
export const FTS_AUTOMERGE = 16;

const TABLES = ['files', 'threads', 'names', 'kv', 'messages', 'message_files', 'turns'];

export type Db = Database.Database;

/**
 * `quick_check` reads every page, ~60 ms per 10 MB: on a large index it dominated every open.
 * Files up to this size are checked on open; damage in a larger file is found when a query
 * meets it (see isIndexCorruption) and the store then rebuilds the index.
 */
export const QUICK_CHECK_MAX_BYTES = 8 * 1024 * 1024;

/** The file is not a usable index (or a row in it is damaged): it is moved aside and rebuilt. */
export class DamagedIndex extends Error {}

function fileSize(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

function tryOpen(file: string): Db {
  const small = fileSize(file) + fileSize(`${file}-wal`) <= QUICK_CHECK_MAX_BYTES;
  const db = new Database(file, sqliteAddon());
  try {
    db.pragma('busy_timeout = 10000');
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    if (small) {
      const check = db.pragma('quick_check', { simple: true });
      if (check !== 'ok') throw new DamagedIndex(`quick_check: ${String(check)}`);
    }
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION)
      throw new DamagedIndex(`schema version ${version} is newer than this Skein (${SCHEMA_VERSION})`);
    if (version < SCHEMA_VERSION) {
      // Version 0 is a fresh file; later versions migrate here, step by step.
      db.exec('BEGIN IMMEDIATE');
      try {
        const again = db.pragma('user_version', { simple: true }) as number;
        if (again < SCHEMA_VERSION) {
          // The index is a cache: an older layout is dropped and rebuilt from the files.
          if (again > 0) for (const t of TABLES) db.exec(`DROP TABLE IF EXISTS ${t}`);
          db.exec(SCHEMA);
          createThreadCounts(db);
          db.pragma(`user_version = ${SCHEMA_VERSION}`);
        }
        db.exec('COMMIT');
      } catch (e) {
        db.exec('ROLLBACK');
        throw e;
      }
    }
    // Added within schema 7: the recently modified files, which change detection stats on open.
    if (!db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = 'files_by_mtime'").get())
      db.exec('CREATE INDEX IF NOT EXISTS files_by_mtime ON files(mtime_ms)');
    // Added within schema 7: threads whose rows must be rebuilt from their files. Marked in the
    // transaction that changes their files' rows, cleared in the one that rebuilds them, so a
    // process killed between the two leaves the rebuild to the next pass.
    db.exec('CREATE TABLE IF NOT EXISTS pending_threads (thread_id TEXT PRIMARY KEY) WITHOUT ROWID');
    // Added within schema 7: the index a listing's count reads instead of the thread rows.
    if (!db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = 'threads_by_source'").get())
      db.exec(
        'CREATE INDEX IF NOT EXISTS threads_by_source ON threads(archived, source_kind, subagent_kind, source_key, model_provider) WHERE listable = 1 AND has_preview = 1',
      );
    // Added within schema 7: the per-group counts of the thread rows (thread-counts.ts).
    ensureThreadCounts(db);
    // A cheap probe that every table answers (a truncated file can pass the header checks): the
    // first and the last row of each, so both ends of every b-tree are read, whatever its size
    // (counting the rows read all of them, a tenth of a second per open at 100,000 threads).
    try {
      for (const t of ['files', 'threads', 'names', 'kv', 'message_files'])
        db.prepare(`SELECT (SELECT min(rowid) FROM ${t}), (SELECT max(rowid) FROM ${t})`).get();
      db.prepare(
        'SELECT (SELECT rel FROM turns ORDER BY rel, ordinal LIMIT 1), (SELECT rel FROM turns ORDER BY rel DESC, ordinal DESC LIMIT 1)',
      ).get();
      db.prepare("SELECT count(*) FROM messages WHERE messages MATCH 'probe'").get();
    } catch (e) {
      if (isBusy(e)) throw e;
      throw new DamagedIndex(`probe: ${(e as Error).message}`);
    }
    // Set within schema 7 (a setting of the FTS5 table, kept in its `messages_config` table), once
    // per file: see FTS_AUTOMERGE.
    const automerge = db.prepare("SELECT v FROM messages_config WHERE k = 'automerge'").pluck().get();
    if (automerge !== FTS_AUTOMERGE)
      db.prepare(`INSERT INTO messages (messages, rank) VALUES ('automerge', ${FTS_AUTOMERGE})`).run();
    return db;
  } catch (e) {
    db.close();
    throw e;
  }
}

function isDamaged(e: unknown): boolean {
  if (e instanceof DamagedIndex) return true;
  const code = (e as { code?: string }).code ?? '';
  return code.startsWith('SQLITE_CORRUPT') || code.startsWith('SQLITE_NOTADB');
}

/**
 * Whether an error thrown by an index operation (or anything it was wrapped in, via `cause`)
 * says the index file is damaged, so the store should move it aside and rebuild it.
 */
export function isIndexCorruption(e: unknown): boolean {
  for (let cur = e, depth = 0; cur && typeof cur === 'object' && depth < 5; depth++) {
    if (isDamaged(cur)) return true;
    cur = (cur as { cause?: unknown }).cause;
  }
  return false;
}

function moveAside(file: string): void {
  const aside = `${file}.corrupt-${Date.now()}`;
  try {
    if (existsSync(file)) renameSync(file, aside);
    for (const ext of ['-wal', '-shm']) rmSync(file + ext, { force: true });
  } catch (moveErr) {
    throw ThreadStoreError.internal(
      `the index ${file} is damaged and cannot be moved aside (${(moveErr as Error).message}); delete it and retry`,
      moveErr,
    );
  }
}

/**
 * Moves an index found damaged while in use aside (the caller has closed its connection) and
 * opens a fresh one, which the caller then fills from the files.
 */
export function reopenDamagedIndexDb(file: string): Db {
  moveAside(file);
  try {
    return tryOpen(file);
  } catch (e) {
    throw ThreadStoreError.internal(
      `cannot create the index ${file}: ${(e as Error).message}; check the home folder`,
      e,
    );
  }
}

function isBusy(e: unknown): boolean {
  const code = (e as { code?: string }).code ?? '';
  return code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED');
}

/**
 * Opens (creating or rebuilding as needed) the index. A file that fails to open, fails the
 * integrity check (small files only, see QUICK_CHECK_MAX_BYTES) or the per-table probe, or has
 * a newer schema is moved aside to `<name>.corrupt-<time>` and a fresh
 * index is created; the caller then re-indexes the home.
 */
export function openIndexDb(file: string): { db: Db; rebuilt: boolean } {
  assertNotSymlink(file);
  const existed = existsSync(file);
  try {
    return { db: tryOpen(file), rebuilt: !existed };
  } catch (e) {
    if (isBusy(e))
      throw new ThreadStoreError('unavailable', `the index ${file} is busy; retry in a moment`, { cause: e });
    // Only a file that is certainly damaged is moved aside: another process may be using it.
    if (!isDamaged(e))
      throw ThreadStoreError.internal(
        `cannot open the index ${file}: ${(e as Error).message}; check the home folder's permissions and free space`,
        e,
      );
    return { db: reopenDamagedIndexDb(file), rebuilt: true };
  }
}
