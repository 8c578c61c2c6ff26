import type Database from 'better-sqlite3';

/**
 * How many listed `threads` rows (listable, with a preview) there are per combination of the
 * columns the listing filters of `countThreads` use (archived, source, provider), kept by triggers in
 * the same transaction as every change to `threads`. A listing's count without a cwd, search or
 * start filter then sums a handful of groups instead of walking 100,000 index entries (10 ms on
 * every `skein threads list`, for its footer).
 *
 * Triggers, not code in the indexer, so the table stays right whoever writes `threads`: an older
 * Skein of the same schema version sharing the home fires them too. Rows are written with
 * `INSERT OR REPLACE`, whose implicit delete fires no DELETE trigger (unless a connection turns
 * `recursive_triggers` on, which Skein never does), so a BEFORE INSERT trigger takes the row about
 * to be replaced out of its group.
 */

/**
 * The grouped columns, the same names as in `threads`, so a listing's WHERE clause applies as it
 * is (listable and has_preview are 1 in every group); in the order of the `threads_by_source`
 * index, which the table is filled and checked from.
 */
export const COUNT_COLUMNS = [
  'archived',
  'source_kind',
  'subagent_kind',
  'source_key',
  'model_provider',
  'listable',
  'has_preview',
] as const;

const cols = COUNT_COLUMNS.join(', ');
/** The groups as counted from the rows: the `threads_by_source` index alone, never the (large) rows. */
const COUNTED = `SELECT ${cols}, count(*) AS n FROM threads INDEXED BY threads_by_source
  WHERE listable = 1 AND has_preview = 1 GROUP BY ${cols}`;
/**
 * `thread_counts.c IS <value of c>` for every grouped column (IS: subagent_kind may be NULL);
 * the values do not depend on the `thread_counts` row, so the group is found by its index.
 */
const group = (value: (c: string) => string): string =>
  COUNT_COLUMNS.map((c) => `thread_counts.${c} IS ${value(c)}`).join(' AND ');
const add = (row: string): string => `
  INSERT INTO thread_counts (${cols}, n)
    SELECT ${COUNT_COLUMNS.map((c) => `${row}.${c}`).join(', ')}, 0
    WHERE ${row}.listable = 1 AND ${row}.has_preview = 1 AND NOT EXISTS (SELECT 1 FROM thread_counts WHERE ${group((c) => `${row}.${c}`)});
  UPDATE thread_counts SET n = n + 1 WHERE ${group((c) => `${row}.${c}`)};`;
const remove = (value: (c: string) => string): string => `
  UPDATE thread_counts SET n = n - 1 WHERE ${group(value)};
  DELETE FROM thread_counts WHERE ${group(value)} AND n <= 0;`;
/**
 * The row an INSERT OR REPLACE is about to replace: none (every value NULL) or one not listed
 * (listable or has_preview 0) matches no group.
 */
const replaced = (c: string): string => `(SELECT ${c} FROM threads WHERE thread_id = new.thread_id)`;

const TRIGGERS = `
CREATE TRIGGER thread_counts_replace BEFORE INSERT ON threads BEGIN ${remove(replaced)}
END;
CREATE TRIGGER thread_counts_insert AFTER INSERT ON threads BEGIN ${add('new')}
END;
CREATE TRIGGER thread_counts_delete AFTER DELETE ON threads BEGIN ${remove((c) => `old.${c}`)}
END;
CREATE TRIGGER thread_counts_update AFTER UPDATE OF ${cols} ON threads BEGIN ${remove((c) => `old.${c}`)} ${add('new')}
END;`;

/**
 * Creates the table, filled from the rows, and its triggers; inside the caller's write
 * transaction (the one that creates a new index's schema, or ensureThreadCounts').
 */
export function createThreadCounts(db: Database.Database): void {
  db.exec(`DROP TABLE IF EXISTS thread_counts;
CREATE TABLE thread_counts (
  archived INTEGER NOT NULL,
  listable INTEGER NOT NULL,
  has_preview INTEGER NOT NULL,
  source_kind TEXT NOT NULL,
  subagent_kind TEXT,
  source_key TEXT NOT NULL,
  model_provider TEXT NOT NULL,
  n INTEGER NOT NULL
);
CREATE INDEX thread_counts_group ON thread_counts(${cols});
INSERT INTO thread_counts (${cols}, n) ${COUNTED};
${TRIGGERS}`);
}

/**
 * Creates the table and its triggers in an index made before them (filling the table from the
 * rows, in the same transaction), or does nothing when they are there.
 */
export function ensureThreadCounts(db: Database.Database): void {
  const present = (): boolean =>
    db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND name = 'thread_counts_update'").get() !==
    undefined;
  if (present()) return;
  db.exec('BEGIN IMMEDIATE');
  try {
    if (!present()) createThreadCounts(db);
    db.exec('COMMIT');
  } catch (e) {
    db.exec('ROLLBACK');
    throw e;
  }
}

/**
 * The groups as counted from the rows now, and as the table holds them, each sorted the same
 * way: equal unless the table was damaged (the integrity pass and the tests compare them).
 */
export function threadCountsAgree(db: Database.Database): boolean {
  const order = `ORDER BY ${cols}`;
  // One read transaction: both from the same snapshot, whoever writes meanwhile.
  return db.transaction(() => {
    const counted = db.prepare(`SELECT * FROM (${COUNTED}) ${order}`).all();
    const kept = db.prepare(`SELECT ${cols}, n FROM thread_counts WHERE n > 0 ${order}`).all();
    return JSON.stringify(counted) === JSON.stringify(kept);
  })();
}

/** Refills the table from the rows (after `threadCountsAgree` found it wrong). */
export function recountThreads(db: Database.Database): void {
  db.transaction(() => {
    db.exec('DELETE FROM thread_counts');
    db.exec(`INSERT INTO thread_counts (${cols}, n) ${COUNTED}`);
  }).immediate();
}
