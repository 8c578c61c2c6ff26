import type { Pool, PoolClient } from 'pg';
import { ThreadStoreError } from '@skein/thread-store-api';

/** A pooled connection, or the pool itself for single statements. */
type Db = Pool | PoolClient;

/**
 * One live writer per thread across servers: a row in `skein_leases` per thread being written,
 * with a fencing token from a sequence (strictly increasing across the database) and an expiry
 * on the database's clock. A writer takes the lease when it creates or resumes a thread, renews
 * it in the background and in every append transaction, and releases it on shutdown or discard.
 * Another server can take the lease only once it has expired; from then on the old writer's
 * appends fail their token check (a zombie never interleaves with the new writer).
 */
export interface Lease {
  token: string;
}

/** Takes the lease of a thread, or null when another writer holds a live one. */
export async function acquireLease(
  db: Db,
  tenant: string,
  threadId: string,
  owner: string,
  durationMs: number,
): Promise<Lease | null> {
  const r = await db.query<{ token: string }>(
    `INSERT INTO skein_leases AS l (tenant, thread_id, token, owner, expires_at)
     VALUES ($1, $2, nextval('skein_lease_tokens'), $3, now() + $4 * interval '1 millisecond')
     ON CONFLICT (tenant, thread_id) DO UPDATE
       SET token = EXCLUDED.token, owner = EXCLUDED.owner, expires_at = EXCLUDED.expires_at
       WHERE l.expires_at <= now()
     RETURNING token`,
    [tenant, threadId, owner, durationMs],
  );
  const row = r.rows[0];
  return row ? { token: String(row.token) } : null;
}

/**
 * Checks and extends a lease inside a write transaction: the row lock it takes also orders
 * appends to one thread. Throws `conflict` when the token is no longer the thread's.
 */
export async function fenceLease(
  db: Db,
  tenant: string,
  threadId: string,
  lease: Lease,
  durationMs: number,
): Promise<void> {
  const r = await db.query(
    `UPDATE skein_leases SET expires_at = now() + $4 * interval '1 millisecond'
     WHERE tenant = $1 AND thread_id = $2 AND token = $3`,
    [tenant, threadId, lease.token, durationMs],
  );
  if (r.rowCount !== 1) throw lostLease(threadId);
}

export function lostLease(threadId: string): ThreadStoreError {
  return ThreadStoreError.conflict(
    `thread ${threadId}: this writer's lease expired and another writer took the thread over; ` +
      'nothing more is written through it (resume the thread to write again)',
  );
}

/** Extends many leases at once; returns the thread ids whose lease is gone. */
export async function renewLeases(
  db: Db,
  tenant: string,
  leases: ReadonlyArray<{ threadId: string; token: string }>,
  durationMs: number,
): Promise<Set<string>> {
  if (leases.length === 0) return new Set();
  const r = await db.query<{ thread_id: string }>(
    `UPDATE skein_leases l SET expires_at = now() + $4 * interval '1 millisecond'
     FROM unnest($2::text[], $3::bigint[]) AS mine(thread_id, token)
     WHERE l.tenant = $1 AND l.thread_id = mine.thread_id AND l.token = mine.token
     RETURNING l.thread_id`,
    [tenant, leases.map((l) => l.threadId), leases.map((l) => l.token), durationMs],
  );
  const kept = new Set(r.rows.map((row) => row.thread_id));
  return new Set(leases.filter((l) => !kept.has(l.threadId)).map((l) => l.threadId));
}

export async function releaseLease(db: Db, tenant: string, threadId: string, lease: Lease): Promise<void> {
  await db.query('DELETE FROM skein_leases WHERE tenant = $1 AND thread_id = $2 AND token = $3', [
    tenant,
    threadId,
    lease.token,
  ]);
}

/** Whether any writer holds a live lease on the thread. */
export async function hasLiveLease(db: Db, tenant: string, threadId: string): Promise<boolean> {
  const r = await db.query('SELECT 1 FROM skein_leases WHERE tenant = $1 AND thread_id = $2 AND expires_at > now()', [
    tenant,
    threadId,
  ]);
  return (r.rowCount ?? 0) > 0;
}
