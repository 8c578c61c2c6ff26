import { appendFileSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SCHEMA_VERSION } from '../src/internal/index-db.js';
import { collectHistory, newThreadId } from '@skein/thread-store-api';
import type { RolloutItem, ThreadId } from '@skein/thread-store-api';
import { openStore, tmpHome, userMsg } from './helpers/home.js';

const rawLines = (file: string): Record<string, unknown>[] =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

async function createCliThread(store: ReturnType<typeof openStore>): Promise<ThreadId> {
  const id = newThreadId();
  await store.createThread({ threadId: id, source: { kind: 'cli' }, metadata: { cwd: '/p', modelProvider: 'openai' } });
  return id;
}

describe('durable metadata patches', () => {
  it('names go to session_index.jsonl in Codex’s shape; other fields to a session_meta line Codex can parse', async () => {
    const home = tmpHome();
    const store = openStore(home);
    const id = newThreadId();
    await store.createThread({
      threadId: id,
      source: { kind: 'cli' },
      baseInstructions: { text: 'long instructions' },
      metadata: { cwd: '/p', modelProvider: 'openai' },
    });
    await store.appendItems({ threadId: id, items: [userMsg('hello') as RolloutItem] });
    await store.shutdownThread(id);
    const file = (await store.readThread({ threadId: id })).rolloutPath as string;
    const mtime = statSync(file).mtimeMs;

    const t = await store.updateThreadMetadata({
      threadId: id,
      patch: {
        name: 'Named',
        model: 'gpt-9',
        reasoningEffort: 'low',
        gitInfo: { branch: 'feature' },
        memoryMode: 'disabled',
        tokenUsage: { inputTokens: 1, cachedInputTokens: 0, outputTokens: 2, reasoningOutputTokens: 0, totalTokens: 3 },
      },
    });
    expect(t).toMatchObject({
      name: 'Named',
      model: 'gpt-9',
      reasoningEffort: 'low',
      gitInfo: { sha: null, branch: 'feature', originUrl: null },
      memoryMode: 'disabled',
    });
    expect(t.tokenUsage?.totalTokens).toBe(3);
    // updatedAt did not move: the file keeps its mtime.
    expect(Math.floor(statSync(file).mtimeMs)).toBe(Math.floor(mtime));

    const names = readFileSync(path.join(home, 'session_index.jsonl'), 'utf8').trim().split('\n');
    expect(names).toHaveLength(1);
    const entry = JSON.parse(names[0] as string) as Record<string, unknown>;
    expect(Object.keys(entry)).toEqual(['id', 'thread_name', 'updated_at']);
    expect(entry).toMatchObject({ id, thread_name: 'Named' });

    const lines = rawLines(file);
    const last = lines.at(-1) as { type: string; payload: Record<string, unknown> };
    expect(last.type).toBe('session_meta');
    expect(last.payload).toMatchObject({
      id,
      cwd: '/p',
      source: 'cli',
      model_provider: 'openai',
      git: { branch: 'feature' },
      memory_mode: 'disabled',
    });
    expect(last.payload.base_instructions).toBeUndefined();
    expect(last.payload.skein_metadata_patch).toMatchObject({ model: 'gpt-9', reasoningEffort: 'low' });

    // The patch line is bookkeeping, not history.
    const h = await collectHistory((await store.readThread({ threadId: id, includeHistory: true })).history);
    expect(h.map((i) => i.type)).toEqual(['session_meta', 'event_msg']);

    // Everything survives losing the index.
    await store.close();
    rmSync(path.join(home, `skein_index_${SCHEMA_VERSION}.sqlite`));
    const again = openStore(home);
    expect(await again.readThread({ threadId: id })).toEqual({ ...t });
  });

  it('a patch is whole in one rollout line; its session_index mirror is repaired when missing; a later rename wins', async () => {
    const home = tmpHome();
    const store = openStore(home);
    const id = await createCliThread(store);
    await store.appendItems({ threadId: id, items: [userMsg('hello') as RolloutItem] });
    await store.shutdownThread(id);
    await store.updateThreadMetadata({ threadId: id, patch: { name: 'first', model: 'm1' } });
    const file = (await store.readThread({ threadId: id })).rolloutPath as string;
    const last = rawLines(file).at(-1) as { timestamp: string; payload: Record<string, unknown> };
    // Name and model in the same line: one write() makes the whole patch durable.
    expect(last.payload.skein_metadata_patch).toEqual({ name: 'first', model: 'm1' });
    const indexFile = path.join(home, 'session_index.jsonl');
    const mirror = JSON.parse(readFileSync(indexFile, 'utf8').trim()) as { thread_name: string; updated_at: string };
    expect(mirror).toMatchObject({ thread_name: 'first', updated_at: last.timestamp });

    // A crash between the line and its mirror: the line alone is read whole, then repaired.
    await store.updateThreadMetadata({ threadId: id, patch: { name: 'second', model: 'm2' } });
    const lines = readFileSync(indexFile, 'utf8').trim().split('\n');
    writeFileSync(indexFile, lines.slice(0, -1).join('\n') + '\n');
    const reader = openStore(home);
    expect(await reader.readThread({ threadId: id })).toMatchObject({ name: 'second', model: 'm2' });
    await reader.resumeThread({ threadId: id });
    await reader.shutdownThread(id);
    expect(readFileSync(indexFile, 'utf8').trim().split('\n').at(-1)).toContain('"thread_name":"second"');

    // Codex renames by appending to session_index.jsonl only: a newer entry beats the patch line.
    appendFileSync(
      indexFile,
      JSON.stringify({ id, thread_name: 'renamed by codex', updated_at: new Date(Date.now() + 1000).toISOString() }) +
        '\n',
    );
    expect(await openStore(home).readThread({ threadId: id })).toMatchObject({ name: 'renamed by codex', model: 'm2' });
  });

  it('a patched updatedAt is the file’s mtime', async () => {
    const home = tmpHome();
    const store = openStore(home);
    const id = await createCliThread(store);
    await store.persistThread(id);
    const when = new Date('2024-02-03T04:05:06.789Z');
    const t = await store.updateThreadMetadata({ threadId: id, patch: { updatedAt: when } });
    expect(t.updatedAt.toISOString()).toBe(when.toISOString());
    expect(Math.floor(statSync(t.rolloutPath as string).mtimeMs)).toBe(when.getTime());
    // A live writer's later flush moves it forward again.
    await store.appendItems({ threadId: id, items: [userMsg('later') as RolloutItem] });
    await store.flushThread(id);
    expect((await store.readThread({ threadId: id })).updatedAt.getTime()).toBeGreaterThan(when.getTime());
  });

  it('clearing a name removes its session_index.jsonl lines, and beats a name patch in the rollout', async () => {
    const home = tmpHome();
    const store = openStore(home);
    const id = newThreadId();
    const other = newThreadId();
    for (const x of [id, other]) {
      await store.createThread({
        threadId: x,
        source: { kind: 'cli' },
        metadata: { cwd: '/p', modelProvider: 'openai' },
      });
      await store.persistThread(x);
      await store.updateThreadMetadata({ threadId: x, patch: { name: `name of ${x}` } });
    }
    // A name in the rollout itself (with another field), then cleared by a name-only patch.
    await store.updateThreadMetadata({ threadId: id, patch: { name: 'second name', model: 'm' } });
    const t = await store.updateThreadMetadata({ threadId: id, patch: { name: null } });
    expect(t.name).toBeNull();
    const left = readFileSync(path.join(home, 'session_index.jsonl'), 'utf8').trim().split('\n');
    expect(left.map((l) => (JSON.parse(l) as { id: string }).id)).toEqual([other]);
    const again = openStore(home);
    expect((await again.readThread({ threadId: id })).name).toBeNull();
    expect((await again.readThread({ threadId: other })).name).toBe(`name of ${other}`);
  });
});
