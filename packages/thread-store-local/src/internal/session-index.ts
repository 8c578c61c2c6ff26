import { constants } from 'node:fs';
import { lstat, readFile, rename, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { ThreadStoreError, isObject } from '@skein/thread-store-api';
import { FileLock } from './lock.js';
import { openNoFollow } from './no-follow.js';
import type { HomeLayout } from './paths.js';
import { fsyncDir } from './recorder.js';

/**
 * `session_index.jsonl`: Codex's log of thread names, one `{"id","thread_name","updated_at"}`
 * line per rename. The last line for an id wins; blank names are skipped (Codex 0.169 still
 * resolves a thread by an older name after a blank line, checked with `codex exec resume <name>`),
 * so a blank line cannot clear a name: clearing, like delete, removes the id's lines.
 */
export interface NameEntry {
  name: string;
  /** `updated_at` in epoch ms (0 when unreadable): orders this entry against patch lines. */
  atMs: number;
}

export function parseSessionIndex(text: string): Map<string, NameEntry> {
  const names = new Map<string, NameEntry>();
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch {
      continue;
    }
    if (!isObject(v) || typeof v.id !== 'string' || typeof v.thread_name !== 'string') continue;
    if (v.thread_name.trim() === '') continue;
    const at = typeof v.updated_at === 'string' ? Date.parse(v.updated_at) : NaN;
    names.set(v.id.toLowerCase(), { name: v.thread_name, atMs: Number.isNaN(at) ? 0 : at });
  }
  return names;
}

export async function readSessionIndex(layout: HomeLayout): Promise<Map<string, NameEntry>> {
  try {
    return parseSessionIndex(await readFile(layout.sessionIndex, 'utf8'));
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT') return new Map();
    throw ThreadStoreError.internal(`cannot read ${layout.sessionIndex}: ${(e as Error).message}`, e);
  }
}

/** Codex 0.169 flocks `session_index.jsonl.lock` around its appends too (strace), so this excludes it. */
async function withIndexLock<T>(layout: HomeLayout, op: () => Promise<T>): Promise<T> {
  const lock = await FileLock.acquire(layout.sessionIndexLock, 10_000);
  if (!lock)
    throw new ThreadStoreError('unavailable', `${layout.sessionIndex} is locked by another process; retry in a moment`);
  try {
    return await op();
  } finally {
    lock.release();
  }
}

/** The index line for a name, stamped `at`. */
export function sessionIndexLine(threadId: string, name: string, at: Date): string {
  return JSON.stringify({ id: threadId, thread_name: name, updated_at: at.toISOString() }) + '\n';
}

/** Appends one name line the way Codex does (one O_APPEND write, under the index lock). */
export async function appendSessionName(
  layout: HomeLayout,
  threadId: string,
  name: string,
  at: Date,
  fsync: boolean,
): Promise<void> {
  const line = sessionIndexLine(threadId, name, at);
  await withIndexLock(layout, async () => {
    const fh = await openNoFollow(
      layout.sessionIndex,
      constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT,
      0o666,
    );
    try {
      await fh.write(line);
      if (fsync) await fh.sync();
    } finally {
      await fh.close();
    }
  });
}

function keptLines(text: string, threadId: string): { kept: string; removed: boolean } {
  let removed = false;
  const out: string[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const v: unknown = JSON.parse(line);
      if (isObject(v) && typeof v.id === 'string' && v.id.toLowerCase() === threadId) {
        removed = true;
        continue;
      }
    } catch {
      // Not ours to judge: kept as it is.
    }
    out.push(line);
  }
  return { kept: out.length > 0 ? out.join('\n') + '\n' : '', removed };
}

/**
 * Rewrites the index without any line for `threadId` (what Codex does on delete; Skein also
 * does it to clear a name): temp file,
 * fsync, rename, fsync of the folder. Appends by other processes are kept: the rewrite runs under
 * the index lock Codex also takes; the file is re-checked just before the rename (and the rewrite
 * redone if it grew); and bytes that still reached the old file after the rename are appended to
 * the new one.
 */
export async function removeSessionNames(layout: HomeLayout, threadId: string): Promise<void> {
  const file = layout.sessionIndex;
  await withIndexLock(layout, async () => {
    for (let attempt = 0; attempt < 10; attempt++) {
      let old;
      try {
        old = await openNoFollow(file, constants.O_RDONLY);
      } catch (e) {
        if ((e as { code?: string }).code === 'ENOENT') return;
        throw e;
      }
      try {
        const before = await old.readFile();
        const { kept, removed } = keptLines(before.toString('utf8'), threadId);
        if (!removed) return;
        const tmp = `${file}.skein-tmp-${process.pid}`;
        const fh = await openNoFollow(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC);
        try {
          await fh.write(kept);
          await fh.sync();
        } finally {
          await fh.close();
        }
        // Grown since it was read, or replaced: start over from the current file.
        const [now, current] = await Promise.all([old.stat(), lstat(file).catch(() => null)]);
        if (now.size !== before.length || !current || current.ino !== now.ino) {
          await unlink(tmp).catch(() => undefined);
          continue;
        }
        await rename(tmp, file);
        await fsyncDir(layout.home);
        const late = await readFrom(old, before.length);
        if (late.length > 0) await appendRaw(file, late);
        return;
      } finally {
        await old.close();
      }
    }
    throw new ThreadStoreError('unavailable', `${file} kept changing while Skein rewrote it; retry the delete`);
  });
}

async function readFrom(fh: FileHandle, offset: number): Promise<Buffer> {
  const { size } = await fh.stat();
  if (size <= offset) return Buffer.alloc(0);
  const buf = Buffer.alloc(size - offset);
  const { bytesRead } = await fh.read(buf, 0, buf.length, offset);
  return buf.subarray(0, bytesRead);
}

async function appendRaw(file: string, data: Buffer): Promise<void> {
  const fh = await openNoFollow(file, constants.O_WRONLY | constants.O_APPEND);
  try {
    await fh.write(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
}
