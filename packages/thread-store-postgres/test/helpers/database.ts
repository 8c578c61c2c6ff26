import { randomBytes } from 'node:crypto';
import pg from 'pg';

/**
 * A fresh database per test run on the PostgreSQL at SKEIN_TEST_PG_URL (default: the local
 * cluster, user postgres), dropped afterwards. CI starts the cluster when it is down, so these
 * tests never skip for want of a server.
 */
export const SERVER_URL = process.env.SKEIN_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export function databaseUrl(name: string, base = SERVER_URL): string {
  const u = new URL(base);
  u.pathname = `/${name}`;
  return u.toString();
}

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: SERVER_URL });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

export async function createTestDatabase(label: string): Promise<TestDatabase> {
  const name = `skein_test_${label}_${randomBytes(5).toString('hex')}`;
  await admin((c) => c.query(`CREATE DATABASE ${name}`));
  return {
    name,
    url: databaseUrl(name),
    drop: () => admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined),
  };
}

/** A unique tenant name: a fresh, empty store on a shared database. */
export function freshTenant(prefix = 't'): string {
  return `${prefix}-${randomBytes(6).toString('hex')}`;
}

/** Runs statements on a database directly (seeding, EXPLAIN, pg_terminate_backend). */
export async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/**
 * 1,000 threads of a tenant with 100 messages each ("filler number <n> <hash>", preview
 * "filler"), written in one statement, then analyzed: a table big enough for the planner to
 * prefer indexes.
 */
export async function insertFillerThreads(c: pg.Client, tenant: string): Promise<void> {
  await c.query(
    `WITH th AS (
       INSERT INTO skein_threads (tenant, thread_id, archived, has_preview, created_ms, updated_ms, recency_ms,
         model_provider, cwd, source_kind, subagent_kind, source_key, name_lc, preview_lc, item_count, thread, state)
       SELECT $1, gen_random_uuid()::text, false, true, g, g, g, 'openai', '/w', 'cli', NULL, 'cli', '',
              'filler', 100, '{}', '{}'
       FROM generate_series(1, 1000) g RETURNING thread_id)
     INSERT INTO skein_items (tenant, thread_id, seq, line, message_lc)
     SELECT $1, th.thread_id, n, '{}', 'filler number ' || n || ' ' || left(md5(th.thread_id || n), 6)
     FROM th, generate_series(0, 99) n`,
    [tenant],
  );
  await c.query('ANALYZE skein_items');
  await c.query('ANALYZE skein_threads');
}
