import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import {
  THREAD_STORE_ERROR_CODES,
  ThreadStoreError,
  isThreadStoreError,
  isThreadStoreErrorCode,
  toThreadStoreError,
} from '../src/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** Loads a second, independent copy of errors.ts's built module, like a duplicated package. */
async function otherCopy(): Promise<typeof import('../src/errors.js')> {
  const dir = await mkdtemp(join(tmpdir(), 'skein-errors-copy-'));
  dirs.push(dir);
  const target = join(dir, 'errors.ts');
  await copyFile(join(here, '..', 'src', 'errors.ts'), target);
  return (await import(pathToFileURL(target).href)) as typeof import('../src/errors.js');
}

describe('ThreadStoreError', () => {
  it('carries a code, a message, a name and a cause', () => {
    const cause = new Error('disk');
    const e = new ThreadStoreError('internal', 'boom', { cause });
    expect(e).toBeInstanceOf(Error);
    expect(e.code).toBe('internal');
    expect(e.message).toBe('boom');
    expect(e.name).toBe('ThreadStoreError');
    expect(e.cause).toBe(cause);
  });

  it('has helpers for the common codes', () => {
    expect(ThreadStoreError.notFound('abc')).toMatchObject({
      code: 'not_found',
      message: expect.stringContaining('abc'),
    });
    expect(ThreadStoreError.invalidRequest('bad')).toMatchObject({ code: 'invalid_request', message: 'bad' });
    expect(ThreadStoreError.conflict('busy')).toMatchObject({ code: 'conflict' });
    expect(ThreadStoreError.unsupported('x', 'because')).toMatchObject({
      code: 'unsupported',
      message: 'x is not supported: because',
    });
    expect(ThreadStoreError.internal('oops').cause).toBeUndefined();
  });

  it('isThreadStoreError recognises errors of this copy, optionally by code', () => {
    const e = ThreadStoreError.conflict('x');
    expect(isThreadStoreError(e)).toBe(true);
    expect(isThreadStoreError(e, 'conflict')).toBe(true);
    expect(isThreadStoreError(e, 'not_found')).toBe(false);
  });

  it('isThreadStoreError recognises errors from another copy of the package', async () => {
    const other = await otherCopy();
    const foreign = new other.ThreadStoreError('not_found', 'from the other copy');
    expect(other.ThreadStoreError).not.toBe(ThreadStoreError);
    expect(foreign instanceof ThreadStoreError).toBe(false);
    expect(isThreadStoreError(foreign)).toBe(true);
    expect(isThreadStoreError(foreign, 'not_found')).toBe(true);
    expect(other.isThreadStoreError(ThreadStoreError.invalidRequest('ours'), 'invalid_request')).toBe(true);
    expect(toThreadStoreError(foreign, 'ctx')).toBe(foreign);
  });

  it('rejects look-alikes without the brand', () => {
    expect(isThreadStoreError({ code: 'not_found', message: 'x', name: 'ThreadStoreError' })).toBe(false);
    expect(isThreadStoreError(new Error('x'))).toBe(false);
    expect(isThreadStoreError(null)).toBe(false);
    expect(isThreadStoreError('not_found')).toBe(false);
    expect(isThreadStoreError(undefined)).toBe(false);
  });

  it('toThreadStoreError wraps anything else as internal, keeping the cause', () => {
    const cause = new Error('EIO');
    const e = toThreadStoreError(cause, 'reading rollout');
    expect(e.code).toBe('internal');
    expect(e.message).toBe('reading rollout: EIO');
    expect(e.cause).toBe(cause);
    expect(toThreadStoreError('text', 'ctx').message).toBe('ctx: text');
  });

  it('knows exactly the nine codes', () => {
    expect(THREAD_STORE_ERROR_CODES).toHaveLength(9);
    for (const c of THREAD_STORE_ERROR_CODES) expect(isThreadStoreErrorCode(c)).toBe(true);
    expect(isThreadStoreErrorCode('NOT_FOUND')).toBe(false);
    expect(isThreadStoreErrorCode(5)).toBe(false);
  });
});
