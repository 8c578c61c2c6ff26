import { ThreadStoreError } from '@skein/thread-store-api';

/** Epoch milliseconds of a Date, as protobuf int64. */
export function msOf(date: Date, what: string): bigint {
  const t = date instanceof Date ? date.getTime() : Number.NaN;
  if (!Number.isFinite(t)) throw ThreadStoreError.invalidRequest(`${what} must be a valid Date`);
  return BigInt(t);
}

export function dateOf(ms: bigint): Date {
  return new Date(Number(ms));
}

/** A non-negative integer count as int64. */
export function int64Of(n: number, what: string): bigint {
  if (!Number.isSafeInteger(n)) throw ThreadStoreError.invalidRequest(`${what} must be an integer, got ${String(n)}`);
  return BigInt(n);
}
