import { isDeepStrictEqual } from 'node:util';
import { ThreadStoreError } from '@skein/thread-store-api';

/**
 * The endpoints a client was given: one URL, a comma-separated list, or an array (of URLs or
 * lists). Each must be `http://` or `https://`; duplicates are dropped, the order is kept.
 */
export function parseEndpoints(given: string | readonly string[]): string[] {
  const raw = (typeof given === 'string' ? [given] : [...given]).flatMap((s) =>
    typeof s === 'string' ? s.split(',') : [s],
  );
  const out: string[] = [];
  for (const entry of raw) {
    const text = typeof entry === 'string' ? entry.trim() : entry;
    let url: URL;
    try {
      url = new URL(text as string);
    } catch {
      throw ThreadStoreError.invalidRequest(
        `baseUrl ${JSON.stringify(text)} is not a URL; expected e.g. http://127.0.0.1:7070`,
      );
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw ThreadStoreError.invalidRequest(`baseUrl must be http:// or https://, got ${url.protocol}`);
    const clean = (text as string).replace(/\/+$/, '');
    if (!out.includes(clean)) out.push(clean);
  }
  if (out.length === 0) throw ThreadStoreError.invalidRequest('baseUrl names no endpoint');
  return out;
}

/**
 * Whether a history ends with `sent` (items appended since the last acknowledged flush), as the
 * store keeps them: a store may add a `timestamp` to an item that had none, so that field is
 * compared only when the item carried it.
 */
export function endsWith(tail: readonly unknown[], sent: readonly Record<string, unknown>[]): boolean {
  if (tail.length < sent.length) return false;
  const off = tail.length - sent.length;
  return sent.every((item, i) => {
    const stored = tail[off + i];
    if (typeof stored !== 'object' || stored === null) return false;
    const got = { ...(stored as Record<string, unknown>) };
    if (!('timestamp' in item)) delete got.timestamp;
    return isDeepStrictEqual(got, item);
  });
}
