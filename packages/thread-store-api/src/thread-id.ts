import { randomFillSync } from 'node:crypto';
import { ThreadStoreError } from './errors.js';

/** A thread id: a lowercase canonical UUID string (v7 for new threads; any version is accepted). */
export type ThreadId = string & { readonly __threadId: unique symbol };

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True when `value` is a canonical UUID string (any version, any case). */
export function isThreadId(value: unknown): value is ThreadId {
  return typeof value === 'string' && UUID_RE.test(value) && value === value.toLowerCase();
}

/**
 * Validates and normalises a thread id. Anything that is not a canonical UUID (including `../`,
 * absolute paths and ids with trailing text) is rejected before it can reach a path.
 */
export function parseThreadId(value: unknown, what = 'thread id'): ThreadId {
  if (typeof value !== 'string' || !UUID_RE.test(value)) {
    const shown = typeof value === 'string' ? JSON.stringify(value.slice(0, 80)) : typeof value;
    throw ThreadStoreError.invalidRequest(
      `invalid ${what} ${shown}: expected a UUID like 0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b`,
    );
  }
  return value.toLowerCase() as ThreadId;
}

let lastMs = -1;
let seq = 0;

/**
 * Random bytes for ids, drawn from the system's generator 256 ids at a time: a store numbers
 * every appended item with an id, and one call into the generator per id cost more than the id.
 */
const POOL_IDS = 256;
const pool = Buffer.alloc(16 * POOL_IDS);
let poolNext = POOL_IDS;

function randomSixteen(): Buffer {
  if (poolNext === POOL_IDS) {
    randomFillSync(pool);
    poolNext = 0;
  }
  // A copy: the id's bytes are changed below, and the pool is refilled later.
  const out = Buffer.from(pool.subarray(poolNext * 16, poolNext * 16 + 16));
  poolNext += 1;
  return out;
}

/** A new UUIDv7 thread id; ids made by one process are strictly increasing. */
export function newThreadId(nowMs: number = Date.now()): ThreadId {
  const bytes = randomSixteen();
  let ms = Math.max(nowMs, lastMs);
  if (ms === lastMs) {
    seq += 1;
    if (seq > 0xfff) {
      ms += 1;
      seq = 0;
    }
  } else {
    seq = bytes.readUInt16BE(6) & 0x7ff;
  }
  lastMs = ms;
  bytes.writeUIntBE(ms, 0, 6);
  bytes[6] = 0x70 | ((seq >> 8) & 0x0f);
  bytes[7] = seq & 0xff;
  bytes[8] = 0x80 | ((bytes[8] ?? 0) & 0x3f);
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}` as ThreadId;
}
