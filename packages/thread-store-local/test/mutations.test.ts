import { existsSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ThreadId } from '@skein/thread-store-api';
import { meta, openStore, tmpHome, userMsg, writeRollout } from './helpers/home.js';

const A = '0a1b2c3d-0000-4000-8000-0000000000d1' as ThreadId;
const B = '0a1b2c3d-0000-4000-8000-0000000000d2' as ThreadId;
const NAME = `rollout-2025-10-01T12-00-00-${A}.jsonl`;

describe('archive, unarchive and delete on disk', () => {
  it('archive moves the file into the flat archived_sessions/ keeping its mtime; unarchive moves it back by its name’s date and touches it', async () => {
    const home = tmpHome();
    const file = writeRollout(home, `sessions/2025/10/01/${NAME}`, [meta(A), userMsg('move me')]);
    const old = new Date('2025-10-01T13:00:00.000Z');
    utimesSync(file, old, old);
    const store = openStore(home);
    await store.archiveThread({ threadId: A });
    const archived = path.join(home, 'archived_sessions', NAME);
    expect(existsSync(file)).toBe(false);
    expect(statSync(archived).mtimeMs).toBe(old.getTime());
    const t = await store.readThread({ threadId: A, includeArchived: true });
    expect(t.updatedAt.getTime()).toBe(old.getTime());
    expect(t.rolloutPath).toBe(archived);
    expect(t.archivedAt).not.toBeNull();
    await store.archiveThread({ threadId: A }); // idempotent

    const before = Date.now();
    const back = await store.unarchiveThread({ threadId: A });
    expect(back.archivedAt).toBeNull();
    expect(back.rolloutPath).toBe(file);
    expect(existsSync(archived)).toBe(false);
    expect(statSync(file).mtimeMs).toBeGreaterThanOrEqual(before - 1000);
    expect(back.updatedAt.getTime()).toBeGreaterThanOrEqual(before - 1000);
    expect((await store.unarchiveThread({ threadId: A })).archivedAt).toBeNull(); // idempotent
  });

  it('unarchive of a file whose name has no date is refused with a clear message', async () => {
    const home = tmpHome();
    writeRollout(home, `archived_sessions/rollout-${B}.jsonl`, [meta(B), userMsg('no date')]);
    const store = openStore(home);
    await expect(store.unarchiveThread({ threadId: B })).rejects.toMatchObject({
      code: 'invalid_request',
      message: expect.stringContaining('no date'),
    });
  });

  it('delete removes the plain file, a .zst sibling, archived copies and the names', async () => {
    const home = tmpHome();
    const file = writeRollout(home, `sessions/2025/10/01/${NAME}`, [meta(A), userMsg('delete me')]);
    writeFileSync(`${file}.zst`, 'not really zstd');
    writeRollout(home, `archived_sessions/${NAME}`, [meta(A), userMsg('old archived copy')]);
    writeRollout(home, `sessions/2025/10/02/rollout-2025-10-02T12-00-00-${B}.jsonl`, [meta(B), userMsg('keep me')]);
    writeFileSync(
      path.join(home, 'session_index.jsonl'),
      [A, B, A]
        .map((id) => JSON.stringify({ id, thread_name: `n-${id}`, updated_at: '2025-10-01T00:00:00Z' }))
        .join('\n') + '\n',
    );
    const store = openStore(home);
    expect((await store.readThread({ threadId: A })).preview).toBe('delete me'); // the active copy wins
    await store.deleteThread({ threadId: A });
    expect(existsSync(file)).toBe(false);
    expect(existsSync(`${file}.zst`)).toBe(false);
    expect(existsSync(path.join(home, 'archived_sessions', NAME))).toBe(false);
    const names = readFileSync(path.join(home, 'session_index.jsonl'), 'utf8').trim().split('\n');
    expect(names.map((l) => (JSON.parse(l) as { id: string }).id)).toEqual([B]);
    await expect(store.deleteThread({ threadId: A })).rejects.toMatchObject({ code: 'not_found' });
    expect((await store.readThread({ threadId: B })).name).toBe(`n-${B}`);
  });
});
