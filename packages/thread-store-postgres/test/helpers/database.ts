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
