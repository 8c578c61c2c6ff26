import { closeSync, constants, fstatSync, lstatSync, mkdirSync, readdirSync, unlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { ThreadStoreError } from '@skein/thread-store-api';
import { openNoFollowSync } from './no-follow.js';

interface FsExt {
  flockSync(fd: number, flags: 'ex' | 'exnb' | 'sh' | 'shnb' | 'un'): void;
}

let loaded: FsExt | undefined;

/**
 * fs-ext, a CommonJS native module without types that exposes BSD flock(2), loaded on the first
 * lock: it cannot be loaded on a worker thread (its addon is not context-aware, and loading it
 * there ends the process), and the index worker (index-worker.ts) loads this module without
 * taking locks.
 */
function fsExt(): FsExt {
  loaded ??= createRequire(import.meta.url)('fs-ext') as FsExt;
  return loaded;
}

/** Read-write, created when missing; openNoFollowSync adds O_NOFOLLOW (files Skein writes stay in the home). */
const OPEN_CREATE = constants.O_RDWR | constants.O_CREAT;
const OPEN_EXISTING = constants.O_RDWR;
/** Codex creates its lock files 0666 (the umask applies). */
const LOCK_FILE_MODE = 0o666;

const COORDINATION = '.coordination.lock';
const UUID_LOCK = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.lock$/i;

/** Codex polls a busy coordination lock every 50 ms and gives up after 30 s. */
export const COORDINATION_POLL_MS = 50;
export const COORDINATION_TIMEOUT_MS = 30_000;
/** A lock file replaced under us between open and flock is retried this many times. */
const INODE_RETRIES = 20;

function isBusy(e: unknown): boolean {
  const code = (e as { code?: string }).code;
  return code === 'EAGAIN' || code === 'EWOULDBLOCK' || code === 'EACCES';
}

/** Takes a non-blocking flock; false when another open file description holds it. */
function tryFlock(fd: number, mode: 'exnb' | 'shnb', file: string): boolean {
  try {
    fsExt().flockSync(fd, mode);
    return true;
  } catch (e) {
    if (isBusy(e)) return false;
    throw ThreadStoreError.internal(`cannot lock ${file}: ${(e as Error).message}`, e);
  }
}

function openLockFile(file: string, flags: number): number {
  return openNoFollowSync(file, flags, LOCK_FILE_MODE);
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // Already closed; the lock (if any) is gone with it.
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Folders whose stale `<uuid>.lock` files this process has already swept (Codex: once per process). */
const swept = new Set<string>();

/** Test seams: called at the points where another process could interfere. */
export interface WriterLockHooks {
  /** After `<id>.lock` is flocked and coordination closed, before the inode check. */
  afterLock?: (lockFile: string) => void;
}

export interface WriterLockOptions {
  /** How long to wait for a busy coordination lock (default 30 s, as Codex). */
  coordinationTimeoutMs?: number;
  hooks?: WriterLockHooks;
}

/**
 * The writer lock Codex 0.169 takes on a thread, with the same protocol, so Codex and Skein
 * exclude each other and clean up each other's files:
 *
 * acquire: `mkdir -p thread-writer-locks`; flock `.coordination.lock` EX|NB, or while that is
 * busy poll SH|NB every 50 ms for up to 30 s; open/create `<id>.lock` and flock it EX|NB (busy:
 * another writer, Codex or Skein); close the coordination lock. Then Skein checks that the
 * locked file is still the one at the path (a releaser may have unlinked it) and retries if not.
 * The first exclusive acquire in a process removes stale, unlockable-by-nobody `<uuid>.lock` files.
 *
 * release: flock coordination EX (polled briefly), close `<id>.lock` (dropping the flock), unlink
 * it, close coordination. If coordination stays busy the file is left, unlocked, as Codex leaves
 * it: the next exclusive acquirer removes it. Only an flock test says whether a thread is held.
 */
export class WriterLock {
  private fd: number | null;

  private constructor(
    readonly file: string,
    private readonly dir: string,
    fd: number,
  ) {
    this.fd = fd;
  }

  static async acquire(dir: string, threadId: string, options: WriterLockOptions = {}): Promise<WriterLock> {
    const file = path.join(dir, `${threadId}.lock`);
    for (let attempt = 0; ; attempt++) {
      const coord = await Coordination.take(dir, options.coordinationTimeoutMs ?? COORDINATION_TIMEOUT_MS);
      let fd: number;
      try {
        fd = openLockFile(file, OPEN_CREATE);
        if (!tryFlock(fd, 'exnb', file)) {
          closeQuietly(fd);
          throw writerLockConflict(threadId);
        }
      } finally {
        coord.close();
      }
      options.hooks?.afterLock?.(file);
      if (sameFile(fd, file)) return new WriterLock(file, dir, fd);
      // The file we locked was unlinked or replaced: our lock protects nothing. Try again.
      closeQuietly(fd);
      if (attempt >= INODE_RETRIES)
        throw new ThreadStoreError('unavailable', `${file} keeps being replaced while Skein locks it; retry later`);
    }
  }

  get held(): boolean {
    return this.fd !== null;
  }

  /** Releases the lock and removes the file, as Codex does (see the class comment). */
  async release(): Promise<void> {
    if (this.fd === null) return;
    const fd = this.fd;
    this.fd = null;
    let coord: Coordination | null = null;
    try {
      coord = await Coordination.takeExclusive(this.dir, RELEASE_WAIT_MS);
    } catch {
      // No coordination (folder gone, unreadable): the flock still goes with the descriptor.
    }
    closeQuietly(fd);
    if (!coord) return;
    try {
      unlinkSync(this.file);
    } catch {
      // Already removed by a sweeping acquirer.
    } finally {
      coord.close();
    }
  }
}

/** How long a release waits for exclusive coordination before leaving its file behind. */
const RELEASE_WAIT_MS = 1_000;

function sameFile(fd: number, file: string): boolean {
  try {
    return fstatSync(fd).ino === lstatSync(file).ino;
  } catch {
    return false;
  }
}

/** `.coordination.lock`: serializes lock-file creation against lock-file removal. */
class Coordination {
  private constructor(
    private readonly fd: number,
    readonly exclusive: boolean,
  ) {}

  private static open(dir: string): number {
    mkdirSync(dir, { recursive: true });
    if (lstatSync(dir).isSymbolicLink())
      throw ThreadStoreError.invalidRequest(`${dir} is a symlink; Skein does not lock or write through symlinks`);
    return openLockFile(path.join(dir, COORDINATION), OPEN_CREATE);
  }

  /** EX, or SH while EX is busy (other acquirers hold SH; a releaser or sweeper holds EX). */
  static async take(dir: string, timeoutMs: number): Promise<Coordination> {
    const fd = Coordination.open(dir);
    const file = path.join(dir, COORDINATION);
    try {
      if (tryFlock(fd, 'exnb', file)) {
        if (!swept.has(dir)) {
          swept.add(dir);
          sweepStaleLocks(dir);
        }
        return new Coordination(fd, true);
      }
      const until = Date.now() + timeoutMs;
      for (;;) {
        if (tryFlock(fd, 'shnb', file)) return new Coordination(fd, false);
        if (Date.now() >= until)
          throw new ThreadStoreError(
            'unavailable',
            `timed out waiting for the thread writer coordination lock (${file}); another Codex or Skein process may be suspended on this or another host`,
          );
        await sleep(COORDINATION_POLL_MS);
      }
    } catch (e) {
      closeQuietly(fd);
      throw e;
    }
  }

  /** EX only, polled for up to `timeoutMs`; null when it stayed busy. */
  static async takeExclusive(dir: string, timeoutMs: number): Promise<Coordination | null> {
    const fd = Coordination.open(dir);
    const file = path.join(dir, COORDINATION);
    const until = Date.now() + timeoutMs;
    try {
      for (;;) {
        if (tryFlock(fd, 'exnb', file)) return new Coordination(fd, true);
        if (Date.now() >= until) {
          closeQuietly(fd);
          return null;
        }
        await sleep(COORDINATION_POLL_MS);
      }
    } catch (e) {
      closeQuietly(fd);
      throw e;
    }
  }

  close(): void {
    closeQuietly(this.fd);
  }
}

/**
 * Under exclusive coordination nobody can be between creating and locking a lock file, so a
 * `<uuid>.lock` nobody holds is a leftover (a process that exited, or a release that found
 * coordination busy): remove it. Other names are left alone, as Codex leaves them.
 */
function sweepStaleLocks(dir: string): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!UUID_LOCK.test(name)) continue;
    const file = path.join(dir, name);
    let fd: number;
    try {
      fd = openNoFollowSync(file, OPEN_EXISTING);
    } catch {
      continue; // gone, or a symlink
    }
    let free = false;
    try {
      free = tryFlock(fd, 'exnb', file);
    } catch {
      free = false;
    }
    closeQuietly(fd);
    if (free) {
      try {
        unlinkSync(file);
      } catch {
        // Removed by someone else meanwhile.
      }
    }
  }
}

/** Forgets which folders were swept (tests that simulate a fresh process). */
export function resetSweptForTests(): void {
  swept.clear();
}

/**
 * A short-lived exclusive flock on a file that is never removed (Skein's `session_index.jsonl.lock`),
 * retried for up to `timeoutMs` with timers, never blocking the event loop.
 */
export class FileLock {
  private fd: number | null;

  private constructor(fd: number) {
    this.fd = fd;
  }

  static async acquire(file: string, timeoutMs: number): Promise<FileLock | null> {
    const until = Date.now() + timeoutMs;
    let delay = 2;
    for (;;) {
      const fd = openLockFile(file, OPEN_CREATE);
      if (tryFlock(fd, 'exnb', file)) return new FileLock(fd);
      closeQuietly(fd);
      if (Date.now() >= until) return null;
      await sleep(delay);
      delay = Math.min(delay * 2, 50);
    }
  }

  release(): void {
    if (this.fd === null) return;
    const fd = this.fd;
    this.fd = null;
    closeQuietly(fd);
  }
}

/** Codex's own wording, so one message means the same thing from either program. */
export function writerLockConflict(threadId: string): ThreadStoreError {
  return ThreadStoreError.conflict(
    `thread ${threadId} already has an active writer in another process (Codex or Skein); close it there first`,
  );
}
