import * as http2 from 'node:http2';
import { describe, expect, it } from 'vitest';
import { collectHistory, isThreadStoreError, newThreadId } from '@skein/thread-store-api';
import { RemoteThreadStore } from '@skein/thread-store-remote';
import { childMaxRssMiB, record, seeded, selfMaxRssMiB, trials } from './figures.js';
import { tempDir } from './home.js';
import { spawnChild } from './proc.js';
import { SERVICE } from './wire.js';

const MIB = 1 << 20;
/** The server's default maxMessageBytes. */
const LIMIT = 64 * MIB;

/**
 * A raw gRPC AppendItems whose envelope declares `declared` bytes and whose body really carries
 * them (in 1 MiB writes, as fast as flow control allows); resolves with the status and how much
 * the server let through before it stopped the upload.
 */
function oversized(
  session: http2.ClientHttp2Session,
  declared: number,
): Promise<{ status?: string; sent: number; rstCode?: number; headers?: boolean }> {
  const req = session.request({
    ':method': 'POST',
    ':path': `${SERVICE}AppendItems`,
    'content-type': 'application/grpc',
    te: 'trailers',
  });
  const out: { status?: string; sent: number; rstCode?: number; headers?: boolean } = { sent: 0 };
  req.on('response', (h) => {
    out.headers = true;
    if (h['grpc-status'] !== undefined) out.status = String(h['grpc-status']);
  });
  req.on('trailers', (t) => {
    if (t['grpc-status'] !== undefined) out.status = String(t['grpc-status']);
  });
  req.on('data', () => {});
  req.on('error', () => {});
  const head = Buffer.alloc(5);
  head.writeUInt32BE(declared, 1);
  req.write(head);
  const chunk = Buffer.alloc(MIB, 0x41);
  const pump = (): void => {
    while (!req.destroyed && !req.closed && out.sent < declared) {
      out.sent += MIB;
      if (!req.write(chunk)) return void req.once('drain', pump);
    }
  };
  pump();
  // The server resets the stream with NO_ERROR once its answer is out; a client still writing into
  // a closed window keeps its own side open, so stop after the answer.
  let grace: NodeJS.Timeout | undefined;
  req.on('response', () => (grace = setTimeout(() => req.destroy(), 2000)));
  return new Promise((resolve) =>
    req.once('close', () => {
      clearTimeout(grace);
      out.rstCode = req.rstCode;
      resolve(out);
    }),
  );
}

describe('oversized appends', () => {
  it('are resource_exhausted without the server reading them; the client refuses them before sending and stays usable', async () => {
    const rounds = trials(4, 40);
    const rand = seeded(0x0b16);
    const home = tempDir('skein-rel-oversized-');
    const child = spawnChild('server.mjs', [home, '0']);
    const { url } = (await child.until((m) => typeof m.url === 'string')) as { url: string };
    const client = new RemoteThreadStore({ baseUrl: url, timeoutMs: 30_000 });
    const threadId = newThreadId();
    await client.createThread({ threadId, source: { kind: 'cli' }, metadata: { cwd: '/o', modelProvider: 'openai' } });
    const wrong: string[] = [];
    let acknowledged = 0;
    let largestSent = 0;
    const session = http2.connect(url);
    session.on('error', () => {});
    for (let round = 0; round < rounds; round++) {
      const size = LIMIT + Math.floor(rand() * 64 * MIB) + 1;
      // A raw client: the server answers from the envelope's declared length.
      const raw = await oversized(session, size);
      largestSent = Math.max(largestSent, raw.sent);
      if (raw.status !== '8')
        wrong.push(
          `raw append of ${size} bytes: status ${String(raw.status)}, headers ${String(raw.headers)}, reset ${String(raw.rstCode)}, sent ${raw.sent}`,
        );
      // RemoteThreadStore knows the limit: refused here, nothing sent, and the next calls work.
      const big = { type: 'event_msg', payload: { type: 'agent_message', message: 'b'.repeat(size) } } as const;
      const refused = await client.appendItems({ threadId, items: [big] }).then(
        () => 'ok',
        (e: unknown) => (isThreadStoreError(e) ? e.code : `not a store error: ${String(e)}`),
      );
      if (refused !== 'resource_exhausted') wrong.push(`RemoteThreadStore append of ${size} bytes: ${refused}`);
      await client.appendItems({
        threadId,
        items: [{ type: 'event_msg', payload: { type: 'user_message', message: `small ${round}` } }],
      });
      await client.flushThread(threadId);
      acknowledged += 1;
    }
    session.destroy();
    const peak = await childMaxRssMiB(child.proc.pid);
    const history = await collectHistory(client.loadHistory({ threadId }));
    await client.shutdownThread(threadId);
    await client.close();
    child.proc.kill('SIGKILL');
    await child.exited;
    // Each acknowledged small append is in the history (in whichever shape the format keeps it).
    const text = history.map((i) => JSON.stringify(i));
    const smalls = Array.from({ length: rounds }, (_, r) => r).filter((r) =>
      text.some((t) => t.includes(`small ${r}"`)),
    ).length;

    record({
      probe: 'oversized appends: raw gRPC uploads past maxMessageBytes, and RemoteThreadStore appends past it',
      trials: rounds,
      acknowledged,
      lost: acknowledged - smalls,
      wrong: wrong.length,
      maxRssMiB: Math.max(peak, selfMaxRssMiB()),
      notes: `server peak RSS ${peak} MiB; the raw client got at most ${Math.round(largestSent / MIB)} MiB out before the server stopped it`,
    });
    expect(wrong).toEqual([]);
    expect(smalls).toBe(acknowledged);
    // The server never held a request of the limit's size.
    expect(peak).toBeLessThan(LIMIT / MIB + 64);
  });
});
