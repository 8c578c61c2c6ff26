import { spawnSync } from 'node:child_process';
import * as http2 from 'node:http2';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClient } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { ThreadStore } from '@skein/thread-store-api';
import type { CallLogEntry } from '../src/index.js';
import { collectHistory, InMemoryThreadStore, newThreadId } from '@skein/thread-store-api';
import { LocalThreadStore } from '@skein/thread-store-local';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ThreadStoreService } from '../src/gen/skein/threadstore/v1/thread_store_pb.js';
import { agentMessage, createParams, userMessage } from './helpers/fixtures.js';
import type { Served } from './helpers/server.js';
import { serve } from './helpers/server.js';
import { RemoteThreadStore, startThreadStoreServer } from '../src/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
let served: Served | undefined;
const dirs: string[] = [];
afterEach(async () => {
  await served?.close();
  served = undefined;
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function get(url: string, p: string): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(url);
    session.on('error', reject);
    const req = session.request({ ':method': 'GET', ':path': p });
    let status = 0;
    let type = '';
    let body = '';
    req.on('response', (h) => {
      status = h[':status'] ?? 0;
      type = String(h['content-type'] ?? '');
    });
    req.setEncoding('utf8');
    req.on('data', (d: string) => (body += d));
    req.on('end', () => {
      session.close();
      resolve({ status, type, body });
    });
    req.on('error', reject);
    req.end();
  });
}

/** The value of one sample (`name{labels} value`) in a Prometheus text exposition. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return undefined;
}

describe('Prometheus metrics at /metrics', () => {
  it('count calls by method and code, time them, and show live writers and open streams', async () => {
    served = await serve(new InMemoryThreadStore());
    const client = served.client();
    const id = newThreadId();
    await client.createThread(createParams(id));
    const items = Array.from({ length: 40 }, (_, i) => agentMessage(`${i}`.padEnd(64 * 1024, 'm')));
    await client.appendItems({ threadId: id, items });
    await client.flushThread(id);
    await client.listThreads({});
    await client.listThreads({});
    await expect(client.readThread({ threadId: newThreadId() })).rejects.toMatchObject({ code: 'not_found' });
    // One history stream held open by its reader (a 1-item chunk each, so it cannot finish).
    const reader = served.client({ retry: false });
    const open = reader.loadHistory({ threadId: id })[Symbol.asyncIterator]();
    expect((await open.next()).done).toBe(false);

    const during = await get(served.server.url, '/metrics');
    expect(during.status).toBe(200);
    expect(during.type).toMatch(/^text\/plain; version=0\.0\.4/);
    const m = during.body;
    expect(sample(m, 'skein_rpc_calls_total', { method: 'ListThreads', code: 'ok' })).toBe(2);
    expect(sample(m, 'skein_rpc_calls_total', { method: 'ReadThread', code: 'not_found' })).toBe(1);
    expect(sample(m, 'skein_rpc_calls_total', { method: 'CreateThread', code: 'ok' })).toBe(1);
    expect(sample(m, 'skein_rpc_duration_seconds_count', { method: 'ListThreads', code: 'ok' })).toBe(2);
    expect(sample(m, 'skein_rpc_duration_seconds_bucket', { method: 'ListThreads', code: 'ok', le: '+Inf' })).toBe(2);
    expect(sample(m, 'skein_live_writers')).toBe(1);
    expect(sample(m, 'skein_open_streams')).toBe(1);
    // Process figures come along, and no tenant or client is named anywhere.
    expect(sample(m, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(m).not.toMatch(/(?:tenant|client|thread)\w*="/i);

    await open.return?.();
    await client.shutdownThread(id);
    await collectHistory(reader.loadHistory({ threadId: id }));
    const after = (await get(served.server.url, '/metrics')).body;
    expect(sample(after, 'skein_live_writers')).toBe(0);
    expect(sample(after, 'skein_open_streams')).toBe(0);
    expect(sample(after, 'skein_rpc_calls_total', { method: 'LoadHistory', code: 'ok' })).toBe(1);
  });

  it('show how far a local home index is behind its rollout files', async () => {
    const home = mkdtempSync(path.join(tmpdir(), 'skein-metrics-'));
    dirs.push(home);
    const store: ThreadStore = new LocalThreadStore({ home, backgroundIntegrityCheck: false });
    served = await serve(store);
    const client = served.client();
    // Before the first listing the store does not watch its home: nothing reported, no sample.
    const before = (await get(served.server.url, '/metrics')).body;
    expect(sample(before, 'skein_index_pending_files')).toBeUndefined();
    expect(sample(before, 'skein_index_lag_seconds')).toBeUndefined();
    await client.listThreads({});
    const id = newThreadId();
    await client.createThread(createParams(id));
    await client.appendItems({ threadId: id, items: [userMessage('lagging')] });
    await client.flushThread(id);
    const behind = (await get(served.server.url, '/metrics')).body;
    expect(sample(behind, 'skein_index_pending_files')).toBeGreaterThanOrEqual(1);
    expect(sample(behind, 'skein_index_lag_seconds')).toBeGreaterThan(0);
    // A listing indexes what was pending first.
    expect((await client.listThreads({ modelProviders: [] })).items.map((t) => t.threadId)).toEqual([id]);
    const caught = (await get(served.server.url, '/metrics')).body;
    expect(sample(caught, 'skein_index_pending_files')).toBe(0);
    expect(sample(caught, 'skein_index_lag_seconds')).toBe(0);
    await client.shutdownThread(id);
    await served.close();
    served = undefined;
    await store.close();
  });

  it('have no index lag for a store that does not report one', async () => {
    served = await serve(new InMemoryThreadStore());
    const client = served.client();
    await client.listThreads({});
    const m = (await get(served.server.url, '/metrics')).body;
    // The call was counted, so the registry was read; the lag gauges have no sample, not a 0.
    expect(sample(m, 'skein_rpc_calls_total', { method: 'ListThreads', code: 'ok' })).toBe(1);
    expect(sample(m, 'skein_index_lag_seconds')).toBeUndefined();
    expect(sample(m, 'skein_index_pending_files')).toBeUndefined();
  });

  it('count every call and its code with logging off (logger: false)', async () => {
    const server = await startThreadStoreServer({ store: new InMemoryThreadStore(), logger: false });
    const client = new RemoteThreadStore({ baseUrl: server.url, timeoutMs: 10_000 });
    try {
      const id = newThreadId();
      await client.createThread(createParams(id));
      await client.appendItems({ threadId: id, items: [userMessage('one')] });
      await client.flushThread(id);
      await client.listThreads({});
      await expect(client.readThread({ threadId: newThreadId() })).rejects.toMatchObject({ code: 'not_found' });
      const m = (await get(server.url, '/metrics')).body;
      expect(sample(m, 'skein_rpc_calls_total', { method: 'CreateThread', code: 'ok' })).toBe(1);
      expect(sample(m, 'skein_rpc_calls_total', { method: 'ListThreads', code: 'ok' })).toBe(1);
      expect(sample(m, 'skein_rpc_calls_total', { method: 'ReadThread', code: 'not_found' })).toBe(1);
      expect(sample(m, 'skein_rpc_duration_seconds_count', { method: 'ListThreads', code: 'ok' })).toBe(1);
      expect(sample(m, 'skein_rpc_calls_total', { method: 'AppendItems', code: 'ok' })).toBe(1);
    } finally {
      await client.close();
      await server.close();
    }
  });

  it('can be turned off', async () => {
    served = await serve(new InMemoryThreadStore(), { metrics: false });
    expect((await get(served.server.url, '/metrics')).status).not.toBe(200);
  });
});

describe('structured logs', () => {
  it('a logger given gets one call entry per call, with its method, code, caller and duration', async () => {
    served = await serve(new InMemoryThreadStore());
    const client = served.client({ clientId: 'logged-client' });
    const id = newThreadId();
    await client.createThread(createParams(id));
    await client.listThreads({});
    await expect(client.readThread({ threadId: newThreadId() })).rejects.toMatchObject({ code: 'not_found' });
    const calls = served.logs.filter((l): l is CallLogEntry => l.event === 'call');
    expect(calls.map((c) => [c.method, c.code])).toEqual([
      ['CreateThread', 'ok'],
      ['ListThreads', 'ok'],
      ['ReadThread', 'not_found'],
    ]);
    for (const c of calls) {
      expect(c).toMatchObject({ tenant: 'default', clientId: 'logged-client' });
      expect(c.durationMs).toBeGreaterThanOrEqual(0);
      expect(Number.isNaN(Date.parse(c.time))).toBe(false);
    }
    expect(calls[2]!.message).toMatch(/not found/i);
  });

  it('the default logger writes pino JSON lines on stderr: listening, then one line per call', () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', path.join(here, 'helpers/default-logger-server.ts')], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(run.status).toBe(0);
    const url = run.stdout.trim();
    const lines = run.stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines[0]).toMatchObject({ level: 30, event: 'listening', url, msg: 'listening' });
    const calls = lines.filter((l) => l.event === 'call');
    expect(calls.map((c) => [c.method, c.code, c.level])).toEqual(
      expect.arrayContaining([
        ['ListThreads', 'ok', 30],
        ['ReadThread', 'not_found', 30],
      ]),
    );
    for (const l of lines) expect(l.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const list = calls.find((c) => c.method === 'ListThreads')!;
    expect(list).toMatchObject({ tenant: 'default', msg: 'ListThreads ok' });
    expect(typeof list.durationMs).toBe('number');
  });
});

describe('OpenTelemetry spans', () => {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  beforeAll(() => {
    trace.setGlobalTracerProvider(provider);
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  });
  afterAll(async () => {
    trace.disable();
    propagation.disable();
    await provider.shutdown();
  });

  it('one SERVER span per call, a child of the caller traceparent, with its code; server faults are errors', async () => {
    const broken = new InMemoryThreadStore();
    broken.listThreads = () => Promise.reject(new Error('disk on fire'));
    served = await serve(broken);
    const traceId = '0af7651916cd43dd8448eb211c80319c';
    const parentId = 'b7ad6b7169203331';
    const raw = createClient(
      ThreadStoreService,
      createGrpcTransport({
        baseUrl: served.server.url,
        interceptors: [
          (next) => (req) => {
            req.header.set('traceparent', `00-${traceId}-${parentId}-01`);
            return next(req);
          },
        ],
      }),
    );
    exporter.reset();
    await expect(raw.readThread({ threadId: newThreadId() })[Symbol.asyncIterator]().next()).rejects.toThrow();
    await expect(raw.listThreads({})).rejects.toThrow();
    await raw.getServerInfo({});
    const spans = exporter.getFinishedSpans();
    const byMethod = new Map(spans.map((s) => [s.attributes['rpc.method'], s]));
    expect([...byMethod.keys()].sort((a, b) => String(a).localeCompare(String(b)))).toEqual([
      'GetServerInfo',
      'ListThreads',
      'ReadThread',
    ]);
    for (const s of spans) {
      expect(s.name).toBe(`skein.threadstore.v1.ThreadStoreService/${String(s.attributes['rpc.method'])}`);
      expect(s.kind).toBe(SpanKind.SERVER);
      expect(s.spanContext().traceId).toBe(traceId);
      expect(s.parentSpanContext?.spanId).toBe(parentId);
      expect(s.attributes).toMatchObject({ 'rpc.system': 'grpc', 'skein.tenant': 'default' });
    }
    expect(byMethod.get('ReadThread')!.attributes['skein.code']).toBe('not_found');
    expect(byMethod.get('ReadThread')!.status.code).toBe(SpanStatusCode.UNSET);
    expect(byMethod.get('ListThreads')!.attributes['skein.code']).toBe('internal');
    expect(byMethod.get('ListThreads')!.status.code).toBe(SpanStatusCode.ERROR);
    expect(byMethod.get('GetServerInfo')!.attributes['skein.code']).toBe('ok');
  });
});
