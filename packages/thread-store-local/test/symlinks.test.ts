import { existsSync, mkdirSync, readFileSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { newThreadId, type RolloutItem } from '@skein/thread-store-api';
import { SCHEMA_VERSION } from '../src/internal/index-db.js';
import { LocalThreadStore } from '../src/index.js';
import { openStore, tmpHome, userMsg } from './helpers/home.js';

const refused = { code: 'invalid_request', message: expect.stringContaining('symlink') as unknown };

async function thread(home: string): Promise<{ store: LocalThreadStore; id: ReturnType<typeof newThreadId> }> {
  const store = openStore(home);
  const id = newThreadId();
  await store.createThread({ threadId: id, source: { kind: 'cli' }, metadata: { cwd: '/p', modelProvider: 'openai' } });
  await store.appendItems({ threadId: id, items: [userMsg('hello') as RolloutItem] });
  await store.shutdownThread(id);
  return { store, id };
}

describe('files Skein writes are never written through a symlink', () => {
  it('a symlinked session_index.jsonl is refused with a clear error, and its target is untouched', async () => {
    const home = tmpHome();
    const { store, id } = await thread(home);
    const outside = path.join(path.dirname(home), `${path.basename(home)}-outside-index.jsonl`);
    writeFileSync(outside, '');
    symlinkSync(outside, path.join(home, 'session_index.jsonl'));
    await expect(store.updateThreadMetadata({ threadId: id, patch: { name: 'through a link' } })).rejects.toMatchObject(
      refused,
    );
    expect(readFileSync(outside, 'utf8')).toBe('');
  });

  it('a symlinked rollout is read but never appended to or patched', async () => {
    const home = tmpHome();
    const { store, id } = await thread(home);
    const file = (await store.readThread({ threadId: id })).rolloutPath!;
    // Move the real file elsewhere inside the home and leave a link in its place.
    const realDir = path.join(home, 'elsewhere');
    mkdirSync(realDir);
    const real = path.join(realDir, path.basename(file));
    renameSync(file, real);
    symlinkSync(real, file);
    const before = readFileSync(real, 'utf8');
    const reader = openStore(home);
    expect((await reader.readThread({ threadId: id })).preview).toBe('hello');
    await expect(reader.resumeThread({ threadId: id })).rejects.toMatchObject(refused);
    await expect(reader.updateThreadMetadata({ threadId: id, patch: { model: 'm' } })).rejects.toMatchObject(refused);
    expect(readFileSync(real, 'utf8')).toBe(before);
    // The failed resume left no lock behind.
    expect(existsSync(path.join(home, 'thread-writer-locks', `${id}.lock`))).toBe(false);
  });

  it('a symlinked index database is refused', async () => {
    const home = tmpHome();
    const outside = path.join(path.dirname(home), `${path.basename(home)}-outside.sqlite`);
    symlinkSync(outside, path.join(home, `skein_index_${SCHEMA_VERSION}.sqlite`));
    const store = openStore(home);
    await expect(store.listThreads({})).rejects.toMatchObject(refused);
    expect(existsSync(outside)).toBe(false);
  });
});
