import * as http2 from 'node:http2';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { collectHistory, newThreadId } from '@skein/thread-store-api';
import { RemoteThreadStore } from '@skein/thread-store-remote';
import { childMaxRssMiB, LONG, record, seeded, selfMaxRssMiB, trials } from './figures.js';
import { spawnChild } from './proc.js';
import { envelope, firstMessage, recordingProxy, rpcsOfProto, send, wrongAnswer } from './wire.js';

const home = mkdtempSync(path.join(tmpdir(), 'skein-rel-fuzz-'));
afterAll(() => rmSync(home, { recursive: true, force: true }));

/** Every protocol and codec the server accepts, and how each frames a request body. */
const PROTOCOLS = [
  { name: 'gRPC', type: 'application/grpc', framed: true, json: false },
  { name: 'gRPC+json', type: 'application/grpc+json', framed: true, json: true },
  { name: 'gRPC-Web', type: 'application/grpc-web+proto', framed: true, json: false },
  { name: 'gRPC-Web+json', type: 'application/grpc-web+json', framed: true, json: true },
  { name: 'Connect', type: 'application/proto', framed: false, json: false },
  { name: 'Connect+json', type: 'application/json', framed: false, json: true },
  { name: 'Connect stream', type: 'application/connect+proto', framed: true, json: false },
  { name: 'Connect stream+json', type: 'application/connect+json', framed: true, json: true },
] as const;

/** Field names of the service's messages (JSON names), so random JSON reaches past the parser. */
const FIELDS = [
  'threadId',
  'pageSize',
  'cursor',
  'sortKey',
  'sortDirection',
  'filters',
  'searchTerm',
  'itemsJson',
  'patch',
  'includeArchived',
  'includeHistory',
  'skipItems',
  'source',
  'metadata',
  'name',
  'modelProvider',
  'cwd',
  'op',
  'set',
  'clear',
  'kind',
  'allowedSources',
  'modelProviders',
  'cwdFilters',
  'start',
  'atMs',
  'exclusive',
  'turnId',
  'historyMode',
  'memoryMode',
  'dynamicToolsJson',
  'forkedFromId',
  'createdAt',
  'seconds',
  'nanos',
  'rolloutId',
  'segment',
  'sessionMetaJson',
];

type Rand = () => number;
const pick = <T>(rand: Rand, list: readonly T[]): T => list[Math.floor(rand() * list.length)]!;
const int = (rand: Rand, n: number): number => Math.floor(rand() * n);

function randomBytes(rand: Rand, n: number): Buffer {
  return Buffer.from(Array.from({ length: n }, () => int(rand, 256)));
}

/** A varint of protobuf's wire format. */
function varint(n: bigint): Buffer {
  const out: number[] = [];
  let v = BigInt.asUintN(64, n);
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) b |= 0x80;
    out.push(b);
  } while (v > 0n);
  return Buffer.from(out);
}

/** Well-formed protobuf with random fields: wire types, nesting, extreme varints, odd lengths. */
function randomProto(rand: Rand, depth = 0): Buffer {
  const parts: Buffer[] = [];
  const fields = int(rand, 6);
  for (let i = 0; i < fields; i++) {
    const field = BigInt(1 + int(rand, rand() < 0.9 ? 20 : 536_870_000));
    const wire = int(rand, 6);
    parts.push(varint((field << 3n) | BigInt(wire)));
    if (wire === 0)
      parts.push(varint(pick(rand, [0n, 1n, -1n, 2n ** 63n, 2n ** 32n, BigInt(int(rand, 1e9)), 42n, 3n, 99n])));
    else if (wire === 1) parts.push(randomBytes(rand, 8));
    else if (wire === 5) parts.push(randomBytes(rand, 4));
    else if (wire === 2) {
      const body =
        depth < 3 && rand() < 0.4
          ? randomProto(rand, depth + 1)
          : rand() < 0.5
            ? Buffer.from(pick(rand, ['', '{}', '[]', '"x"', 'null', newThreadId(), '../../etc', 'x'.repeat(300)]))
            : randomBytes(rand, int(rand, 40));
      parts.push(varint(BigInt(body.length)), body);
    } else parts.push(randomBytes(rand, int(rand, 4))); // groups (3, 4): deprecated, rarely well-formed
  }
  return Buffer.concat(parts);
}

/** A random JSON value using the service's field names. */
function randomJson(rand: Rand, depth = 0): unknown {
  const r = rand();
  if (depth < 3 && r < 0.45) {
    const o: Record<string, unknown> = {};
    for (let i = int(rand, 5); i > 0; i--)
      o[rand() < 0.85 ? pick(rand, FIELDS) : `x${int(rand, 99)}`] = randomJson(rand, depth + 1);
    return o;
  }
  if (depth < 3 && r < 0.55) return Array.from({ length: int(rand, 4) }, () => randomJson(rand, depth + 1));
  return pick(rand, [
    null,
    true,
    false,
    0,
    -1,
    1e308,
    -1e-308,
    2 ** 53 + 1,
    1.5,
    '',
    'x',
    newThreadId(),
    'not-a-uuid',
    '1970-01-01T00:00:00Z',
    '275760-09-13T00:00:00Z',
    'AAAA',
    '\u0000',
    '9'.repeat(40),
    'THREAD_SORT_KEY_UPDATED_AT',
    'SORT_DIRECTION_ASC',
    '../../..',
  ]);
}

/** One to four mutations of a valid message: flips, cuts, insertions, splices, repeats. */
function mutate(rand: Rand, seed: Buffer, other: Buffer): Buffer {
  let b = Buffer.from(seed);
  for (let n = 1 + int(rand, 4); n > 0; n--) {
    const at = b.length === 0 ? 0 : int(rand, b.length);
    switch (int(rand, 7)) {
      case 0:
        if (b.length > 0) b[at] = b[at]! ^ (1 << int(rand, 8));
        break;
      case 1:
        b = b.subarray(0, at);
        break;
      case 2:
        b = Buffer.concat([b.subarray(0, at), randomBytes(rand, 1 + int(rand, 8)), b.subarray(at)]);
        break;
      case 3:
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1 + int(rand, 8))]);
        break;
      case 4:
        b = Buffer.concat([b.subarray(0, at), other.subarray(int(rand, other.length + 1)), b.subarray(at)]);
        break;
      case 5:
        b = Buffer.concat([b, b]);
        break;
      default:
        if (b.length > 0) b[at] = pick(rand, [0x00, 0x7f, 0x80, 0xff, 0x0a, 0x12, 0x08]);
    }
  }
  return b;
}

/** Envelope-level damage: lengths that lie, compression flags nobody announced, extra messages. */
function frame(rand: Rand, payload: Buffer): Buffer {
  const r = rand();
  if (r < 0.8) return envelope(payload);
  if (r < 0.84) return envelope(payload, pick(rand, [1, 2, 0x80, 0xff]));
  if (r < 0.88) return Buffer.concat([envelope(payload), envelope(payload)]);
  if (r < 0.92) return envelope(payload).subarray(0, int(rand, payload.length + 5));
  if (r < 0.96) {
    const e = envelope(payload);
    e.writeUInt32BE(pick(rand, [payload.length + 1, 0xffffffff, 0, 64 * 1024 * 1024]), 1);
    return e;
  }
  return Buffer.concat([envelope(payload), randomBytes(rand, 1 + int(rand, 4))]);
}

describe('wire fuzzer', () => {
  it('random and mutated bodies for every RPC in every protocol: no crash, never internal or 5xx', async () => {
    const requests = trials(2000, 40_000);
    const rand = seeded(LONG ? 0x5eed2 : 0x5eed1);
    const child = spawnChild('server.mjs', [home, '0']);
    const { url } = (await child.until((m) => typeof m.url === 'string')) as { url: string };

    // Valid bodies of every RPC, as a real client sends them, through a recording proxy.
    const proxy = await recordingProxy(url);
    const client = new RemoteThreadStore({ baseUrl: proxy.url, clientId: 'fuzz-seed', timeoutMs: 10_000 });
    const threadId = newThreadId();
    await client.serverInfo();
    await client.createThread({ threadId, source: { kind: 'cli' }, metadata: { cwd: '/f', modelProvider: 'openai' } });
    await client.appendItems({
      threadId,
      items: [{ type: 'event_msg', payload: { type: 'user_message', message: 'fuzz me' } }],
    });
    await client.persistThread(threadId);
    await client.flushThread(threadId);
    await client.listThreads({ pageSize: 5, cwdFilters: ['/f'], modelProviders: ['openai'] });
    await client.listThreads({ pageSize: 5, start: { at: new Date(), inclusive: false, threadId } });
    await client.countThreads({ cwdFilters: ['/f'], modelProviders: ['openai'] });
    await client.searchThreads({ searchTerm: 'fuzz', pageSize: 5 });
    await client.updateThreadMetadata({
      threadId,
      patch: { name: 'fuzzed', model: null, memoryMode: 'enabled', advanceRecencyAt: new Date() },
    });
    await client.listTurns({ threadId, pageSize: 2 });
    await client.listItems({ threadId, pageSize: 2 });
    await collectHistory(client.loadHistory({ threadId }));
    // Segments: answered or `unsupported` as the server's store keeps them or not; the bodies are
    // what the fuzzer needs.
    await client.listSegments({ threadId }).catch(() => undefined);
    await collectHistory(client.loadHistory({ threadId, rolloutId: threadId })).catch(() => undefined);
    await client.readThread({ threadId, includeHistory: true });
    await client.shutdownThread(threadId);
    await client.resumeThread({ threadId });
    await client.discardThread(threadId).catch(() => undefined);
    // A resume that starts a new segment (cut after the first line); with no item appended its
    // writer leaves nothing behind.
    const segment = {
      rolloutId: newThreadId(),
      sessionMeta: {
        type: 'session_meta' as const,
        payload: {
          id: threadId,
          timestamp: new Date().toISOString(),
          cwd: '/f',
          originator: 'fuzz',
          cli_version: '0.0.0',
          source: 'cli',
          model_provider: 'openai',
          history_mode: 'paginated',
          history_base: { thread_id: threadId, end_ordinal_exclusive: 1, end_byte_offset: 1 },
        },
      },
    } as unknown as NonNullable<Parameters<RemoteThreadStore['resumeThread']>[0]['segment']>;
    if (
      await client.resumeThread({ threadId, segment }).then(
        () => true,
        () => false,
      )
    )
      await client.discardThread(threadId).catch(() => undefined);
    await client.archiveThread({ threadId });
    await client.unarchiveThread({ threadId });
    const doomed = newThreadId();
    await client.createThread({
      threadId: doomed,
      source: { kind: 'cli' },
      metadata: { cwd: '/f', modelProvider: 'o' },
    });
    await client.appendItems({
      threadId: doomed,
      items: [{ type: 'event_msg', payload: { type: 'user_message', message: 'x' } }],
    });
    await client.shutdownThread(doomed);
    await client.deleteThread({ threadId: doomed });
    await client.close();
    await proxy.close();

    const rpcs = rpcsOfProto();
    const seeds = new Map(
      rpcs.map((r) => [r.name, (proxy.bodies.get(r.name) ?? []).map(firstMessage).filter((b) => b.length > 0)]),
    );
    // The web page's calls, which RemoteThreadStore does not make, encoded by hand: field 1 the
    // thread id, field 2 a bool / uint32. The watch names the deleted thread (a valid watch of a
    // live thread streams until cancelled); the fork names the written thread.
    const idField = (id: string): Buffer => Buffer.concat([Buffer.from([0x0a, id.length]), Buffer.from(id)]);
    seeds.set('WatchThread', [Buffer.concat([idField(doomed), Buffer.from([0x10, 0x01])])]);
    seeds.set('ForkThread', [Buffer.concat([idField(threadId), Buffer.from([0x10, 0x01])])]);
    // An append that carries its flush (field 3), which the client sends only to a writer that
    // flushes after every append.
    const item = Buffer.from(JSON.stringify({ type: 'event_msg', payload: { type: 'agent_message', message: 'f' } }));
    seeds
      .get('AppendItems')!
      .push(Buffer.concat([idField(threadId), Buffer.from([0x12, item.length]), item, Buffer.from([0x18, 0x01])]));
    // Every RPC with a request body has a seed (GetServerInfo's and Heartbeat's requests are empty).
    expect(rpcs.filter((r) => seeds.get(r.name)!.length === 0).map((r) => r.name)).toEqual([
      'Heartbeat',
      'GetServerInfo',
    ]);
    const allSeeds = [...seeds.values()].flat();

    const session = http2.connect(url);
    session.on('error', () => {});
    const wrong: string[] = [];
    const answered = new Map<string, number>();
    let maxRss = 0;
    for (let i = 0; i < requests; i++) {
      const rpc = pick(rand, rpcs);
      const protocol = pick(rand, PROTOCOLS);
      let payload: Buffer;
      if (protocol.json) {
        payload =
          rand() < 0.8
            ? Buffer.from(JSON.stringify(randomJson(rand)))
            : mutate(rand, Buffer.from(JSON.stringify(randomJson(rand))), randomBytes(rand, 16));
      } else {
        const own = seeds.get(rpc.name)!;
        const seed = own.length > 0 ? pick(rand, own) : Buffer.alloc(0);
        const r = rand();
        payload =
          r < 0.6
            ? mutate(rand, seed, pick(rand, allSeeds))
            : r < 0.85
              ? randomProto(rand)
              : randomBytes(rand, int(rand, 64));
      }
      const body = protocol.framed ? frame(rand, payload) : payload;
      const headers: http2.OutgoingHttpHeaders = { 'content-type': protocol.type, 'skein-client-id': 'fuzzer' };
      // A compression the server has (gzip) or not, in the header each protocol reads.
      const encoding = rand() < 0.05 ? pick(rand, ['gzip', 'br', 'zz']) : undefined;
      if (encoding !== undefined)
        headers[
          !protocol.framed
            ? 'content-encoding'
            : protocol.type.startsWith('application/connect+')
              ? 'connect-content-encoding'
              : 'grpc-encoding'
        ] = encoding;
      const answer = await send(session, rpc.name, headers, body);
      const why = wrongAnswer(answer, encoding !== undefined && encoding !== 'gzip');
      const label = answer.grpcStatus ?? answer.connectCode ?? String(answer.status);
      answered.set(label, (answered.get(label) ?? 0) + 1);
      if (why !== undefined && wrong.length < 20)
        wrong.push(
          `${rpc.name} over ${protocol.name}${encoding ? ` (${encoding})` : ''}: ${why}; body ${body.subarray(0, 48).toString('hex')}`,
        );
      if (child.proc.exitCode !== null || child.proc.signalCode !== null) {
        wrong.push(`the server exited after ${rpc.name} over ${protocol.name}: body ${body.toString('hex')}`);
        break;
      }
      if (i % 500 === 0) maxRss = Math.max(maxRss, await childMaxRssMiB(child.proc.pid));
    }
    session.destroy();
    maxRss = Math.max(maxRss, await childMaxRssMiB(child.proc.pid));

    // The server is alive and still serves the thread the seeds wrote.
    const after = new RemoteThreadStore({ baseUrl: url, timeoutMs: 10_000 });
    const read = await after.readThread({ threadId, includeArchived: true });
    await after.close();
    child.proc.kill('SIGKILL');
    await child.exited;

    record({
      probe: 'wire fuzzer: random and mutated protobuf/JSON bodies for every RPC over gRPC, gRPC-Web and Connect',
      trials: requests,
      acknowledged: 0,
      lost: 0,
      wrong: wrong.length,
      maxRssMiB: Math.max(maxRss, selfMaxRssMiB()),
      notes: `answers: ${[...answered]
        .sort((a, b) => b[1] - a[1])
        .map(([k, v]) => `${k}×${v}`)
        .join(' ')}`,
    });
    expect(wrong).toEqual([]);
    expect(read.threadId).toBe(threadId);
  });
});
