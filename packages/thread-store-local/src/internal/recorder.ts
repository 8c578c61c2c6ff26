import { mkdir, open, stat } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { ThreadStoreError } from '@skein/thread-store-api';

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

async function writeAll(fh: FileHandle, data: Buffer, position: number): Promise<void> {
  let off = 0;
  while (off < data.length) {
    const { bytesWritten } = await fh.write(data, off, data.length - off, position + off);
    off += bytesWritten;
  }
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

/**
 * The writer of one rollout file. The file is created lazily — on the first persist, or the first
 * flush with buffered lines. Appends are buffered and written with one write per flush; a flush
 * resolves once the data is written and (policy `always`) fsynced. Operations run one at a time.
 */
export class RolloutRecorder {
  readonly path: string;
  private readonly fsync: FsyncPolicy;
  private fh: FileHandle | null = null;
  private size = 0;
  private buffer: string[] = [];
  /** The `session_meta` line written first when the file is created (null on resume). */
  private headLine: string | null;
  private exists: boolean;
  private closed = false;
  private discarded = false;
  private chain: Promise<unknown> = Promise.resolve();

  private constructor(file: string, fsync: FsyncPolicy, headLine: string | null, exists: boolean) {
    this.path = file;
    this.fsync = fsync;
    this.headLine = headLine;
    this.exists = exists;
  }

  /** A recorder for a new thread; nothing touches the disk until it materializes. */
  static forNewFile(file: string, fsync: FsyncPolicy, headLine: string): RolloutRecorder {
    return new RolloutRecorder(file, fsync, headLine, false);
  }

  /** Opens an existing rollout for appending, cutting a torn last line off first. */
  static async resume(file: string, fsync: FsyncPolicy): Promise<RolloutRecorder> {
    const r = new RolloutRecorder(file, fsync, null, true);
    const fh = await open(file, 'r+');
    try {
      r.size = await repairTornTail(fh);
      if (fsync === 'always') await fh.sync();
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

  /** Queues serialized lines (without newlines). */
  append(lines: readonly string[]): void {
    if (this.closed) throw ThreadStoreError.internal(`rollout writer for ${this.path} is closed`);
    for (const l of lines) this.buffer.push(l);
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

  /** Writes what is buffered; materializes the file only when there is something to write. */
  flush(): Promise<void> {
    return this.run(() => this.writeOut(false));
  }

  private async writeOut(materialize: boolean): Promise<void> {
    if (this.closed) throw ThreadStoreError.internal(`rollout writer for ${this.path} is closed`);
    if (this.buffer.length === 0 && (this.exists || !materialize)) return;
    let created = false;
    if (!this.fh) {
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
        this.fh = await open(this.path, 'wx');
      } catch (e) {
        if ((e as { code?: string }).code === 'EEXIST')
          throw ThreadStoreError.conflict(`rollout file ${this.path} already exists; the thread was created elsewhere`);
        throw e;
      }
      this.size = 0;
      created = true;
    }
    // Take the buffer before awaiting: lines appended while this write runs belong to the next flush.
    const lines = this.buffer;
    this.buffer = [];
    const head = this.exists ? null : this.headLine;
    const all = head === null ? lines : [head, ...lines];
    const data = Buffer.from(all.join('\n') + '\n', 'utf8');
    const before = this.size;
    try {
      await writeAll(this.fh, data, before);
      if (this.fsync === 'always') await this.fh.sync();
    } catch (e) {
      // Take the partial write back so the file ends on a line boundary; keep the lines buffered.
      await this.fh.truncate(before).catch(() => undefined);
      if (!this.discarded) this.buffer = [...lines, ...this.buffer];
      throw ThreadStoreError.internal(`writing ${this.path} failed: ${(e as Error).message}`, e);
    }
    this.size = before + data.length;
    this.exists = true;
    this.headLine = null;
    if (created && this.fsync === 'always') await fsyncDir(path.dirname(this.path));
  }

  /** Drops unflushed lines and closes; what is on disk stays. */
  discard(): Promise<void> {
    this.discarded = true;
    this.buffer = [];
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
