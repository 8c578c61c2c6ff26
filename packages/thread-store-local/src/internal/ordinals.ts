import type { FileHandle } from 'node:fs/promises';
import { ThreadStoreError } from '@skein/thread-store-api';
import { parseLine } from './reader.js';

/** Where a paginated rollout's numbering stands, read from its bytes. */
export interface PaginatedTail {
  /** File size when scanned. */
  size: number;
  /** The ordinal the next line gets: the last valid record's ordinal + 1. */
  nextOrdinal: number;
  /** The file does not end with `\n` (a torn last line, left by a crash mid-write). */
  torn: boolean;
}

const STEP = 1 << 16;

/** The first non-blank line of a file (up to `limit` bytes read); null when there is none. */
async function firstLine(fh: FileHandle, size: number, limit = 8 << 20): Promise<string | null> {
  const parts: Buffer[] = [];
  let pos = 0;
  while (pos < size && pos < limit) {
    const buf = Buffer.alloc(Math.min(STEP, size - pos));
    const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
    if (bytesRead === 0) break;
    parts.push(buf.subarray(0, bytesRead));
    pos += bytesRead;
    const text = Buffer.concat(parts).toString('utf8');
    for (const line of text.split('\n').slice(0, -1)) if (line.trim() !== '') return line;
  }
  const rest = Buffer.concat(parts).toString('utf8').trim();
  return rest === '' ? null : rest;
}

/**
 * Scans a paginated rollout the way Codex does before it appends: the first non-blank line must be
 * `session_meta`, and the next ordinal follows the last line (from the end) that parses as a
 * rollout record and carries an ordinal. Lines that do not parse (a torn tail, garbage) are
 * skipped; their ordinals are reused, as Codex reuses them. A record without an ordinal (an older
 * writer's metadata line) is passed over too, so the numbering stays the file's own.
 */
export async function scanPaginatedTail(fh: FileHandle, file: string): Promise<PaginatedTail> {
  const size = (await fh.stat()).size;
  const head = await firstLine(fh, size);
  const meta = head === null ? null : parseLine(head);
  if (!meta || (meta.kind !== 'item' && meta.kind !== 'patch') || meta.item.type !== 'session_meta')
    throw new ThreadStoreError(
      'invalid_request',
      `paginated rollout ${file} does not start with session metadata; it cannot be continued`,
    );
  let torn = false;
  if (size > 0) {
    const one = Buffer.alloc(1);
    await fh.read(one, 0, 1, size - 1);
    torn = one[0] !== 0x0a;
  }
  // Walk back line by line; `carry` holds the bytes of a line that spans chunk boundaries.
  let pos = size;
  let carry = Buffer.alloc(0);
  while (pos > 0) {
    const from = Math.max(0, pos - STEP);
    const buf = Buffer.alloc(pos - from);
    await fh.read(buf, 0, buf.length, from);
    let data = Buffer.concat([buf, carry]);
    pos = from;
    for (;;) {
      const nl = data.lastIndexOf(0x0a, data.length - 1);
      if (nl < 0 && pos > 0) break;
      const line = data.subarray(nl + 1).toString('utf8');
      data = data.subarray(0, Math.max(0, nl));
      const p = parseLine(line);
      if ((p.kind === 'item' || p.kind === 'patch') && typeof p.item.ordinal === 'number')
        return { size, nextOrdinal: p.item.ordinal + 1, torn };
      if (nl < 0) break;
    }
    carry = Buffer.from(data);
  }
  throw new ThreadStoreError(
    'invalid_request',
    `paginated rollout ${file} has no record with an ordinal; it cannot be continued`,
  );
}
