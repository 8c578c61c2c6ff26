import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { newThreadId } from '@skein/thread-store-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from './helpers/wait.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const ITEMS = 3200;
const ITEM_BYTES = 64 * 1024;
const HISTORY_BYTES = ITEMS * ITEM_BYTES; // 200 MiB
// Far below the history size: a client or server holding the history would need 200 MiB or more.
const LIVE_BOUND = 64 * 1024 * 1024;
// Resident memory also keeps what the allocator has not returned: a looser bound, still below it.
const RSS_BOUND = 128 * 1024 * 1024;
// Old space capped well under the history size: a process holding the history would crash.
// The sampled peaks below include garbage not yet collected, hence bounds with headroom.
const NODE_ARGS = ['--max-old-space-size=96', '--import', 'tsx'];

interface Peak {
  rssGrowth: number;
  liveGrowth: number;
}

function run(
  script: string,
  args: string[],
): { child: ChildProcessWithoutNullStreams; out: () => string; err: () => string } {
  const child = spawn(process.execPath, [...NODE_ARGS, path.join(here, 'helpers', script), ...args]);
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return { child, out: () => out, err: () => err };
}

const threadId = newThreadId();
let server: ReturnType<typeof run>;
let url = '';

beforeAll(async () => {
  server = run('big-history-server.ts', [threadId, String(ITEMS), String(ITEM_BYTES)]);
  await waitFor(() => server.out().includes('\n') || server.child.exitCode !== null, 'the server to start');
  url = server.out().split('\n')[0]!;
  expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
}, 60_000);

afterAll(async () => {
  server.child.stdin.write('exit\n');
  await new Promise((r) => server.child.once('exit', r));
});

async function serverPeak(): Promise<Peak> {
  const before = server.out().length;
  server.child.stdin.write('report\n');
  await waitFor(() => server.out().slice(before).includes('\n'), 'the server report');
  return JSON.parse(server.out().slice(before).split('\n')[0]!) as Peak;
}

describe('a 200 MiB history streams with bounded memory on both sides', () => {
  it.each(['load', 'read'] as const)(
    '%s',
    async (mode) => {
      const client = run('big-history-client.ts', [url, threadId, mode]);
      const code = await new Promise<number | null>((r) => client.child.once('exit', r));
      expect(code, client.err()).toBe(0);
      const got = JSON.parse(client.out().trim()) as Peak & { items: number; bytes: number; inOrder: boolean };
      expect(got.items).toBe(ITEMS);
      expect(got.bytes).toBe(HISTORY_BYTES);
      expect(got.inOrder).toBe(true);
      expect(got.liveGrowth).toBeLessThan(LIVE_BOUND);
      expect(got.rssGrowth).toBeLessThan(RSS_BOUND);
      const peak = await serverPeak();
      const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
      console.log(
        `${mode}: client live +${mib(got.liveGrowth)} rss +${mib(got.rssGrowth)}; server live +${mib(peak.liveGrowth)} rss +${mib(peak.rssGrowth)}`,
      );
      expect(peak.liveGrowth).toBeLessThan(LIVE_BOUND);
      expect(peak.rssGrowth).toBeLessThan(RSS_BOUND);
    },
    120_000,
  );
});
