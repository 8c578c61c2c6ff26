import * as http2 from 'node:http2';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { RemoteThreadStore } from '@skein/thread-store-remote';
import { childMaxRssMiB, record, selfMaxRssMiB, trials } from './figures.js';
import { tempDir } from './home.js';
import { spawnChild } from './proc.js';
import { envelope, SERVICE } from './wire.js';

const TOKEN = 'reliability-token-0123456789';
const BODY_TIMEOUT_MS = 2000;
/** Streams per connection: below the server's HTTP/2 stream limit. */
const PER_SESSION = 90;

/** A child's resident set now (VmRSS), in MiB. */
function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : 0;
}

interface Outcome {
  grpcStatus: string | undefined;
  /** The reset code, -1 when the client gave up on a stream the server had answered. */
  rstCode: number;
  sent: number;
}

/**
 * How long after its answer a refused upload may still look open here. The server resets it with
 * NO_ERROR and forgets it; a Node client that is still writing into an exhausted flow-control
 * window keeps its side open until those writes finish, which they never do.
 */
const CLIENT_GRACE_MS = 3000;

/**
 * Opens an AppendItems stream, sends `first`, then keeps sending 1 KiB every 20 ms (up to 4 MiB)
 * unless `silent`; resolves when the server ends the stream.
 */
function upload(
  session: http2.ClientHttp2Session,
  headers: http2.OutgoingHttpHeaders,
  first: Buffer,
  silent: boolean,
): Promise<Outcome> {
  const req = session.request({
    ':method': 'POST',
    ':path': `${SERVICE}AppendItems`,
    'content-type': 'application/grpc',
    te: 'trailers',
    ...headers,
  });
  const out: Outcome = { grpcStatus: undefined, rstCode: -1, sent: first.length };
  let grace: NodeJS.Timeout | undefined;
  req.on('response', (h) => {
    if (h['grpc-status'] !== undefined) out.grpcStatus = String(h['grpc-status']);
    if (out.grpcStatus !== undefined) grace = setTimeout(() => req.destroy(), CLIENT_GRACE_MS);
  });
  req.on('trailers', (t) => {
    if (t['grpc-status'] !== undefined) out.grpcStatus = String(t['grpc-status']);
  });
  req.on('data', () => {});
  req.on('error', () => {});
  req.write(first);
  const drip = silent
    ? undefined
    : setInterval(() => {
        if (req.destroyed || req.closed || out.sent > 4 << 20) return clearInterval(drip);
        req.write(Buffer.alloc(1024, 7));
        out.sent += 1024;
      }, 20);
  return new Promise((resolve) =>
    req.once('close', () => {
      if (drip) clearInterval(drip);
      clearTimeout(grace);
      out.rstCode = req.rstCode ?? -1;
      resolve(out);
    }),
  );
}

describe('auth before the body, bounded memory for hostile uploads', () => {
  it('unauthenticated uploads are refused from their headers; stalled bodies are cut at the timeout; RSS stays bounded', async () => {
    const refused = trials(600, 4800);
    const stalled = trials(200, 1200);
    const home = tempDir('skein-rel-auth-');
    const child = spawnChild('auth-server.mjs', [home, TOKEN, String(BODY_TIMEOUT_MS)]);
    const { url, pid } = (await child.until((m) => typeof m.url === 'string')) as { url: string; pid: number };
    const baseline = rssMiB(pid);
    const sessions: http2.ClientHttp2Session[] = [];
    const session = (i: number): http2.ClientHttp2Session => {
      const at = Math.floor(i / PER_SESSION);
      if (!sessions[at]) {
        const s = http2.connect(url);
        s.on('error', () => {});
        sessions[at] = s;
      }
      return sessions[at];
    };

    // Each declares a 60 MiB message; half of them gzip'd, with a gzip bomb as their first bytes.
    const bomb = gzipSync(Buffer.alloc(60 << 20));
    const bombEnvelope = envelope(bomb, 1);
    bombEnvelope.writeUInt32BE(bomb.length, 1);
    const declared = envelope(Buffer.alloc(16, 1));
    declared.writeUInt32BE(60 << 20, 1);
    const bad = await Promise.all(
      Array.from({ length: refused }, (_, i) =>
        upload(
          session(i),
          i % 2 === 0
            ? { authorization: `Bearer wrong-${i}-token-000000000` }
            : { authorization: `Bearer wrong-${i}-token-000000000`, 'grpc-encoding': 'gzip' },
          i % 2 === 0 ? declared : bombEnvelope,
          false,
        ),
      ),
    );
    const afterRefusals = rssMiB(pid);

    // Authenticated callers that send one byte and go silent: cancelled after the body timeout.
    const offset = Math.ceil(refused / PER_SESSION) * PER_SESSION;
    const slow = await Promise.all(
      Array.from({ length: stalled }, (_, i) =>
        upload(session(offset + i), { authorization: `Bearer ${TOKEN}` }, Buffer.from([0]), true),
      ),
    );
    const peak = await childMaxRssMiB(pid);
    for (const s of sessions) s.destroy();

    // The server still serves a real client.
    const client = new RemoteThreadStore({ baseUrl: url, token: TOKEN, timeoutMs: 10_000 });
    const listed = await client.listThreads({});
    await client.close();
    child.proc.kill('SIGKILL');
    await child.exited;

    const wrongRefusals = bad.filter((o) => o.grpcStatus !== '16');
    const wrongStalls = slow.filter((o) => o.grpcStatus !== undefined || o.rstCode !== http2.constants.NGHTTP2_CANCEL);
    const uploaded = Math.max(...bad.map((o) => o.sent));
    record({
      probe: 'auth before the body: unauthenticated 60 MiB uploads (half gzip bombs) and stalled authenticated bodies',
      trials: refused + stalled,
      acknowledged: 0,
      lost: 0,
      wrong: wrongRefusals.length + wrongStalls.length,
      maxRssMiB: Math.max(peak, selfMaxRssMiB()),
      notes: `server RSS ${baseline} MiB at start, ${afterRefusals} MiB after ${refused} refusals, peak ${peak} MiB with ${stalled} stalled bodies; the largest refused upload sent ${Math.round(uploaded / 1024)} KiB before it was stopped`,
    });
    expect(wrongRefusals.slice(0, 3)).toEqual([]);
    expect(wrongStalls.slice(0, 3)).toEqual([]);
    // Nothing of a refused body is read: no upload got far, and memory did not grow with them.
    expect(uploaded).toBeLessThan(1 << 20);
    expect(peak - baseline).toBeLessThan(128);
    expect(listed.items).toEqual([]);
  });
});
