import { constants as fsConstants, fstatSync, readSync, writeSync } from 'node:fs';
import { mkdir, open, stat } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { ThreadStoreError } from '@skein/thread-store-api';
import type { HistoryMode } from '@skein/thread-store-api';
import type { CommitMember, SyncFile } from './group-commit.js';
import { openNoFollow } from './no-follow.js';
import { scanPaginatedTail } from './ordinals.js';

/**
 * When appends reach the disk: `always` fsyncs on every flush (a flush survives a power cut),
 * `never` leaves it to the OS (a flush survives a crash of the process only).
 */
export type FsyncPolicy = 'always' | 'never';

/**
 * Cuts a torn last line (left by a crash in the middle of a write) off a rollout file so the next
 * append starts on a fresh line. A last line that is complete JSON but lacks its newline gets the
 * newline instead. Returns the file's size afterwards.
 */
export async function repairTornTail(fh: FileHandle): Promise<number> {
  const size = (await fh.stat()).size;
  if (size === 0) return 0;
  const one = Buffer.alloc(1);
  await fh.read(one, 0, 1, size - 1);
  if (one[0] === 0x0a) return size;
  // Find the last newline, scanning backwards.
  const step = 1 << 16;
  let pos = size;
  let lastNl = -1;
  const buf = Buffer.alloc(step);
  while (pos > 0 && lastNl < 0) {
    const from = Math.max(0, pos - step);
    const { bytesRead } = await fh.read(buf, 0, pos - from, from);
    const i = buf.subarray(0, bytesRead).lastIndexOf(0x0a);
    if (i >= 0) lastNl = from + i;
    pos = from;
  }
  const tailStart = lastNl + 1;
  const tail = Buffer.alloc(size - tailStart);
  await fh.read(tail, 0, tail.length, tailStart);
  let complete = false;
  try {
    const v: unknown = JSON.parse(tail.toString('utf8'));
    complete = typeof v === 'object' && v !== null && !Array.isArray(v);
  } catch {
    complete = false;
  }
  if (complete) {
    await fh.write(Buffer.from('\n'), 0, 1, size);
    return size + 1;
  }
  await fh.truncate(tailStart);
  return tailStart;
}

async function writeAll(fh: FileHandle, data: Buffer): Promise<void> {
  let off = 0;
  // The descriptor is O_APPEND: every write lands at the end of the file, whatever the position.
  while (off < data.length) {
    const { bytesWritten } = await fh.write(data, off, data.length - off, null);
    off += bytesWritten;
  }
}

/**
 * `writeAll` without the thread pool: a flush writes a few KiB into the page cache, which costs
 * less in the calling thread than the two thread switches of an asynchronous write (the index's
 * SQLite writes are synchronous too). The fsync that makes the bytes durable stays asynchronous.
 */
function writeAllSync(fd: number, data: Buffer): void {
  let off = 0;
  while (off < data.length) off += writeSync(fd, data, off, data.length - off, null);
}

/** Makes a directory entry change (create, rename) durable. */
export async function fsyncDir(dir: string): Promise<void> {
  let fh: FileHandle | null = null;
  try {
    fh = await open(dir, 'r');
    await fh.sync();
  } catch {
    // Some filesystems refuse fsync on directories; the file's own fsync still holds.
  } finally {
    await fh?.close();
  }
}

/** Default cap of a writer's unflushed lines (bytes of JSON): a caller that never flushes fails fast. */
export const DEFAULT_MAX_BUFFERED_BYTES = 64 * 1024 * 1024;

const { O_RDWR, O_APPEND, O_CREAT, O_EXCL } = fsConstants;

/** One line a paginated writer put on disk, with its byte range (for the history projection). */
export interface WrittenLine {
  item: Record<string, unknown>;
  ordinal: number;
  start: number;
  /** Just after the line's `\n`. */
  end: number;
}

export interface RecorderOptions {
  fsync: FsyncPolicy;
  mode: HistoryMode;
  maxBufferedBytes?: number;
  /** Called after a flush put paginated lines on disk (the file was `sizeBefore` bytes before). */
  onWritten?: (lines: WrittenLine[], sizeBefore: number) => void;
}

/** One line a writer appended, with its byte range in the file (`end` is just after its `\n`). */
export interface AppendedLine {
  text: string;
  start: number;
  end: number;
}

/**
 * What a writer appended since it was last asked (see `RolloutRecorder.takeAppended`): enough to
 * index the new lines without reading the file back. `marks` are the offsets where its writes
 * began (the first is `start`) with the file's fingerprint there (its first 256 bytes and the 64
 * before the offset, as the index keeps it), `endPrint` the fingerprint at `end`; all from bytes
 * this writer read or wrote.
 */
export interface AppendedRun {
  path: string;
  start: number;
  marks: { at: number; print: string }[];
  end: number;
  endPrint: string;
  lines: AppendedLine[];
}

/** A writer keeps at most this much appended text for the index; past it the index reads the file. */
const MAX_APPENDED_KEPT = 8 << 20;

/** The fingerprint text of a file whose first bytes are `first` (up to 256) and last bytes before the offset `last` (up to 64). */
export function fingerprintFrom(first: Buffer, last: Buffer): string {
  return `${first.toString('base64')}.${last.toString('base64')}`;
}

interface Pending {
  text: string;
  /** Paginated lines only: the record and its ordinal. */
  item?: Record<string, unknown>;
  ordinal?: number;
}

/**
 * A rollout line in Codex's envelope order: `timestamp`, then (paginated) `ordinal`, `type`,
 * `payload`, then anything else the item carries (`metadata` on response items).
 */
export function envelopeLine(item: Record<string, unknown>, timestamp: string, ordinal?: number): string {
  const { timestamp: _t, ordinal: _o, type, payload, ...rest } = item;
  const out: Record<string, unknown> = { timestamp };
  if (ordinal !== undefined) out.ordinal = ordinal;
  out.type = type;
  out.payload = payload;
  return JSON.stringify(Object.assign(out, rest));
}

/**
 * The writer of one rollout file. The file is created lazily — on the first persist, or the first
 * flush with buffered lines. It is opened `O_RDWR|O_APPEND`, so no write can land on another
 * writer's bytes, and before each flush its size is checked against what this writer wrote: a
 * file that grew under it (another writer that ignored the lock) is a `conflict`, never mixed
 * into. Lines go out in one write per flush; paginated lines carry ordinals (numbered on append,
 * continuing the file's own). Operations run one at a time.
 */
export class RolloutRecorder implements CommitMember {
  readonly path: string;
  readonly mode: HistoryMode;
  private readonly fsync: FsyncPolicy;
  private readonly maxBuffered: number;
  private readonly onWritten: RecorderOptions['onWritten'];
  private fh: FileHandle | null = null;
  private size = 0;
  private buffer: Pending[] = [];
  private bufferedBytes = 0;
  /** Paginated only: the ordinal the next appended line gets. */
  private nextOrdinal = 0;
  /** The `session_meta` line written first when the file is created (null on resume). */
  private head: Pending | null;
  private exists: boolean;
  private closed = false;
  private discarded = false;
  private chain: Promise<unknown> = Promise.resolve();
  /** The file's first (up to 256) and last (up to 64) bytes as this writer knows them; null when unknown. */
  private firstBytes: Buffer | null = null;
  private lastBytes: Buffer | null = null;
  /** Whether a write outside a flush round (persist, a flush without a group's sync) came since the last takeAppended. */
  private wroteAlone = false;
  /** What was appended since the last takeAppended: null when nothing, `lost` when it was not kept. */
  private appended:
    { start: number; marks: AppendedRun['marks']; lines: AppendedLine[]; bytes: number } | 'lost' | null = null;

  private constructor(file: string, options: RecorderOptions, head: Pending | null, exists: boolean) {
    this.path = file;
    this.mode = options.mode;
    this.fsync = options.fsync;
    this.maxBuffered = options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES;
    this.onWritten = options.onWritten;
    this.head = head;
    this.exists = exists;
  }

  /**
   * A recorder for a new thread; nothing touches the disk until it materializes. A paginated file
   * numbers its lines from `firstOrdinal` (0, or a fork's `history_base.end_ordinal_exclusive`).
   */
  static forNewFile(
    file: string,
    options: RecorderOptions,
    headItem: Record<string, unknown>,
    timestamp: string,
    firstOrdinal = 0,
  ): RolloutRecorder {
    const paginated = options.mode === 'paginated';
    const head: Pending = paginated
      ? {
          text: envelopeLine(headItem, timestamp, firstOrdinal),
          item: { ...headItem, timestamp },
          ordinal: firstOrdinal,
        }
      : { text: envelopeLine(headItem, timestamp) };
    const r = new RolloutRecorder(file, options, head, false);
    r.nextOrdinal = firstOrdinal + 1;
    r.firstBytes = Buffer.alloc(0);
    r.lastBytes = Buffer.alloc(0);
    return r;
  }

  /**
   * Opens an existing rollout for appending. A legacy file's torn last line is cut off; a
   * paginated file gets a single `\n` after it instead (the torn bytes stay, as with Codex) and
   * continues from its last valid ordinal + 1.
   */
  static async resume(file: string, options: RecorderOptions): Promise<RolloutRecorder> {
    const r = new RolloutRecorder(file, options, null, true);
    const fh = await openNoFollow(file, O_RDWR | O_APPEND);
    try {
      if (options.mode === 'paginated') {
        const tail = await scanPaginatedTail(fh, file);
        r.size = tail.size;
        r.nextOrdinal = tail.nextOrdinal;
        if (tail.torn) {
          await writeAll(fh, Buffer.from('\n'));
          r.size += 1;
        }
      } else {
        r.size = await repairTornTail(fh);
      }
      if (options.fsync === 'always') await fh.sync();
    } catch (e) {
      await fh.close();
      throw e;
    }
    r.fh = fh;
    return r;
  }

  get materialized(): boolean {
    return this.exists;
  }

  get hasBuffered(): boolean {
    return this.buffer.length > 0;
  }

  /**
   * Takes what was appended since the last call (lines, byte ranges and fingerprints), for the
   * index to fold in without reading the file: null when nothing was, `lost` when the writer
   * cannot vouch for it (a failed write, or more than it keeps; the file must be read). The
   * caller checks the file still ends where the run does before trusting it.
   */
  takeAppended(): AppendedRun | 'lost' | null {
    const a = this.appended;
    this.appended = null;
    this.wroteAlone = false;
    if (a === null || a === 'lost') return a;
    if (!this.firstBytes || !this.lastBytes || a.start + a.bytes !== this.size) return 'lost';
    return {
      path: this.path,
      start: a.start,
      marks: a.marks,
      end: this.size,
      endPrint: fingerprintFrom(this.firstBytes, this.lastBytes),
      lines: a.lines,
    };
  }

  /**
   * Whether this writer wrote outside a flush round since its last takeAppended (what it wrote
   * then is indexed by the next round, or by a read of the file).
   */
  get wroteOutsideRound(): boolean {
    return this.wroteAlone;
  }

  /** Reads the file's first and last bytes when this writer does not know them (a resumed file). */
  private learnEdges(fd: number, size: number): void {
    if (this.firstBytes && this.lastBytes) return;
    const first = Buffer.alloc(Math.min(256, size));
    const last = Buffer.alloc(Math.min(64, size));
    if (readSync(fd, first, 0, first.length, 0) !== first.length) throw new Error('short read');
    if (readSync(fd, last, 0, last.length, size - last.length) !== last.length) throw new Error('short read');
    this.firstBytes = first;
    this.lastBytes = last;
  }

  /** Records a write of `data` at `at` for takeAppended (its lines, from `lines`, only when kept), and the file's new edges. */
  private noteAppended(fd: number, at: number, data: Buffer, lines: () => AppendedLine[]): void {
    try {
      this.learnEdges(fd, at);
    } catch {
      this.firstBytes = this.lastBytes = null;
      this.appended = 'lost';
      return;
    }
    const first = this.firstBytes!;
    const last = this.lastBytes!;
    const a = this.appended;
    const mark = { at, print: fingerprintFrom(first, last) };
    if (a === null) {
      // A large write (a long buffered run flushed at once) is left to a read of the file after
      // the flush, off the flush's path, as are the writes after it until the next round.
      this.appended =
        data.length > MAX_APPENDED_KEPT ? 'lost' : { start: at, marks: [mark], lines: lines(), bytes: data.length };
    } else if (a !== 'lost') {
      if (a.start + a.bytes !== at || a.bytes + data.length > MAX_APPENDED_KEPT) this.appended = 'lost';
      else {
        for (const l of lines()) a.lines.push(l);
        a.marks.push(mark);
        a.bytes += data.length;
      }
    }
    if (first.length < 256) this.firstBytes = Buffer.concat([first, data.subarray(0, 256 - first.length)]);
    const tail = data.length >= 64 ? data.subarray(data.length - 64) : Buffer.concat([last, data]);
    this.lastBytes = Buffer.from(tail.subarray(Math.max(0, tail.length - 64)));
  }

  /** The file's size as this writer last wrote or saw it. */
  get knownSize(): number {
    return this.size;
  }

  private admit(add: Pending[]): void {
    if (this.closed) throw ThreadStoreError.internal(`rollout writer for ${this.path} is closed`);
    const bytes = add.reduce((n, p) => n + p.text.length + 1, 0);
    if (this.bufferedBytes + bytes > this.maxBuffered)
      throw new ThreadStoreError(
        'resource_exhausted',
        `the writer of ${this.path} holds ${this.bufferedBytes} unflushed bytes and ${bytes} more would pass its cap of ${this.maxBuffered} (maxBufferedBytes); flush the thread`,
      );
    this.buffer.push(...add);
    this.bufferedBytes += bytes;
  }

  /**
   * Queues records (without ordinals: a paginated writer numbers them here). `numbered: false`
   * writes a line without an ordinal (a line type Codex skips, which must not use one up).
   */
  appendItems(
    items: readonly Record<string, unknown>[],
    timestamp: (item: Record<string, unknown>) => string,
    numbered = true,
  ): void {
    const add: Pending[] = [];
    let next = this.nextOrdinal;
    for (const item of items) {
      const ts = timestamp(item);
      if (this.mode === 'paginated' && !numbered) {
        add.push({ text: envelopeLine(item, ts), item: { ...item, timestamp: ts }, ordinal: -1 });
      } else if (this.mode === 'paginated') {
        add.push({ text: envelopeLine(item, ts, next), item: { ...item, timestamp: ts }, ordinal: next });
        next += 1;
      } else add.push({ text: envelopeLine(item, ts) });
    }
    this.admit(add);
    this.nextOrdinal = next;
  }

  private run<T>(op: () => Promise<T>): Promise<T> {
    const next = this.chain.then(op, op);
    this.chain = next.catch(() => undefined);
    return next;
  }

  /** Creates the file (with its session_meta) if needed, and writes what is buffered. */
  persist(): Promise<void> {
    return this.run(() => this.writeOut(true));
  }

  /**
   * Writes what is buffered; materializes the file only when there is something to write. `sync`
   * replaces the writer's own fsync (a group commit fsyncs many writers' files in one round); it
   * is called only under the `always` policy, and the flush resolves after it.
   */
  flush(sync?: SyncFile): Promise<void> {
    return this.run(() => this.writeOut(false, sync));
  }

  private async create(): Promise<FileHandle> {
    const dir = path.dirname(this.path);
    const firstMade = await mkdir(dir, { recursive: true });
    if (firstMade !== undefined && this.fsync === 'always') {
      // New day folders: make each new entry durable in its parent.
      for (let d = dir; ; d = path.dirname(d)) {
        await fsyncDir(path.dirname(d));
        if (d === firstMade || path.dirname(d) === d) break;
      }
    }
    try {
      return await open(this.path, O_RDWR | O_APPEND | O_CREAT | O_EXCL, 0o666);
    } catch (e) {
      if ((e as { code?: string }).code === 'EEXIST')
        throw ThreadStoreError.conflict(`rollout file ${this.path} already exists; the thread was created elsewhere`);
      throw e;
    }
  }

  private async writeOut(materialize: boolean, sync?: SyncFile): Promise<void> {
    if (this.closed) throw ThreadStoreError.internal(`rollout writer for ${this.path} is closed`);
    if (this.buffer.length === 0 && (this.exists || !materialize)) return;
    let created = false;
    if (!this.fh) {
      this.fh = await this.create();
      this.size = 0;
      created = true;
    }
    if (!sync) this.wroteAlone = true;
    const fh = this.fh;
    // A synchronous fstat: no disk access, and cheaper than a thread-pool round trip per flush.
    const onDisk = fstatSync(fh.fd).size;
    if (onDisk !== this.size)
      throw ThreadStoreError.conflict(
        `rollout file ${this.path} is ${onDisk} bytes, not the ${this.size} this writer left: another process wrote to it without the thread's writer lock; resume the thread again`,
      );
    // Take the buffer before awaiting: lines appended while this write runs belong to the next flush.
    const lines = this.buffer;
    this.buffer = [];
    this.bufferedBytes = 0;
    const head = this.exists ? null : this.head;
    const all = head === null ? lines : [head, ...lines];
    const before = this.size;
    let done = 0;
    let written = before;
    const out: WrittenLine[] = [];
    try {
      if (this.mode === 'paginated') {
        // One write for the whole flush (the bytes are those of one write per line).
        const parts = all.map((l) => Buffer.from(l.text + '\n', 'utf8'));
        let at = written;
        for (const [i, data] of parts.entries()) {
          const l = all[i]!;
          out.push({ item: l.item ?? {}, ordinal: l.ordinal ?? 0, start: at, end: at + data.length });
          at += data.length;
        }
        const data = Buffer.concat(parts);
        writeAllSync(fh.fd, data);
        written = at;
        done = all.length;
        // The lines' byte ranges are those of `out` (taken only when the writer keeps them).
        this.noteAppended(fh.fd, before, data, () =>
          all.map((l, i) => ({ text: l.text, start: out[i]!.start, end: out[i]!.end })),
        );
      } else {
        const data = Buffer.from(all.map((l) => l.text).join('\n') + '\n', 'utf8');
        writeAllSync(fh.fd, data);
        written += data.length;
        done = all.length;
        this.noteAppended(fh.fd, before, data, () => {
          let at = before;
          return all.map((l) => {
            const start = at;
            at += Buffer.byteLength(l.text, 'utf8') + 1;
            return { text: l.text, start, end: at };
          });
        });
      }
      if (this.fsync === 'always') await (sync ? sync(fh) : fh.sync());
    } catch (e) {
      // Take a partial line back so the file ends on a line boundary; keep unwritten lines buffered.
      await fh.truncate(written).catch(() => undefined);
      // The index reads the file again: what it holds is no longer certain.
      this.appended = 'lost';
      this.firstBytes = this.lastBytes = null;
      const unwritten = all.slice(done).filter((l) => l !== head);
      if (!this.discarded) {
        this.buffer = [...unwritten, ...this.buffer];
        this.bufferedBytes = this.buffer.reduce((n, p) => n + p.text.length + 1, 0);
      }
      this.size = written;
      if (done > 0) this.exists = true;
      if (head && done > 0) this.head = null;
      throw ThreadStoreError.internal(`writing ${this.path} failed: ${(e as Error).message}`, e);
    }
    this.size = written;
    this.exists = true;
    this.head = null;
    if (created && this.fsync === 'always') await fsyncDir(path.dirname(this.path));
    if (out.length > 0 && this.onWritten) this.onWritten(out, before);
  }

  /** Drops unflushed lines and closes; what is on disk stays. */
  discard(): Promise<void> {
    this.discarded = true;
    this.buffer = [];
    this.bufferedBytes = 0;
    return this.run(async () => {
      this.closed = true;
      await this.closeHandle();
    });
  }

  /** Flushes and closes. */
  shutdown(): Promise<void> {
    return this.run(async () => {
      if (!this.closed) await this.writeOut(false);
      this.closed = true;
      await this.closeHandle();
    });
  }

  private async closeHandle(): Promise<void> {
    const fh = this.fh;
    this.fh = null;
    if (fh) await fh.close();
  }

  /** Size on disk as this writer knows it. */
  async diskSize(): Promise<number> {
    if (!this.exists) return 0;
    return (await stat(this.path)).size;
  }
}
