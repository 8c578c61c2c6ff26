import pg from 'pg';
import { LATEST_SCHEMA_VERSION, migrate } from './internal/migrations.js';
import { toStoreError } from './internal/errors.js';

/** What a migration run found and did: the schema version before and after, and the steps applied. */
export interface PostgresMigrationReport {
  /** Schema version found. */
  from: number;
  /** Schema version now. */
  to: number;
  /** The migrations applied, oldest first (empty when the schema was current). */
  applied: { version: number; name: string }[];
  /** The newest schema version this package knows. */
  latest: number;
}

/**
 * Applies pending schema migrations to a database (what `skein db migrate` runs). Safe to run
 * from several servers at once: migrations run one at a time under an advisory lock.
 */
export async function migratePostgres(connectionString: string): Promise<PostgresMigrationReport> {
  const pool = new pg.Pool({ connectionString, max: 1 });
  pool.on('error', () => undefined);
  try {
    const r = await migrate(pool);
    return {
      from: r.from,
      to: r.to,
      applied: r.applied.map((m) => ({ version: m.version, name: m.name })),
      latest: LATEST_SCHEMA_VERSION,
    };
  } catch (e) {
    throw toStoreError(e, 'migrating the PostgreSQL schema');
  } finally {
    await pool.end();
  }
}
