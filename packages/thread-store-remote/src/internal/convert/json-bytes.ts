import { ThreadStoreError } from '@skein/thread-store-api';

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * The UTF-8 JSON bytes of a value. Free-form values (rollout items, sandbox policies, base
 * instructions) travel as JSON so that fields and item types this package does not know survive
 * the trip unchanged.
 */
export function jsonBytes(value: unknown, what: string): Uint8Array {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (e) {
    throw ThreadStoreError.invalidRequest(`${what} cannot be sent: it is not JSON (${(e as Error).message})`);
  }
  if (text === undefined) throw ThreadStoreError.invalidRequest(`${what} cannot be sent: it is not a JSON value`);
  return encoder.encode(text);
}

/** Parses JSON bytes; `who` says which side sent them, so a bad payload points at the right party. */
export function parseJsonBytes(bytes: Uint8Array, what: string): unknown {
  try {
    return JSON.parse(decoder.decode(bytes));
  } catch (e) {
    throw ThreadStoreError.invalidRequest(`${what} is not valid UTF-8 JSON: ${(e as Error).message}`);
  }
}
