import { link, mkdir, readFile, rename, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Decompress } from 'fzstd';
import { ThreadStoreError } from '@skein/thread-store-api';
import { mtimeSeconds } from './file-times.js';
import { parseRolloutFileName, plainRolloutPath } from './paths.js';
import type { HomeLayout } from './paths.js';
import { fsyncDir } from './recorder.js';
import type { FsyncPolicy } from './recorder.js';

/** A thread's file as the index lists it. */
interface IndexedFile {
  abs: string;
  zst: boolean;
}

/** Where a thread's files went: every path touched (to re-index) and its plain rollout path. */
export interface Moved {
  paths: Set<string>;
  /** The `.jsonl` path of the last plain file moved (else of a compressed one): Codex's state row names it. */
  rolloutPath: string;
}

/**
 * Codex decompresses a `.jsonl.zst` rollout before appending (under the writer lock): the plain
 * bytes go to a temp file that is hard-linked to the plain name (never over an existing file),
 * with the compressed file's mtime; then the `.zst` is removed.
 */
export async function decompressInPlace(zstPath: string, fsync: FsyncPolicy): Promise<string> {
  const plain = plainRolloutPath(zstPath);
  const chunks: Uint8Array[] = [];
  const d = new Decompress((c) => {
    chunks.push(c);
  });
  d.push(new Uint8Array(await readFile(zstPath)), true);
  const mtime = (await stat(zstPath)).mtime;
  const tmp = path.join(path.dirname(plain), `.rollout-materialize-${process.pid}-${Date.now()}`);
  await writeFile(tmp, Buffer.concat(chunks), { flush: fsync === 'always', flag: 'wx', mode: 0o600 });
  try {
    await utimes(tmp, new Date(), mtime);
    await link(tmp, plain).catch((e: { code?: string }) => {
      // A plain file already there wins (Codex reads it first); the zst is then stale.
      if (e.code !== 'EEXIST') throw e;
    });
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
  await unlink(zstPath).catch(() => undefined);
  if (fsync === 'always') await fsyncDir(path.dirname(plain));
  return plain;
}

/** Moves a thread's active files into `archived_sessions/` (a rename keeps each mtime: updatedAt). */
export async function archiveFiles(
  layout: HomeLayout,
  files: readonly IndexedFile[],
  fsync: FsyncPolicy,
): Promise<Moved> {
  await mkdir(layout.archived, { recursive: true });
  const moved: Moved = { paths: new Set(), rolloutPath: '' };
  for (const f of files) {
    if (!layout.contains(f.abs)) continue;
    const dest = path.join(layout.archived, path.basename(f.abs));
    moved.paths.add(f.abs).add(dest);
    await rename(f.abs, dest);
    if (fsync === 'always') await Promise.all([fsyncDir(path.dirname(f.abs)), fsyncDir(path.dirname(dest))]);
    if (!f.zst || moved.rolloutPath === '') moved.rolloutPath = plainRolloutPath(dest);
  }
  return moved;
}

/**
 * Moves a thread's archived files back to the day folders their names give, touched so the
 * thread's updatedAt becomes `now` (what Codex does).
 */
export async function unarchiveFiles(
  layout: HomeLayout,
  files: readonly IndexedFile[],
  fsync: FsyncPolicy,
  now: Date,
): Promise<Moved> {
  const moved: Moved = { paths: new Set(), rolloutPath: '' };
  for (const f of files) {
    const name = parseRolloutFileName(path.basename(f.abs));
    if (!name?.day)
      throw ThreadStoreError.invalidRequest(
        `cannot unarchive ${f.abs}: its file name has no date to choose the sessions folder`,
      );
    if (!layout.contains(f.abs)) continue;
    const dir = path.join(layout.sessions, name.day.y, name.day.m, name.day.d);
    await mkdir(dir, { recursive: true });
    const dest = path.join(dir, path.basename(f.abs));
    moved.paths.add(f.abs).add(dest);
    await rename(f.abs, dest);
    if (fsync === 'always') await Promise.all([fsyncDir(path.dirname(f.abs)), fsyncDir(dir)]);
    await utimes(dest, now, mtimeSeconds(now));
    if (!f.zst || moved.rolloutPath === '') moved.rolloutPath = plainRolloutPath(dest);
  }
  return moved;
}
