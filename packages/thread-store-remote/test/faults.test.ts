import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { collectHistory, isThreadStoreError, newThreadId } from '@skein/thread-store-api';
import { LocalThreadStore } from '@skein/thread-store-local';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunningThreadStoreServer, ServerLogEntry } from '../src/index.js';
import { RemoteThreadStore, startThreadStoreServer } from '../src/index.js';
import { createParams, userMessage } from './helpers/fixtures.js';
import { waitFor } from './helpers/wait.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function tempHome(): string {
  const home = mkdtempSync(path.join(tmpdir(), 'skein-remote-faults-'));
  cleanups.push(() => rmSync(home, { recursive: true, force: true }));
  return home;
}

async function startOver(home: string, port = 0, extra: { leaseMs?: number; logs?: ServerLogEntry[] } = {}) {
  const store = new LocalThreadStore({ home, defaultModelProvider: 'openai', historyMode: 'legacy' });
  const server = await startThreadStoreServer({
    store,
    ownsStore: true,
    port,
    ...(extra.leaseMs === undefined ? {} : { leaseMs: extra.leaseMs }),
    logger: extra.logs ? (e) => extra.logs!.push(e) : false,
  });
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await server.close();
  };
  cleanups.push(close);
  return { server, close };
}

const messages = (items: { payload: unknown }[]) =>
  items.map((i) => (i.payload as { message?: unknown }).message).filter((m): m is string => typeof m === 'string');

describe('faults', () => {
  it('survives a server restart: unavailable while down, reads work after, nothing flushed is lost', async () => {
    const home = tempHome();
    let running: { server: RunningThreadStoreServer; close: () => Promise<void> } = await startOver(home);
    const port = running.server.port;
    const client = new RemoteThreadStore({
      baseUrl: running.server.url,
      retry: { maxAttempts: 2, initialDelayMs: 10 },
    });
    cleanups.push(() => client.close());
    const id = newThreadId();
    await client.createThread(createParams(id));
    await client.appendItems({ threadId: id, items: [userMessage('before restart')] });
    await client.flushThread(id);

    await running.close();
    const down = await client.listThreads({}).catch((e: unknown) => e);
    expect(isThreadStoreError(down, 'unavailable')).toBe(true);
    expect((down as Error).message).toMatch(
      new RegExp(`remote thread store at http://127\\.0\\.0\\.1:${port} is unavailable`),
    );
    const writeDown = await client
      .appendItems({ threadId: id, items: [userMessage('lost?')] })
      .catch((e: unknown) => e);
    expect(isThreadStoreError(writeDown, 'unavailable')).toBe(true);

    running = await startOver(home, port);
    const read = await client.readThread({ threadId: id, includeHistory: true });
    expect(messages(await collectHistory(read.history))).toEqual(['before restart']);
    expect((await client.listThreads({})).items.map((t) => t.threadId)).toEqual([id]);
    // The writer ended with the old server; the same client resumes and carries on.
    const stale = await client.appendItems({ threadId: id, items: [userMessage('stale')] }).catch((e: unknown) => e);
    expect(isThreadStoreError(stale, 'not_found')).toBe(true);
    await client.resumeThread({ threadId: id });
    await client.appendItems({ threadId: id, items: [userMessage('after restart')] });
    await client.flushThread(id);
    expect(messages(await collectHistory(client.loadHistory({ threadId: id })))).toEqual([
      'before restart',
      'after restart',
    ]);
  });

  it('retries a read until the server is back', async () => {
    const home = tempHome();
    const first = await startOver(home);
    const port = first.server.port;
    const client = new RemoteThreadStore({
      baseUrl: first.server.url,
      retry: { maxAttempts: 12, initialDelayMs: 50, maxDelayMs: 1000 },
    });
    cleanups.push(() => client.close());
    await client.listThreads({});
    await first.close();
    const pending = client.listThreads({});
    await new Promise((r) => setTimeout(r, 100));
    await startOver(home, port);
    await expect(pending).resolves.toMatchObject({ items: [] });
  });

  it('a client killed mid-append: its lease expires and another client resumes with the flushed items', async () => {
    const home = tempHome();
    const logs: ServerLogEntry[] = [];
    const { server } = await startOver(home, 0, { leaseMs: 2000, logs });
    const id = newThreadId();
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(here, 'helpers/append-child.ts'), server.url, id],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<NodeJS.Signals | null>((r) => child.once('exit', (_code, signal) => r(signal)));
    cleanups.push(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    await waitFor(
      () => (out.match(/flushed/g) ?? []).length >= 5 || child.exitCode !== null,
      `the child to flush (stderr: ${err})`,
    );
    expect(child.exitCode).toBeNull();
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    const flushedBatches = (out.match(/flushed (\d+)/g) ?? []).length;

    const other = new RemoteThreadStore({ baseUrl: server.url });
    cleanups.push(() => other.close());
    await waitFor(() => logs.some((l) => l.event === 'lease_expired' && l.threadId === id), 'the lease to expire');
    await other.resumeThread({ threadId: id });
    const got = messages(await collectHistory(other.loadHistory({ threadId: id })));
    const expected: string[] = [];
    for (let b = 0; b < flushedBatches; b++) {
      for (let i = 0; i < 10; i++) expected.push(`batch ${b} item ${i}`);
      expected.push(`tail ${b}`);
    }
    // Every flushed batch is there, in order; what follows is what the dead client had appended.
    expect(got.slice(0, expected.length - 1)).toEqual(expected.slice(0, -1));
    await other.appendItems({ threadId: id, items: [userMessage('resumed elsewhere')] });
    await other.shutdownThread(id);
    expect(messages(await collectHistory(other.loadHistory({ threadId: id }))).at(-1)).toBe('resumed elsewhere');
    // A tsx child process and a 2 s lease: more than the default 5 s on a loaded machine.
  }, 30_000);
});
