import type Database from 'better-sqlite3';
import type { Db } from './index-db.js';
import type { FileState } from './file-state.js';
import type { HomeLayout } from './paths.js';

/**
 * What the parts of the index (file rows, thread rows, names, passes, search) share: the home,
 * the database and its statement cache, and the states the running pass just wrote.
 */
export interface IndexContext {
  readonly layout: HomeLayout;
  readonly db: Db;
  readonly defaultModelProvider: string;
  /** A cached prepared statement (see ThreadIndex.stmt). */
  stmt(sql: string): Database.Statement;
  /** States written by the running pass, by rel (see parseState in thread-rows.ts). */
  readonly passStates: Map<string, { json: string; state: FileState }>;
}

/** A `files` row: one rollout file as indexed. */
export interface FileRow {
  rel: string;
  thread_id: string;
  archived: number;
  listable: number;
  zst: number;
  size: number;
  mtime_ms: number;
  ctime_ms: number;
  ino: number;
  indexed_bytes: number;
  /** Absent when the row was read without it (the sync pass); fetched when a tail is read. */
  state?: string;
  /** The row's checksum (row-sum.ts); present when `state` is. */
  sum?: number;
}

/** The columns of a `files` row a pass compares with a file's stat (all but the state). */
export const FILE_STAT_COLUMNS =
  'rel, thread_id, archived, listable, zst, size, mtime_ms, ctime_ms, ino, indexed_bytes';

/** Lets other callbacks run (a long pass works a slice per turn). */
export function yieldTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
