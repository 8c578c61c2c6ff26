import { constants, lstatSync, openSync } from 'node:fs';
import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { ThreadStoreError } from '@skein/thread-store-api';

/**
 * Files Skein writes are opened with O_NOFOLLOW, so a symlink planted in the home (to a file
 * outside it, or anywhere) is never written through: the write is refused with a clear error.
 */
export function refuseSymlink(file: string, e: unknown): unknown {
  if ((e as { code?: string }).code === 'ELOOP')
    return ThreadStoreError.invalidRequest(
      `${file} is a symlink; Skein does not write through symlinks (replace it with a regular file)`,
    );
  return e;
}

export async function openNoFollow(file: string, flags: number, mode?: number): Promise<FileHandle> {
  try {
    return await open(file, flags | constants.O_NOFOLLOW, mode);
  } catch (e) {
    throw refuseSymlink(file, e);
  }
}

export function openNoFollowSync(file: string, flags: number, mode?: number): number {
  try {
    return openSync(file, flags | constants.O_NOFOLLOW, mode);
  } catch (e) {
    throw refuseSymlink(file, e);
  }
}

/** For files opened by a library that follows links (SQLite): refuse a symlink before opening. */
export function assertNotSymlink(file: string): void {
  let link = false;
  try {
    link = lstatSync(file).isSymbolicLink();
  } catch {
    return; // missing: it is created as a regular file
  }
  if (link) throw refuseSymlink(file, Object.assign(new Error('symlink'), { code: 'ELOOP' }));
}
