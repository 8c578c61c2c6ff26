import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { requireBuiltBinary } from './cli-harness.js';

/** The PostgreSQL tests use: SKEIN_TEST_PG_URL, else the local cluster. */
export const PG_SERVER_URL = process.env.SKEIN_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

async function admin(sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: PG_SERVER_URL });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

/**
 * A database of the test file's own (`<prefix>_<random>`), created before its tests and dropped
 * after them; also checks that the CLI is built. Returns the database's URL.
 */
export function useTestDatabase(prefix: string): string {
  const name = `${prefix}_${randomBytes(5).toString('hex')}`;
  const u = new URL(PG_SERVER_URL);
  u.pathname = `/${name}`;
  beforeAll(async () => {
    requireBuiltBinary();
    await admin(`CREATE DATABASE ${name}`);
  });
  afterAll(async () => {
    await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  });
  return u.toString();
}
