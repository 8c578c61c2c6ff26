import type { RolloutItem } from '@skein/thread-store-api';
import { jsonBytes } from '../convert/json-bytes.js';

const encoder = new TextEncoder();

/** Each item of a history as its JSON bytes. */
export async function* itemsAsJson(history: AsyncIterable<RolloutItem>): AsyncGenerator<Uint8Array> {
  for await (const item of history) yield jsonBytes(item, 'a history item');
}

/**
 * Each item's JSON text as the store keeps it (`ThreadStore.loadHistoryJson`), as bytes: sent on
 * without being parsed and serialised again.
 */
export async function* storedJson(history: AsyncIterable<string>): AsyncGenerator<Uint8Array> {
  for await (const text of history) yield encoder.encode(text);
}

/**
 * Groups a history's item JSON into chunks of at most `maxBytes` (or `maxItems`), pulling from
 * the store only as fast as the stream drains, so a long thread never sits in memory. A single
 * item larger than `maxBytes` goes alone in its chunk.
 */
export async function* historyChunks(
  history: AsyncIterable<Uint8Array>,
  limits: { maxBytes: number; maxItems: number },
  skip: number,
): AsyncGenerator<Uint8Array[]> {
  let chunk: Uint8Array[] = [];
  let bytes = 0;
  let index = 0;
  for await (const b of history) {
    if (index++ < skip) continue;
    if (chunk.length > 0 && (bytes + b.length > limits.maxBytes || chunk.length >= limits.maxItems)) {
      yield chunk;
      chunk = [];
      bytes = 0;
    }
    chunk.push(b);
    bytes += b.length;
  }
  if (chunk.length > 0) yield chunk;
}
