import type { RolloutItem } from '@skein/thread-store-api';
import { jsonBytes } from '../convert/json-bytes.js';

/**
 * Groups a history into chunks of at most `maxBytes` (or `maxItems`) of item JSON, pulling from
 * the store only as fast as the stream drains, so a long thread never sits in memory. A single
 * item larger than `maxBytes` goes alone in its chunk.
 */
export async function* historyChunks(
  history: AsyncIterable<RolloutItem>,
  limits: { maxBytes: number; maxItems: number },
  skip: number,
): AsyncGenerator<Uint8Array[]> {
  let chunk: Uint8Array[] = [];
  let bytes = 0;
  let index = 0;
  for await (const item of history) {
    if (index++ < skip) continue;
    const b = jsonBytes(item, 'a history item');
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
