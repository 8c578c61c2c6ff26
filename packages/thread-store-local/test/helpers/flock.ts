import { closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

interface FsExt {
  flockSync(fd: number, flags: 'ex' | 'exnb' | 'sh' | 'shnb' | 'un'): void;
}
const fsExt = createRequire(import.meta.url)('fs-ext') as FsExt;

/**
 * Another holder of a BSD flock, on its own open file description (flock excludes those even
 * within one process). Returns the function that lets go.
 */
export function holdFlock(file: string, mode: 'exnb' | 'shnb'): () => void {
  mkdirSync(path.dirname(file), { recursive: true });
  const fd = openSync(file, 'a');
  fsExt.flockSync(fd, mode);
  return () => closeSync(fd);
}

/** Whether someone holds an flock on the file (a missing file is not locked). */
export function isFlocked(file: string): boolean {
  if (!existsSync(file)) return false;
  const fd = openSync(file, 'r');
  try {
    fsExt.flockSync(fd, 'exnb');
    return false;
  } catch {
    return true;
  } finally {
    closeSync(fd);
  }
}
