import { appendFileSync, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { collectHistory, newThreadId } from '@skein/thread-store-api';
import type { RolloutItem, ThreadId } from '@skein/thread-store-api';
import type { LocalThreadStore } from '../src/index.js';
import { agentMsg, openStore, tmpHome, userMsg } from './helpers/home.js';

const create = (store: LocalThreadStore, threadId: ThreadId, createdAt?: Date): Promise<void> =>
  store.createThread({
    threadId,
    source: { kind: 'cli' },
    originator: 'skein_test',
    cliVersion: '9.9.9',
    gitInfo: { sha: 'abc', branch: 'main', originUrl: null },
    metadata: { cwd: '/work/proj', modelProvider: 'openai' },
    ...(createdAt ? { createdAt } : {}),
  });

function rollouts(home: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    if (!existsSync(d)) return;
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.startsWith('rollout-')) out.push(path.relative(home, p));
    }
  };
  walk(path.join(home, 'sessions'));
  walk(path.join(home, 'archived_sessions'));
  return out;
}

const lines = (file: string): Record<string, unknown>[] =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('live writers', () => {
  it('creates the file lazily, in Codex’s shape, named in local time with UTC timestamps inside', async () => {
    const home = tmpHome();
    const store = openStore(home);
    const id = newThreadId();
    const oldTz = process.env.TZ;
    process.env.TZ = 'Asia/Tokyo';
    try {
      await create(store, id, new Date('2026-11-24T22:51:20.123Z'));
      expect(rollouts(home)).toEqual([]);
      await store.appendItems({ threadId: id, items: [userMsg('hi') as RolloutItem] });
      expect(rollouts(home)).toEqual([]); // buffered until a flush
      await store.flushThread(id);
    } finally {
      if (oldTz === undefined) delete process.env.TZ;
      else process.env.TZ = oldTz;
    }
    expect(rollouts(home)).toEqual([`sessions/2026/11/25/rollout-2026-11-25T07-51-20-${id}.jsonl`]);
    const [first, second] = lines(path.join(home, rollouts(home)[0] as string));
    expect(first).toMatchObject({
      timestamp: '2026-11-24T22:51:20.123Z',
      type: 'session_meta',
      payload: {
        id,
        session_id: id,
        timestamp: '2026-11-24T22:51:20.123Z',
        cwd: '/work/proj',
        originator: 'skein_test',
        cli_version: '9.9.9',
        source: 'cli',
        model_provider: 'openai',
        git: { commit_hash: 'abc', branch: 'main' },
      },
    });
    expect(Object.keys(first ?? {})[0]).toBe('timestamp');
    expect(second?.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it('persist materializes an empty thread; shutting down an unmaterialized one leaves no rollout', async () => {
    const home = tmpHome();
    const store = openStore(home);
    const a = newThreadId();
    const b = newThreadId();
    await create(store, a);
    await create(store, b);
    await store.persistThread(a);
    await store.shutdownThread(b);
    expect(rollouts(home)).toHaveLength(1);
    expect(rollouts(home)[0]).toContain(a);
    await expect(store.readThread({ threadId: b })).rejects.toMatchObject({ code: 'not_found' });
    // b can be created again: nothing of it exists.
    await create(store, b);
  });

  it('discard keeps the durable prefix, stale handles fail, and resume appends after it', async () => {
    const home = tmpHome();
    const store = openStore(home);
    const id = newThreadId();
    await create(store, id);
    await store.appendItems({ threadId: id, items: [userMsg('durable') as RolloutItem] });
    await store.flushThread(id);
    await store.appendItems({ threadId: id, items: [agentMsg('dropped') as RolloutItem] });
    await store.discardThread(id);
    await store.discardThread(id); // idempotent
    for (const op of [
      () => store.appendItems({ threadId: id, items: [] }),
      () => store.flushThread(id),
      () => store.persistThread(id),
      () => store.shutdownThread(id),
    ])
      await expect(op()).rejects.toMatchObject({ code: 'not_found' });
    await store.resumeThread({ threadId: id });
    await store.appendItems({ threadId: id, items: [agentMsg('after resume') as RolloutItem] });
    await store.shutdownThread(id);
    const h = await collectHistory((await store.readThread({ threadId: id, includeHistory: true })).history);
    expect(h.map((i) => (i.payload as { message?: string }).message ?? i.type)).toEqual([
      'session_meta',
      'durable',
      'after resume',
    ]);
  });

  it('a torn last line is ignored on read and cut off before the next append', async () => {
    const home = tmpHome();
    const store = openStore(home);
    const id = newThreadId();
    await create(store, id);
    await store.appendItems({ threadId: id, items: [userMsg('before the crash') as RolloutItem] });
    await store.shutdownThread(id);
    const file = path.join(home, rollouts(home)[0] as string);
    appendFileSync(file, '{"timestamp":"2026-01-01T00:00:00.000Z","type":"event_msg","payload":{"type":"agent_mes');
    const read = async (): Promise<string[]> =>
      (await collectHistory((await store.readThread({ threadId: id, includeHistory: true })).history)).map(
        (i) => (i.payload as { message?: string }).message ?? i.type,
      );
    expect(await read()).toEqual(['session_meta', 'before the crash']);
    await store.resumeThread({ threadId: id });
    await store.appendItems({ threadId: id, items: [agentMsg('after the crash') as RolloutItem] });
    await store.flushThread(id);
    expect(await read()).toEqual(['session_meta', 'before the crash', 'after the crash']);
    const raw = readFileSync(file, 'utf8');
    expect(raw.endsWith('\n')).toBe(true);
    expect(raw).not.toContain('agent_mes"');
    for (const l of raw.split('\n').filter((x) => x !== '')) expect(() => JSON.parse(l) as unknown).not.toThrow();
  });

  it('a complete last line without its newline is kept, and the next append starts on a new line', async () => {
    const home = tmpHome();
    const store = openStore(home);
    const id = newThreadId();
    await create(store, id);
    await store.persistThread(id);
    await store.shutdownThread(id);
    const file = path.join(home, rollouts(home)[0] as string);
    appendFileSync(file, JSON.stringify(userMsg('no newline after me')));
    await store.resumeThread({ threadId: id });
    await store.appendItems({ threadId: id, items: [agentMsg('next') as RolloutItem] });
    await store.shutdownThread(id);
    expect(lines(file).map((l) => (l.payload as { message?: string }).message ?? l.type)).toEqual([
      'session_meta',
      'no newline after me',
      'next',
    ]);
  });

  it('flush with the never-fsync policy still makes items readable', async () => {
    const home = tmpHome();
    const store = openStore(home, { fsync: 'never' });
    const id = newThreadId();
    await create(store, id);
    await store.appendItems({ threadId: id, items: [userMsg('fast path') as RolloutItem] });
    await store.flushThread(id);
    expect((await store.readThread({ threadId: id })).preview).toBe('fast path');
  });

  it('the persistence policy drops streaming events and fills missing timestamps', async () => {
    const home = tmpHome();
    const store = openStore(home);
    const id = newThreadId();
    await create(store, id);
    const before = Date.now();
    await store.appendItems({
      threadId: id,
      items: [
        { type: 'event_msg', payload: { type: 'agent_message_delta', delta: 'x' } },
        { type: 'event_msg', payload: { type: 'exec_command_begin' } },
        { type: 'event_msg', payload: { type: 'user_message', message: 'kept' } },
      ],
    });
    await store.shutdownThread(id);
    const h = await collectHistory((await store.readThread({ threadId: id, includeHistory: true })).history);
    expect(h).toHaveLength(2);
    expect(Date.parse(h[1]?.timestamp ?? '')).toBeGreaterThanOrEqual(before - 1);
  });

  it('updatedAt is the file mtime and moves with flushed appends', async () => {
    const home = tmpHome();
    const store = openStore(home);
    const id = newThreadId();
    await create(store, id);
    await store.appendItems({ threadId: id, items: [userMsg('time') as RolloutItem] });
    await store.flushThread(id);
    const t = await store.readThread({ threadId: id });
    const file = t.rolloutPath as string;
    expect(t.updatedAt.getTime()).toBe(Math.floor(statSync(file).mtimeMs));
  });
});

describe('appends during a flush', () => {
  it('lines appended while a flush is writing are kept for the next flush', async () => {
    const home = tmpHome();
    const store = openStore(home);
    const id = newThreadId();
    await create(store, id);
    await store.appendItems({ threadId: id, items: [userMsg('start') as RolloutItem] });
    await store.flushThread(id);
    for (let round = 0; round < 5; round++) {
      await store.appendItems({
        threadId: id,
        items: [agentMsg(`big ${round} ${'z'.repeat(3_000_000)}`) as RolloutItem],
      });
      const inFlight = store.flushThread(id);
      await new Promise((resolve) => setImmediate(resolve));
      await store.appendItems({ threadId: id, items: [agentMsg(`small ${round}`) as RolloutItem] });
      await inFlight;
      await store.flushThread(id);
    }
    const h = await collectHistory((await store.readThread({ threadId: id, includeHistory: true })).history);
    expect(h.map((i) => String((i.payload as { message?: string }).message ?? i.type).slice(0, 7))).toEqual([
      'session',
      'start',
      ...[0, 1, 2, 3, 4].flatMap((r) => [`big ${r} z`, `small ${r}`]),
    ]);
  });
});
