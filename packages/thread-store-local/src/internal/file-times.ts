import { randomUUID } from 'node:crypto';
import { stat, unlink, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ThreadStoreError } from '@skein/thread-store-api';

/**
 * A Date as utimes seconds that reads back as the same millisecond: seconds as a double lose a
 * few nanoseconds (…678 ms becomes …677.999), and updatedAt is the mtime floored to the ms.
 */
export function mtimeSeconds(d: Date): number {
  return (d.getTime() + 0.5) / 1000;
}

/**
 * A thread's updatedAt is its file's mtime, and file systems clamp what they keep (ext4 stops at
 * 2446-05-10, some at 2038): a probe file in the home is given the time first, and a time that
 * does not read back is `invalid_request` instead of a silently different date.
 */
export async function assertMtimeKept(home: string, when: Date): Promise<void> {
  const probe = path.join(home, `.skein-mtime-probe-${randomUUID()}`);
  let kept: number;
  try {
    await writeFile(probe, '');
    await utimes(probe, new Date(), mtimeSeconds(when));
    // Floored to the millisecond, as updatedAt is read from a file.
    kept = Math.floor((await stat(probe)).mtimeMs);
  } finally {
    await unlink(probe).catch(() => undefined);
  }
  if (kept !== when.getTime())
    throw ThreadStoreError.invalidRequest(
      `updatedAt ${when.toISOString()} cannot be kept: the file system of ${home} stores it as ${new Date(kept).toISOString()}`,
    );
}
