import { appendFile, open, readFile, rename, unlink } from 'node:fs/promises';
import { ThreadStoreError, isObject } from '@skein/thread-store-api';
import { FileLock } from './lock.js';
import type { HomeLayout } from './paths.js';

/**
 * `session_index.jsonl`: Codex's log of thread names, one `{"id","thread_name","updated_at"}`
 * line per rename. The newest line for an id wins; empty names are ignored; delete rewrites the
 * file without the id.
 */
export function parseSessionIndex(text: string): Map<string, string> {
  const names = new Map<string, string>();
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
    names.set(v.id.toLowerCase(), v.thread_name);
  }
  return names;
}

export async function readSessionIndex(layout: HomeLayout): Promise<Map<string, string>> {
  try {
    return parseSessionIndex(await readFile(layout.sessionIndex, 'utf8'));
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT') return new Map();
    throw ThreadStoreError.internal(`cannot read ${layout.sessionIndex}: ${(e as Error).message}`, e);
  }
}

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

/** Appends a name line the way Codex does (one O_APPEND write, fsynced). */
export async function appendSessionName(
  layout: HomeLayout,
  threadId: string,
  name: string,
  fsync: boolean,
): Promise<void> {
  const line = JSON.stringify({ id: threadId, thread_name: name, updated_at: new Date().toISOString() }) + '\n';
  await withIndexLock(layout, async () => {
    if (!fsync) {
      await appendFile(layout.sessionIndex, line, 'utf8');
      return;
    }
    const fh = await open(layout.sessionIndex, 'a');
    try {
      await fh.write(line);
      await fh.sync();
    } finally {
      await fh.close();
    }
  });
}

/** Rewrites the index without any line for `threadId` (atomically: temp file + rename). */
export async function removeSessionNames(layout: HomeLayout, threadId: string): Promise<void> {
  await withIndexLock(layout, async () => {
    let text: string;
    try {
      text = await readFile(layout.sessionIndex, 'utf8');
    } catch (e) {
      if ((e as { code?: string }).code === 'ENOENT') return;
      throw e;
    }
    const lines = text.split('\n');
    const kept = lines.filter((line) => {
      if (line.trim() === '') return false;
      try {
        const v: unknown = JSON.parse(line);
        return !(isObject(v) && typeof v.id === 'string' && v.id.toLowerCase() === threadId);
      } catch {
        return true;
      }
    });
    if (kept.length === lines.filter((l) => l.trim() !== '').length) return;
    const tmp = `${layout.sessionIndex}.skein-tmp-${process.pid}`;
    const fh = await open(tmp, 'w');
    try {
      await fh.write(kept.length > 0 ? kept.join('\n') + '\n' : '');
      await fh.sync();
    } finally {
      await fh.close();
    }
    try {
      await rename(tmp, layout.sessionIndex);
    } catch (e) {
      await unlink(tmp).catch(() => undefined);
      throw e;
    }
  });
}
