import type { Pool, PoolClient } from 'pg';
import { ThreadStoreError } from '@skein/thread-store-api';
import { writeThreadSpans } from './spans.js';
import { reindexThread } from './turn-index.js';

/**
 * The schema, as numbered migrations. Each runs once, in its own transaction, recorded in
 * `skein_schema_migrations`; all of them run under one advisory lock so servers starting
 * together never race. Never edit a released migration: add the next one.
 *
 * Every key starts with `tenant`, so one database holds many tenants and every query of the
 * store names its tenant. Items keep each rollout line's JSON as `text` (jsonb would reorder
 * keys and normalise numbers; the line must come back byte for byte); the columns beside it are
 * derived from it for queries.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
  /** Fills what SQL alone cannot (it runs JavaScript), after `sql`, in the same transaction. */
  backfill?: (db: PoolClient) => Promise<void>;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'threads, items, leases',
    sql: `
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE SEQUENCE skein_lease_tokens;

CREATE TABLE skein_threads (
  tenant text COLLATE "C" NOT NULL,
  thread_id text COLLATE "C" NOT NULL,
  archived boolean NOT NULL DEFAULT false,
  has_preview boolean NOT NULL,
  created_ms bigint NOT NULL,
  updated_ms bigint NOT NULL,
  recency_ms bigint NOT NULL,
  model_provider text NOT NULL,
  cwd text NOT NULL,
  source_kind text NOT NULL,
  subagent_kind text,
  source_key text NOT NULL,
  name_lc text NOT NULL,
  preview_lc text NOT NULL,
  item_count bigint NOT NULL,
  thread text NOT NULL,
  state text NOT NULL,
  PRIMARY KEY (tenant, thread_id)
);
CREATE INDEX skein_threads_by_created ON skein_threads (tenant, archived, created_ms, thread_id) WHERE has_preview;
CREATE INDEX skein_threads_by_updated ON skein_threads (tenant, archived, updated_ms, thread_id) WHERE has_preview;
CREATE INDEX skein_threads_by_recency ON skein_threads (tenant, archived, recency_ms, thread_id) WHERE has_preview;

CREATE TABLE skein_items (
  tenant text COLLATE "C" NOT NULL,
  thread_id text COLLATE "C" NOT NULL,
  seq bigint NOT NULL,
  line text NOT NULL,
  message_lc text,
  PRIMARY KEY (tenant, thread_id, seq),
  FOREIGN KEY (tenant, thread_id) REFERENCES skein_threads (tenant, thread_id) ON DELETE CASCADE
);
CREATE INDEX skein_items_message_trgm ON skein_items USING gin (message_lc gin_trgm_ops)
  WHERE message_lc IS NOT NULL;

CREATE TABLE skein_leases (
  tenant text COLLATE "C" NOT NULL,
  thread_id text COLLATE "C" NOT NULL,
  token bigint NOT NULL,
  owner text NOT NULL,
  expires_at timestamptz NOT NULL,
  PRIMARY KEY (tenant, thread_id)
);
`,
  },
  {
    version: 2,
    name: 'forks by reference: the base on the thread row',
    sql: `
-- A fork by reference (its session_meta has a history_base) keeps only its own items; these say
-- what it inherits: the base thread, history_base.end_ordinal_exclusive as given, and how many of
-- the base's own rows that is (its rows with seq < base_end_seq; NULL: the base has no row past
-- the cut, so all of them). Content search follows them (see list-sql.ts).
ALTER TABLE skein_threads
  ADD COLUMN base_thread_id text COLLATE "C",
  ADD COLUMN base_end_ordinal bigint,
  ADD COLUMN base_end_seq bigint;
CREATE INDEX skein_threads_by_base ON skein_threads (tenant, base_thread_id) WHERE base_thread_id IS NOT NULL;

-- The base's own rows a fork inherits, as readers cut them (inheritedPrefix): up to and
-- including the row numbered end - 1, or up to the first row numbered at or after end. Walks
-- the base's rows in order from the first and stops at the cut.
CREATE FUNCTION skein_base_end_seq(p_tenant text, p_base text, p_end bigint) RETURNS bigint
LANGUAGE sql STABLE AS $$
  SELECT CASE WHEN c.ord = p_end - 1 THEN c.seq + 1 ELSE c.seq END
  FROM (SELECT i.seq, (i.line::json ->> 'ordinal')::numeric AS ord
        FROM skein_items i WHERE i.tenant = p_tenant AND i.thread_id = p_base ORDER BY i.seq) c
  WHERE c.ord >= p_end - 1
  LIMIT 1
$$;

-- Existing forks, from their first line.
WITH refs AS (
  SELECT i.tenant, i.thread_id, h.base, h.ord
  FROM skein_items i
  CROSS JOIN LATERAL (
    SELECT (i.line::json #>> '{payload,history_base,thread_id}') AS base,
           (i.line::json #>> '{payload,history_base,end_ordinal_exclusive}')::bigint AS ord
  ) h
  WHERE i.seq = 0 AND i.line LIKE '%"history_base"%' AND (i.line::json ->> 'type') = 'session_meta'
    AND h.base IS NOT NULL AND h.ord IS NOT NULL
)
UPDATE skein_threads t
SET base_thread_id = r.base, base_end_ordinal = r.ord, base_end_seq = skein_base_end_seq(r.tenant, r.base, r.ord)
FROM refs r
WHERE t.tenant = r.tenant AND t.thread_id = r.thread_id;
`,
  },
  {
    version: 3,
    name: 'turn index',
    sql: `
-- One row per turn of a thread's own item rows (see turn-index.ts): its positions, status,
-- times, and its item rows as the seq range [start_seq, end_seq). The thread row keeps the
-- projector's state after the rows it has seen (turn_seq of them), so an append projects only
-- its items; a thread whose turn_seq is not its item_count is read by streaming its history.
CREATE TABLE skein_turns (
  tenant text COLLATE "C" NOT NULL,
  thread_id text COLLATE "C" NOT NULL,
  ordinal bigint NOT NULL,
  last_ordinal bigint NOT NULL,
  turn_id text COLLATE "C" NOT NULL,
  open boolean NOT NULL,
  paginated boolean NOT NULL,
  status text NOT NULL,
  error text,
  started_ms bigint,
  completed_ms bigint,
  duration_ms bigint,
  start_seq bigint NOT NULL,
  end_seq bigint NOT NULL,
  items_before bigint NOT NULL,
  item_count bigint NOT NULL,
  PRIMARY KEY (tenant, thread_id, ordinal),
  FOREIGN KEY (tenant, thread_id) REFERENCES skein_threads (tenant, thread_id) ON DELETE CASCADE
);
CREATE INDEX skein_turns_by_id ON skein_turns (tenant, thread_id, turn_id, ordinal);
ALTER TABLE skein_threads ADD COLUMN turn_state text, ADD COLUMN turn_seq bigint;
`,
    backfill: async (db) => {
      // Every thread written before: indexed from its rows, a batch of threads at a time.
      for (;;) {
        const r = await db.query<{ tenant: string; thread_id: string }>(
          'SELECT tenant, thread_id FROM skein_threads WHERE turn_state IS NULL ORDER BY tenant, thread_id LIMIT 500',
        );
        if (r.rows.length === 0) return;
        for (const t of r.rows) await reindexThread(db, t.tenant, t.thread_id);
      }
    },
  },
  {
    version: 4,
    name: 'segments of a thread, and spans',
    sql: `
-- The later rollouts of a thread (what Codex's thread/revert starts, see spans.ts): each holds
-- the thread's item rows from first_seq up to the next segment's first_seq (item rows keep one
-- seq numbering per thread), and reads as its base rollout's history up to the cut
-- (history_base as given), then its own rows. A thread's first rollout (its id is the thread id)
-- has no row here. A thread reads as its newest rollout.
CREATE TABLE skein_segments (
  tenant text COLLATE "C" NOT NULL,
  rollout_id text COLLATE "C" NOT NULL,
  thread_id text COLLATE "C" NOT NULL,
  first_seq bigint NOT NULL,
  base_rollout_id text COLLATE "C" NOT NULL,
  base_end_ordinal bigint NOT NULL,
  base_end_byte_offset bigint NOT NULL,
  PRIMARY KEY (tenant, rollout_id),
  UNIQUE (tenant, thread_id, first_seq),
  FOREIGN KEY (tenant, thread_id) REFERENCES skein_threads (tenant, thread_id) ON DELETE CASCADE
);

-- The first seq of the thread's newest rollout: rows before it are in older rollouts, in its
-- history only as far as its chain of bases reaches (0: the thread was never reverted).
ALTER TABLE skein_threads ADD COLUMN live_seq bigint NOT NULL DEFAULT 0;

-- The row ranges a thread's history is made of, in order (k from 1), for threads whose history
-- is not just their own rows (forks by reference, reverted threads); hi_seq NULL: open-ended.
-- Content search follows them (content-sql.ts).
CREATE TABLE skein_spans (
  tenant text COLLATE "C" NOT NULL,
  thread_id text COLLATE "C" NOT NULL,
  k bigint NOT NULL,
  src_thread_id text COLLATE "C" NOT NULL,
  lo_seq bigint NOT NULL,
  hi_seq bigint,
  PRIMARY KEY (tenant, thread_id, k),
  FOREIGN KEY (tenant, thread_id) REFERENCES skein_threads (tenant, thread_id) ON DELETE CASCADE
);
CREATE INDEX skein_spans_by_src ON skein_spans (tenant, src_thread_id, lo_seq);
`,
    backfill: async (db) => {
      // The forks written before: their spans from the bases on their thread rows.
      const r = await db.query<{ tenant: string; thread_id: string }>(
        'SELECT tenant, thread_id FROM skein_threads WHERE base_thread_id IS NOT NULL ORDER BY tenant, thread_id',
      );
      for (const t of r.rows) await writeThreadSpans(db, t.tenant, t.thread_id);
    },
  },
];

export const LATEST_SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]?.version ?? 0;

/** One fixed key for pg_advisory_lock: "skein" in ASCII. */
const MIGRATION_LOCK_KEY = 0x736b65696e;

export interface MigrationReport {
  /** Schema version before. */
  from: number;
  /** Schema version after (LATEST_SCHEMA_VERSION). */
  to: number;
  applied: Migration[];
}

async function currentVersion(client: PoolClient): Promise<number> {
  await client.query(
    `CREATE TABLE IF NOT EXISTS skein_schema_migrations (
       version integer PRIMARY KEY,
       name text NOT NULL,
       applied_at timestamptz NOT NULL DEFAULT now()
     )`,
  );
  const r = await client.query<{ v: number | null }>('SELECT max(version) AS v FROM skein_schema_migrations');
  return r.rows[0]?.v ?? 0;
}

/**
 * Brings the database to the latest schema. Idempotent: a database already there is left
 * alone. A database whose schema is newer than this code is an `unsupported` error (an older
 * server must not write to a schema it does not know).
 */
export async function migrate(pool: Pool, migrations: readonly Migration[] = MIGRATIONS): Promise<MigrationReport> {
  const client = await pool.connect();
  let locked = false;
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    locked = true;
    const from = await currentVersion(client);
    const latest = migrations[migrations.length - 1]?.version ?? 0;
    if (from > latest)
      throw ThreadStoreError.unsupported(
        `a database at schema version ${from}`,
        `this Skein knows schema versions up to ${latest}; upgrade Skein before pointing it at this database`,
      );
    const applied: Migration[] = [];
    for (const m of migrations) {
      if (m.version <= from) continue;
      await client.query('BEGIN');
      try {
        await client.query(m.sql);
        if (m.backfill) await m.backfill(client);
        await client.query('INSERT INTO skein_schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
        await client.query('COMMIT');
      } catch (e) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw e;
      }
      applied.push(m);
    }
    return { from, to: Math.max(from, latest), applied };
  } finally {
    if (locked) await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
    client.release();
  }
}
