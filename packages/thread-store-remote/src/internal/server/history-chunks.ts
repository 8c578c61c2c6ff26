import type { RolloutItem } from '@skein/thread-store-api';
import { ThreadStoreError } from '@skein/thread-store-api';

/** Each item of a history as its JSON text. */
export async function* itemsAsJson(history: AsyncIterable<RolloutItem>): AsyncGenerator<string> {
  for await (const item of history) {
    let text: string | undefined;
    try {
      text = JSON.stringify(item);
    } catch (e) {
      throw ThreadStoreError.invalidRequest(`a history item cannot be sent: it is not JSON (${(e as Error).message})`);
    }
    if (text === undefined)
      throw ThreadStoreError.invalidRequest('a history item cannot be sent: it is not a JSON value');
    yield text;
  }
}

/** A run of history items: each one's JSON text and its UTF-8 length. */
export interface HistoryChunk {
  texts: string[];
  byteLengths: number[];
}

/**
 * Groups a history's item JSON (as the store keeps it, `ThreadStore.loadHistoryJson`, or as
 * `itemsAsJson` writes it) into chunks of at most `maxBytes` of UTF-8 (or `maxItems`), pulling
 * from the store only as fast as the stream drains, so a long thread never sits in memory. A
 * single item larger than `maxBytes` goes alone in its chunk.
 */
export async function* historyChunks(
  history: AsyncIterable<string>,
  limits: { maxBytes: number; maxItems: number },
  skip: number,
): AsyncGenerator<HistoryChunk> {
  let chunk: HistoryChunk = { texts: [], byteLengths: [] };
  let bytes = 0;
  let index = 0;
  for await (const text of history) {
    if (index++ < skip) continue;
    const n = Buffer.byteLength(text, 'utf8');
    if (chunk.texts.length > 0 && (bytes + n > limits.maxBytes || chunk.texts.length >= limits.maxItems)) {
      yield chunk;
      chunk = { texts: [], byteLengths: [] };
      bytes = 0;
    }
    chunk.texts.push(text);
    chunk.byteLengths.push(n);
    bytes += n;
  }
  if (chunk.texts.length > 0) yield chunk;
}

/**
 * Pulls the next value of `source` while the current one is being sent: the store reads the
 * next chunk from disk while the previous one is encoded and written, instead of after. Holds
 * at most one value ahead. Stopping early (return, throw) stops the source once its pending
 * read has settled.
 */
export async function* readAhead<T>(source: AsyncIterable<T>): AsyncGenerator<T> {
  const it = source[Symbol.asyncIterator]();
  let pending = it.next();
  let finished = false;
  try {
    for (;;) {
      const r = await pending;
      if (r.done) {
        finished = true;
        return;
      }
      pending = it.next();
      // A failure of the read ahead is raised when it is awaited, not as an unhandled rejection.
      pending.catch(() => undefined);
      yield r.value;
    }
  } catch (e) {
    finished = true;
    throw e;
  } finally {
    if (!finished) await it.return?.(undefined);
  }
}
