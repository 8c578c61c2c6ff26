import { closeSync, createReadStream, fstatSync, openSync, readSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { Decompress } from 'fzstd';
import { isObject, rolloutItemProblem } from '@skein/thread-store-api';
import type { RolloutItem, ThreadMetadataPatch } from '@skein/thread-store-api';
import { patchFromJson, SKEIN_PATCH_KEY, SKEIN_PATCH_LINE_TYPE } from './patch-line.js';

/** One line of a rollout file with its byte range (offsets in the decompressed stream). */
export interface RawLine {
  text: string;
  start: number;
  /** Offset just after the line's `\n` (or the end of the data for a last line without one). */
  end: number;
  /** False for a last line with no `\n` after it (possibly torn by a crash or still being written). */
  complete: boolean;
}

export interface ReadRange {
  start?: number;
  /** Exclusive end offset. */
  end?: number;
  zst?: boolean;
  /** Read size (tests use tiny chunks to cross line boundaries). */
  chunkSize?: number;
}

const CHUNK = 1 << 20;
const NL = 0x0a;

async function* fileChunks(file: string, range: ReadRange): AsyncGenerator<Buffer> {
  const start = range.start ?? 0;
  if (range.zst) {
    // Decompress the whole stream and skip to `start`: offsets refer to the plain bytes.
    const out: Uint8Array[] = [];
    const d = new Decompress((chunk) => {
      out.push(chunk);
    });
    let pos = 0;
    const emit = function* (): Generator<Buffer> {
      while (out.length > 0) {
        const c = out.shift() as Uint8Array;
        const b = Buffer.from(c.buffer, c.byteOffset, c.byteLength);
        const from = Math.max(0, start - pos);
        const to = range.end === undefined ? b.length : Math.min(b.length, range.end - pos);
        pos += b.length;
        if (to > from) yield b.subarray(from, to);
      }
    };
    for await (const c of createReadStream(file, { highWaterMark: range.chunkSize ?? CHUNK })) {
      d.push(c as Buffer);
      yield* emit();
      if (range.end !== undefined && pos >= range.end) return;
    }
    d.push(new Uint8Array(0), true);
    yield* emit();
    return;
  }
  if (range.end !== undefined && range.end <= start) return;
  // Plain reads sized to what is left: small rollouts cost one read and no 1 MiB buffer each.
  const fh = await open(file, 'r');
  try {
    const size = (await fh.stat()).size;
    const end = Math.min(size, range.end ?? size);
    const step = range.chunkSize ?? CHUNK;
    let pos = start;
    while (pos < end) {
      const buf = Buffer.allocUnsafe(Math.min(step, end - pos));
      const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
      if (bytesRead === 0) break;
      pos += bytesRead;
      yield bytesRead === buf.length ? buf : buf.subarray(0, bytesRead);
    }
  } finally {
    await fh.close();
  }
}

/**
 * The lines of a plain (not zstd) file from `start` to its end, read with one synchronous read:
 * indexing a home of many small rollouts spent most of its time waiting for the thread pool and
 * in per-line async iteration. Returns null when more than `maxBytes` are left (stream those).
 * `onBytes` receives the bytes read (from `start`), e.g. to fingerprint them without reading again.
 */
export function readRawLinesSync(
  file: string,
  start: number,
  maxBytes: number,
  onBytes?: (bytes: Buffer) => void,
): RawLine[] | null {
  const fd = openSync(file, 'r');
  let buf: Buffer;
  try {
    const left = fstatSync(fd).size - start;
    if (left > maxBytes) return null;
    buf = Buffer.allocUnsafe(Math.max(0, left));
    let n = 0;
    while (n < buf.length) {
      const r = readSync(fd, buf, n, buf.length - n, start + n);
      if (r === 0) break;
      n += r;
    }
    buf = buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
  onBytes?.(buf);
  const out: RawLine[] = [];
  let from = 0;
  while (from < buf.length) {
    const nl = buf.indexOf(NL, from);
    const complete = nl >= 0;
    const stop = complete ? nl : buf.length;
    const e = stop > from && buf[stop - 1] === 0x0d ? stop - 1 : stop;
    const end = complete ? nl + 1 : buf.length;
    out.push({ text: buf.toString('utf8', from, e), start: start + from, end: start + end, complete });
    from = end;
  }
  return out;
}

/**
 * Streams a file's lines with their byte offsets, splitting on `\n` over Buffers (memory stays
 * bounded by the longest line). A `\r` before the `\n` is dropped.
 */
export async function* readRawLines(file: string, range: ReadRange = {}): AsyncGenerator<RawLine> {
  let chunkStart = range.start ?? 0;
  let lineStart = chunkStart;
  let pending: Buffer[] = [];
  let pendingLen = 0;
  const text = (b: Buffer, s: number, e: number): string => {
    if (e > s && b[e - 1] === 0x0d) e -= 1;
    return b.toString('utf8', s, e);
  };
  for await (const chunk of fileChunks(file, range)) {
    let from = 0;
    for (;;) {
      const nl = chunk.indexOf(NL, from);
      if (nl < 0) break;
      let line: string;
      if (pendingLen > 0) {
        pending.push(chunk.subarray(from, nl));
        const whole = Buffer.concat(pending, pendingLen + (nl - from));
        line = text(whole, 0, whole.length);
        pending = [];
        pendingLen = 0;
      } else {
        line = text(chunk, from, nl);
      }
      const end = chunkStart + nl + 1;
      yield { text: line, start: lineStart, end, complete: true };
      lineStart = end;
      from = nl + 1;
    }
    if (from < chunk.length) {
      pending.push(chunk.subarray(from));
      pendingLen += chunk.length - from;
    }
    chunkStart += chunk.length;
  }
  if (pendingLen > 0) {
    const whole = Buffer.concat(pending, pendingLen);
    yield { text: text(whole, 0, whole.length), start: lineStart, end: lineStart + pendingLen, complete: false };
  }
}

export type ParsedLine =
  | { kind: 'blank' }
  | { kind: 'bad' }
  | { kind: 'item'; item: RolloutItem }
  /** A metadata patch line Skein appended (a `session_meta` copy carrying `skein_patch`). */
  | { kind: 'patch'; item: RolloutItem; patch: ThreadMetadataPatch | null };

/** Parses one rollout line. Never throws: anything that is not a rollout item is `bad`. */
export function parseLine(text: string): ParsedLine {
  if (text.trim() === '') return { kind: 'blank' };
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return { kind: 'bad' };
  }
  if (rolloutItemProblem(v) !== undefined) return { kind: 'bad' };
  const item = v as RolloutItem;
  if (
    (item.type === 'session_meta' || item.type === SKEIN_PATCH_LINE_TYPE) &&
    isObject(item.payload) &&
    SKEIN_PATCH_KEY in item.payload
  ) {
    return { kind: 'patch', item, patch: patchFromJson(item.payload[SKEIN_PATCH_KEY]) };
  }
  return { kind: 'item', item };
}

/** Whether an item belongs to the replayed history (Codex drops legacy ghost snapshots). */
export function isHistoryItem(item: RolloutItem): boolean {
  return !(item.type === 'response_item' && isObject(item.payload) && item.payload.type === 'ghost_snapshot');
}

export interface LineCounts {
  blank: number;
  bad: number;
  /** 1 when the file ends in an unparseable line without a newline (torn by a crash). */
  tornTail: number;
}

/** The first rollout item of a file (its `session_meta`, normally), or null. */
export async function readFirstItem(file: string, zst: boolean): Promise<RolloutItem | null> {
  let seen = 0;
  for await (const line of readRawLines(file, { zst })) {
    const p = parseLine(line.text);
    if (p.kind === 'item' || p.kind === 'patch') return p.item;
    if (++seen >= 16) return null;
  }
  return null;
}

export interface HistoryBase {
  threadId: string;
  endByteOffset: number;
}

/** A paginated fork's pointer to its parent's prefix, from its first session_meta. */
export function historyBaseOf(first: RolloutItem | null): HistoryBase | null {
  if (!first || first.type !== 'session_meta' || !isObject(first.payload)) return null;
  const hb = first.payload.history_base;
  if (!isObject(hb)) return null;
  const id = hb.thread_id;
  const end = hb.end_byte_offset;
  if (typeof id !== 'string' || typeof end !== 'number' || !Number.isInteger(end) || end < 0) return null;
  return { threadId: id.toLowerCase(), endByteOffset: end };
}

/** Finds the rollout file of a thread id (for fork parents); null when there is none. */
export type ParentResolver = (threadId: string) => Promise<{ path: string; zst: boolean } | null>;

export interface HistoryReadOptions {
  zst: boolean;
  /** Exclusive end offset: read only the prefix (a fork's view of its parent). */
  end?: number;
  resolveParent?: ParentResolver;
  counts?: LineCounts;
  chunkSize?: number;
  /** Guards against cycles of fork pointers. */
  depth?: number;
}

/**
 * Streams a thread's history: for a paginated fork, the parent's prefix up to
 * `history_base.end_byte_offset` (recursively), then the file's own lines. Bad lines are
 * skipped and counted; metadata patch lines and ghost snapshots are not history.
 */
export async function* readHistory(file: string, opts: HistoryReadOptions): AsyncGenerator<RolloutItem> {
  for await (const line of readHistoryLines(file, opts)) yield line.item;
}

/** The history of `readHistory`, each item with the line text it was parsed from. */
export async function* readHistoryLines(
  file: string,
  opts: HistoryReadOptions,
): AsyncGenerator<{ item: RolloutItem; text: string }> {
  const depth = opts.depth ?? 0;
  const counts = opts.counts;
  if (opts.resolveParent && depth < 32) {
    const base = historyBaseOf(await readFirstItem(file, opts.zst));
    if (base) {
      const parent = await opts.resolveParent(base.threadId);
      if (parent) {
        const sub: HistoryReadOptions = {
          zst: parent.zst,
          end: base.endByteOffset,
          resolveParent: opts.resolveParent,
          depth: depth + 1,
        };
        if (counts) sub.counts = counts;
        yield* readHistoryLines(parent.path, sub);
      }
    }
  }
  const range: ReadRange = { zst: opts.zst };
  if (opts.end !== undefined) range.end = opts.end;
  if (opts.chunkSize !== undefined) range.chunkSize = opts.chunkSize;
  for await (const batch of lineBatches(file, range)) {
    for (const text of batch.lines) {
      const p = parseLine(text);
      switch (p.kind) {
        case 'blank':
          if (counts) counts.blank += 1;
          break;
        case 'bad':
          if (counts) {
            if (batch.complete) counts.bad += 1;
            else counts.tornTail += 1;
          }
          break;
        case 'patch':
          break;
        case 'item':
          if (isHistoryItem(p.item)) yield { item: p.item, text };
          break;
      }
    }
  }
}

/**
 * A file's lines as strings, one batch per chunk read (the history reader needs no byte
 * offsets): each chunk is decoded once up to its last `\n` and split, instead of a Buffer slice,
 * a decode and an async step per line. A line longer than a chunk is carried over as bytes (so a
 * multi-byte character split between chunks decodes whole). `complete: false` marks the last
 * line when the file does not end with `\n` (torn by a crash or still being written).
 */
async function* lineBatches(file: string, range: ReadRange): AsyncGenerator<{ lines: string[]; complete: boolean }> {
  let pending: Buffer[] = [];
  let pendingLen = 0;
  const strip = (line: string): string => (line.endsWith('\r') ? line.slice(0, -1) : line);
  for await (const chunk of fileChunks(file, range)) {
    const lastNl = chunk.lastIndexOf(NL);
    if (lastNl < 0) {
      pending.push(chunk);
      pendingLen += chunk.length;
      continue;
    }
    let buf = chunk;
    let upTo = lastNl;
    if (pendingLen > 0) {
      buf = Buffer.concat([...pending, chunk], pendingLen + chunk.length);
      upTo = pendingLen + lastNl;
      pending = [];
      pendingLen = 0;
    }
    const lines = buf.toString('utf8', 0, upTo).split('\n');
    for (let i = 0; i < lines.length; i++) lines[i] = strip(lines[i] as string);
    if (upTo + 1 < buf.length) {
      // Copy the rest: keeping a subarray would pin the whole chunk.
      const rest = Buffer.from(buf.subarray(upTo + 1));
      pending.push(rest);
      pendingLen = rest.length;
    }
    yield { lines, complete: true };
  }
  if (pendingLen > 0) yield { lines: [strip(Buffer.concat(pending, pendingLen).toString('utf8'))], complete: false };
}
