import {
  existsSync,
  mkdirSync,
  readdirSync,
  renameSync,
  statSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { newThreadId } from '@skein/thread-store-api';
import { resetSweptForTests, WriterLock } from '../src/internal/lock.js';
import { holdFlock, isFlocked } from './helpers/flock.js';
import { tmpHome } from './helpers/home.js';

const tick = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function locksDir(): string {
  return path.join(tmpHome(), 'thread-writer-locks');
}

describe("the thread writer lock (Codex 0.169's protocol)", () => {
  it('creates and flocks <id>.lock; a second acquirer gets conflict; release unlinks the file', async () => {
    const dir = locksDir();
    const id = newThreadId();
    const lock = await WriterLock.acquire(dir, id);
    const file = path.join(dir, `${id}.lock`);
    expect(isFlocked(file)).toBe(true);
    // Coordination was released right after locking.
    expect(isFlocked(path.join(dir, '.coordination.lock'))).toBe(false);
    await expect(WriterLock.acquire(dir, id)).rejects.toMatchObject({
      code: 'conflict',
      message: expect.stringContaining('already has an active writer') as unknown,
    });
    await lock.release();
    expect(existsSync(file)).toBe(false);
    expect(readdirSync(dir)).toEqual(['.coordination.lock']);
    // Free again.
    await (await WriterLock.acquire(dir, id)).release();
  });

  it('waits while another process holds coordination exclusively, then proceeds', async () => {
    const dir = locksDir();
    const id = newThreadId();
    const free = holdFlock(path.join(dir, '.coordination.lock'), 'exnb');
    let done = false;
    const pending = WriterLock.acquire(dir, id).then((l) => {
      done = true;
      return l;
    });
    await tick(300);
    // Still waiting: it cannot have created or locked <id>.lock under an exclusive coordination.
    expect(done).toBe(false);
    expect(existsSync(path.join(dir, `${id}.lock`))).toBe(false);
    free();
    const lock = await pending;
    expect(isFlocked(path.join(dir, `${id}.lock`))).toBe(true);
    await lock.release();
  });

  it('gives up with unavailable when coordination stays held, with a message saying why', async () => {
    const dir = locksDir();
    const free = holdFlock(path.join(dir, '.coordination.lock'), 'exnb');
    try {
      await expect(WriterLock.acquire(dir, newThreadId(), { coordinationTimeoutMs: 200 })).rejects.toMatchObject({
        code: 'unavailable',
        message: expect.stringContaining('timed out waiting for the thread writer coordination lock') as unknown,
      });
    } finally {
      free();
    }
  });

  it('proceeds under a shared coordination lock (another acquirer in progress)', async () => {
    const dir = locksDir();
    const free = holdFlock(path.join(dir, '.coordination.lock'), 'shnb');
    try {
      const lock = await WriterLock.acquire(dir, newThreadId(), { coordinationTimeoutMs: 0 });
      await lock.release();
    } finally {
      free();
    }
  });

  it('retries when the locked file is replaced under it (inode check)', async () => {
    const dir = locksDir();
    const id = newThreadId();
    const file = path.join(dir, `${id}.lock`);
    let calls = 0;
    const lock = await WriterLock.acquire(dir, id, {
      hooks: {
        afterLock: (f) => {
          calls++;
          if (calls > 1) return;
          // What a releaser's unlink followed by another creator looks like from here.
          writeFileSync(`${f}.new`, '');
          renameSync(`${f}.new`, f);
        },
      },
    });
    expect(calls).toBe(2);
    expect(isFlocked(file)).toBe(true);
    await lock.release();
    expect(existsSync(file)).toBe(false);
  });

  it('removes stale <uuid>.lock files on the first exclusive acquire, and only those nobody holds', async () => {
    const dir = locksDir();
    mkdirSync(dir, { recursive: true });
    const stale = path.join(dir, `${newThreadId()}.lock`);
    const held = path.join(dir, `${newThreadId()}.lock`);
    const other = path.join(dir, 'not-a-uuid.lock');
    writeFileSync(stale, '');
    writeFileSync(other, '');
    const free = holdFlock(held, 'exnb');
    try {
      resetSweptForTests();
      const lock = await WriterLock.acquire(dir, newThreadId());
      expect(existsSync(stale)).toBe(false);
      expect(existsSync(held)).toBe(true);
      expect(existsSync(other)).toBe(true);
      // Once per process, as Codex: a later stale file stays until the next process sweeps.
      writeFileSync(stale, '');
      await (await WriterLock.acquire(dir, newThreadId())).release();
      expect(existsSync(stale)).toBe(true);
      await lock.release();
    } finally {
      free();
    }
  });

  it('leaves the file (unlocked) when coordination stays busy at release, as Codex does', async () => {
    const dir = locksDir();
    const id = newThreadId();
    const file = path.join(dir, `${id}.lock`);
    const lock = await WriterLock.acquire(dir, id);
    const free = holdFlock(path.join(dir, '.coordination.lock'), 'exnb');
    try {
      await lock.release();
    } finally {
      free();
    }
    expect(existsSync(file)).toBe(true);
    expect(isFlocked(file)).toBe(false);
    const again = await WriterLock.acquire(dir, id);
    // The leftover file was reused, not replaced.
    expect(statSync(file).size).toBe(0);
    await again.release();
    expect(existsSync(file)).toBe(false);
  });

  it('never opens a lock file through a symlink', async () => {
    const dir = locksDir();
    mkdirSync(dir, { recursive: true });
    const id = newThreadId();
    const outside = path.join(path.dirname(dir), 'outside-target');
    symlinkSync(outside, path.join(dir, `${id}.lock`));
    await expect(WriterLock.acquire(dir, id)).rejects.toMatchObject({
      code: 'invalid_request',
      message: expect.stringContaining('symlink') as unknown,
    });
    expect(existsSync(outside)).toBe(false);
    unlinkSync(path.join(dir, `${id}.lock`));
  });
});
