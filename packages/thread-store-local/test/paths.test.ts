import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ThreadId } from '@skein/thread-store-api';
import { meta, openStore, tmpHome, userMsg, writeRollout } from './helpers/home.js';

const A = '0a1b2c3d-0000-4000-8000-0000000000a1' as ThreadId;
const OUT = '0a1b2c3d-0000-4000-8000-0000000000a2' as ThreadId;

let outside = '';
afterEach(() => {
  if (outside) rmSync(outside, { recursive: true, force: true });
});

function setup(): { home: string; inside: string; outsideFile: string } {
  const home = tmpHome();
  outside = mkdtempSync(path.join(tmpdir(), 'skein-outside-'));
  const inside = writeRollout(home, `sessions/2025/10/01/rollout-2025-10-01T12-00-00-${A}.jsonl`, [
    meta(A),
    userMsg('inside'),
  ]);
  const outsideFile = writeRollout(outside, `rollout-2025-10-01T12-00-00-${OUT}.jsonl`, [
    meta(OUT),
    userMsg('secret outside the home'),
  ]);
  return { home, inside, outsideFile };
}

describe('path safety', () => {
  it('reads rollout paths inside the home, absolute or relative, and the .zst form', async () => {
    const { home, inside } = setup();
    const store = openStore(home);
    expect((await store.readThreadByRolloutPath({ rolloutPath: inside })).threadId).toBe(A);
    expect((await store.readThreadByRolloutPath({ rolloutPath: path.relative(home, inside) })).threadId).toBe(A);
  });

  it('refuses paths outside the home: ../, absolute paths, and symlinks pointing out', async () => {
    const { home, outsideFile } = setup();
    const store = openStore(home);
    const rel = path.relative(home, outsideFile);
    expect(rel.startsWith('..')).toBe(true);
    await expect(store.readThreadByRolloutPath({ rolloutPath: rel })).rejects.toMatchObject({
      code: 'invalid_request',
    });
    await expect(store.readThreadByRolloutPath({ rolloutPath: outsideFile })).rejects.toMatchObject({
      code: 'invalid_request',
    });
    await expect(
      store.readThreadByRolloutPath({
        rolloutPath: `sessions/../../${path.basename(outside)}/${path.basename(outsideFile)}`,
      }),
    ).rejects.toMatchObject({
      code: 'invalid_request',
    });
    const link = path.join(home, 'sessions/2025/10/02', path.basename(outsideFile));
    mkdirSync(path.dirname(link), { recursive: true });
    symlinkSync(outsideFile, link);
    await expect(store.readThreadByRolloutPath({ rolloutPath: link })).rejects.toMatchObject({
      code: 'invalid_request',
    });
    // The walk does not follow the link either: the outside thread is neither listed nor readable.
    expect((await store.listThreads({ pageSize: 100 })).items.map((t) => t.threadId)).toEqual([A]);
    await expect(store.readThread({ threadId: OUT })).rejects.toMatchObject({ code: 'not_found' });
    expect((await store.searchThreads({ searchTerm: 'secret' })).items).toEqual([]);
  });

  it('refuses directories, non-rollout files and empty paths', async () => {
    const { home } = setup();
    const store = openStore(home);
    writeFileSync(path.join(home, 'notes.txt'), 'hello');
    await expect(store.readThreadByRolloutPath({ rolloutPath: 'notes.txt' })).rejects.toMatchObject({
      code: 'invalid_request',
    });
    await expect(store.readThreadByRolloutPath({ rolloutPath: 'sessions' })).rejects.toMatchObject({
      code: 'invalid_request',
    });
    await expect(store.readThreadByRolloutPath({ rolloutPath: '' })).rejects.toMatchObject({ code: 'invalid_request' });
    await expect(store.readThreadByRolloutPath({ rolloutPath: 'sessions/none.jsonl' })).rejects.toMatchObject({
      code: 'not_found',
    });
  });

  it('thread ids that look like paths never reach the filesystem', async () => {
    const { home } = setup();
    const store = openStore(home);
    for (const bad of ['../x', `/${A}`, `${A}/../../etc`, `${A}.jsonl`])
      for (const op of [
        () => store.readThread({ threadId: bad as ThreadId }),
        () =>
          store.createThread({
            threadId: bad as ThreadId,
            source: { kind: 'cli' },
            metadata: { cwd: '/x', modelProvider: 'openai' },
          }),
        () => store.deleteThread({ threadId: bad as ThreadId }),
        () => store.archiveThread({ threadId: bad as ThreadId }),
      ])
        await expect(op()).rejects.toMatchObject({ code: 'invalid_request' });
  });

  it('a session_meta id that is not a UUID is ignored in favour of the file name id', async () => {
    const home = tmpHome();
    const B = '0a1b2c3d-0000-4000-8000-0000000000b1' as ThreadId;
    writeRollout(home, `sessions/2025/10/01/rollout-2025-10-01T12-00-00-${B}.jsonl`, [
      meta('../../../etc/passwd'),
      userMsg('odd id'),
    ]);
    const store = openStore(home);
    expect((await store.listThreads({})).items.map((t) => t.threadId)).toEqual([B]);
    expect((await store.readThread({ threadId: B })).preview).toBe('odd id');
  });
});
