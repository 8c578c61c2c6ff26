import { afterEach, describe, expect, it } from 'vitest';
import { isThreadStoreError } from '@skein/thread-store-api';
import { migratePostgres, PostgresThreadStore } from '../src/index.js';
import { LATEST_SCHEMA_VERSION, MIGRATIONS } from '../src/internal/migrations.js';
import { createTestDatabase, withClient } from './helpers/database.js';
import type { TestDatabase } from './helpers/database.js';

let dbs: TestDatabase[] = [];
afterEach(async () => {
  for (const db of dbs) await db.drop();
  dbs = [];
});

async function freshDb(): Promise<TestDatabase> {
  const db = await createTestDatabase('migrations');
  dbs.push(db);
  return db;
}

async function versions(url: string): Promise<number[]> {
  return withClient(url, async (c) =>
    (await c.query<{ version: number }>('SELECT version FROM skein_schema_migrations ORDER BY version')).rows.map(
      (r) => r.version,
    ),
  );
}

describe('schema migrations', () => {
  it('open applies every migration once; running them again changes nothing', async () => {
    const db = await freshDb();
    const store = await PostgresThreadStore.open({ connectionString: db.url });
    await store.close();
    expect(await versions(db.url)).toEqual(MIGRATIONS.map((m) => m.version));
    const again = await migratePostgres(db.url);
    expect(again).toEqual({
      from: LATEST_SCHEMA_VERSION,
      to: LATEST_SCHEMA_VERSION,
      applied: [],
      latest: LATEST_SCHEMA_VERSION,
    });
    expect(await versions(db.url)).toEqual(MIGRATIONS.map((m) => m.version));
  });

  it('servers starting together on an empty database apply each migration exactly once', async () => {
    const db = await freshDb();
    const reports = await Promise.all(Array.from({ length: 4 }, () => migratePostgres(db.url)));
    // The advisory lock serialises them: one applies everything, the others find it done.
    expect(reports.filter((r) => r.applied.length > 0)).toHaveLength(1);
    expect(reports.flatMap((r) => r.applied.map((m) => m.version))).toEqual(MIGRATIONS.map((m) => m.version));
    expect(await versions(db.url)).toEqual(MIGRATIONS.map((m) => m.version));
    const stores = await Promise.all(
      Array.from({ length: 3 }, () => PostgresThreadStore.open({ connectionString: db.url })),
    );
    await Promise.all(stores.map((s) => s.close()));
  });

  it('a database whose schema is newer than the code is a clear unsupported error', async () => {
    const db = await freshDb();
    await migratePostgres(db.url);
    await withClient(db.url, (c) =>
      c.query("INSERT INTO skein_schema_migrations (version, name) VALUES ($1, 'from the future')", [
        LATEST_SCHEMA_VERSION + 1,
      ]),
    );
    const err: unknown = await PostgresThreadStore.open({ connectionString: db.url }).catch((e: unknown) => e);
    expect(isThreadStoreError(err, 'unsupported')).toBe(true);
    expect(String((err as Error).message)).toContain(`schema version ${LATEST_SCHEMA_VERSION + 1}`);
    expect(String((err as Error).message)).toContain('upgrade Skein');
    const viaMigrate: unknown = await migratePostgres(db.url).catch((e: unknown) => e);
    expect(isThreadStoreError(viaMigrate, 'unsupported')).toBe(true);
    const checkOnly: unknown = await PostgresThreadStore.open({ connectionString: db.url, migrate: false }).catch(
      (e: unknown) => e,
    );
    expect(isThreadStoreError(checkOnly, 'unsupported')).toBe(true);
  });

  it('migrate: false opens a current database and refuses an unmigrated one, naming the fix', async () => {
    const db = await freshDb();
    const err: unknown = await PostgresThreadStore.open({ connectionString: db.url, migrate: false }).catch(
      (e: unknown) => e,
    );
    expect(isThreadStoreError(err, 'unsupported')).toBe(true);
    expect(String((err as Error).message)).toContain('skein db migrate');
    expect(
      await withClient(db.url, async (c) => (await c.query("SELECT to_regclass('skein_threads') AS t")).rows[0]),
    ).toEqual({ t: null });
    await migratePostgres(db.url);
    const store = await PostgresThreadStore.open({ connectionString: db.url, migrate: false });
    await store.close();
  });

  it('a server that cannot be reached is unavailable, not a crash', async () => {
    const err: unknown = await PostgresThreadStore.open({
      connectionString: 'postgres://postgres@127.0.0.1:1/nowhere',
      connectTimeoutMs: 2000,
    }).catch((e: unknown) => e);
    expect(isThreadStoreError(err, 'unavailable')).toBe(true);
  });
});
