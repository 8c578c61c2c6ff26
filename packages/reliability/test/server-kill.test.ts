import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isThreadStoreError, newThreadId } from '@skein/thread-store-api';
import type { RolloutItem } from '@skein/thread-store-api';
import { RemoteThreadStore } from '@skein/thread-store-remote';
import { seqsOf } from './history.js';
import { childMaxRssMiB, record, seeded, selfMaxRssMiB, trials } from './figures.js';
import { sleep, spawnChild } from './proc.js';
import type { Child } from './proc.js';

const home = mkdtempSync(path.join(tmpdir(), 'skein-rel-server-'));
afterAll(() => rmSync(home, { recursive: true, force: true }));

async function startServer(port: number): Promise<{ child: Child; url: string; port: number }> {
  const child = spawnChild('server.mjs', [home, String(port)]);
  const m = await child.until((x) => typeof x.url === 'string');
  return { child, url: m.url as string, port: m.port as number };
}

const batch = (seq: number, n: number): RolloutItem[] =>
  Array.from({ length: n }, (_, i) => ({
    type: 'event_msg',
    payload: { type: 'agent_message', message: `seq-${seq + i} ${'z'.repeat(100 * ((seq + i) % 5))}` },
  }));

describe('server kills under a writing client', () => {
  it('SIGKILL of the server never loses a flush the client saw acknowledged', async () => {
    const rounds = trials(6, 40);
    const rand = seeded(777);
    const threadId = newThreadId();
    let port = 0;
    let next = 0;
    let acknowledged = 0;
    let lost = 0;
    let wrong = 0;
    let maxRss = 0;
    for (let round = 0; round < rounds; round++) {
      const server = await startServer(port);
      port = server.port;
      const client = new RemoteThreadStore({ baseUrl: server.url, timeoutMs: 10_000 });
      if (round === 0) {
        await client.createThread({
          threadId,
          source: { kind: 'cli' },
          metadata: { cwd: '/r', modelProvider: 'openai' },
        });
        await client.appendItems({
          threadId,
          items: [{ type: 'event_msg', payload: { type: 'user_message', message: 'go' } }],
        });
        await client.persistThread(threadId);
      } else {
        await client.resumeThread({ threadId });
      }
      let lastAcked = next - 1;
      let stopped = false;
      const writing = (async () => {
        for (let seq = next; !stopped;) {
          const n = 1 + (seq % 3);
          await client.appendItems({ threadId, items: batch(seq, n) });
          await client.flushThread(threadId);
          seq += n;
          lastAcked = seq - 1;
        }
      })().catch((e: unknown) => {
        // The server died under the call: a ThreadStoreError (unavailable), never anything else.
        if (!isThreadStoreError(e)) wrong += 1;
      });
      await sleep(50 + Math.floor(rand() * 250));
      maxRss = Math.max(maxRss, await childMaxRssMiB(server.child.proc.pid));
      server.child.proc.kill('SIGKILL');
      await server.child.exited;
      stopped = true;
      await writing;
      await client.close().catch(() => undefined);

      // A new server on the same home: everything acknowledged is there, in order, once.
      const check = await startServer(port);
      const reader = new RemoteThreadStore({ baseUrl: check.url });
      const seqs = await seqsOf(reader, threadId);
      await reader.close();
      check.child.proc.kill('SIGTERM');
      await check.child.exited;
      expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i));
      acknowledged += Math.max(0, lastAcked - next + 1);
      lost += Math.max(0, lastAcked + 1 - seqs.length);
      next = seqs.length;
    }
    record({
      probe: 'server kills under a writing remote client (SIGKILL of thread-store-remote)',
      trials: rounds,
      acknowledged,
      lost,
      wrong,
      maxRssMiB: Math.max(maxRss, selfMaxRssMiB()),
    });
    expect(lost).toBe(0);
    expect(wrong).toBe(0);
    expect(acknowledged).toBeGreaterThan(rounds);
  });
});
