import { closeSync, mkdirSync, openSync } from 'node:fs';
import { createRequire } from 'node:module';
import { ThreadStoreError } from '@skein/thread-store-api';

interface FsExt {
  flockSync(fd: number, flags: 'ex' | 'exnb' | 'sh' | 'shnb' | 'un'): void;
}

// fs-ext is a CommonJS native module without types; it exposes BSD flock(2).
const fsExt = createRequire(import.meta.url)('fs-ext') as FsExt;

/**
 * An exclusive BSD `flock` on a file — the lock real Codex holds on
 * `thread-writer-locks/<id>.lock` while a thread is loaded, so Codex and Skein exclude each
 * other. flock locks belong to the open file description, so two opens in one process exclude
 * each other too. The lock files are never deleted (unlinking a lock file races with a process
 * that is opening it).
 */
export class FileLock {
  private fd: number | null;

  private constructor(fd: number) {
    this.fd = fd;
  }

  /** Takes the lock without waiting; null when another holder has it. */
  static tryAcquire(file: string, dir: string): FileLock | null {
    mkdirSync(dir, { recursive: true });
    const fd = openSync(file, 'a');
    try {
      fsExt.flockSync(fd, 'exnb');
    } catch (e) {
      closeSync(fd);
      const code = (e as { code?: string }).code;
      if (code === 'EAGAIN' || code === 'EWOULDBLOCK' || code === 'EACCES') return null;
      throw ThreadStoreError.internal(`cannot lock ${file}: ${(e as Error).message}`, e);
    }
    return new FileLock(fd);
  }

  /** Takes the lock, retrying for up to `timeoutMs` (for short critical sections). */
  static async acquire(file: string, dir: string, timeoutMs: number): Promise<FileLock | null> {
    const until = Date.now() + timeoutMs;
    let delay = 2;
    for (;;) {
      const l = FileLock.tryAcquire(file, dir);
      if (l) return l;
      if (Date.now() >= until) return null;
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 50);
    }
  }

  get held(): boolean {
    return this.fd !== null;
  }

  release(): void {
    if (this.fd === null) return;
    const fd = this.fd;
    this.fd = null;
    try {
      fsExt.flockSync(fd, 'un');
    } catch {
      // Closing the descriptor releases the lock anyway.
    }
    closeSync(fd);
  }
}

export function writerLockConflict(threadId: string): ThreadStoreError {
  return ThreadStoreError.conflict(
    `thread ${threadId} is being written by another process (Codex or Skein); close it there first`,
  );
}
