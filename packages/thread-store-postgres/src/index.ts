export { PostgresThreadStore } from './postgres-thread-store.js';
export type { PostgresThreadStoreOptions } from './postgres-thread-store.js';
export { migratePostgres } from './migrate.js';
export type { PostgresMigrationReport } from './migrate.js';
