import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createClient } from '@connectrpc/connect';
import { createGrpcTransport, Http2SessionManager } from '@connectrpc/connect-node';
import { collectHistory, newThreadId } from '@skein/thread-store-api';
import { LocalThreadStore } from '@skein/thread-store-local';
import { afterEach, describe, expect, it } from 'vitest';
import { ThreadStoreService } from '../src/gen/skein/threadstore/v1/thread_store_pb.js';
import type { Served } from './helpers/server.js';
import { serve } from './helpers/server.js';

let served: Served | undefined;
let home: string | undefined;
afterEach(async () => {
  await served?.close();
  await served?.backend.close();
  served = undefined;
  if (home) rmSync(home, { recursive: true, force: true });
});

describe('history as the store keeps it', () => {
  it("sends a local home's rollout lines byte for byte, not re-serialised", async () => {
    home = mkdtempSync(path.join(tmpdir(), 'skein-history-json-'));
    const id = newThreadId();
    const day = path.join(home, 'sessions/2026/03/04');
    mkdirSync(day, { recursive: true });
    // Bytes JSON.stringify would not write back: an escaped é, 1.50, a space after a colon.
    const lines = [
      `{"timestamp":"2026-03-04T05:06:07.000Z","type":"session_meta","payload":{"id":"${id}","timestamp":"2026-03-04T05:06:07.000Z","cwd":"/w","originator":"codex_cli_rs","cli_version":"0.169.0","source":"cli","model_provider":"openai"}}`,
      '{"timestamp":"2026-03-04T05:06:08.000Z","type":"event_msg","payload":{"type":"user_message","message":"caf\\u00e9 costs 1.50","kind": "plain"}}',
      '{"timestamp":"2026-03-04T05:06:09.000Z","type":"event_msg","payload":{"type":"agent_message","message":"ok","n":1.50}}',
    ];
    writeFileSync(path.join(day, `rollout-2026-03-04T05-06-07-${id}.jsonl`), `${lines.join('\n')}\n`);
    const local = new LocalThreadStore({ home });
    served = await serve(local);
    const sessions = new Http2SessionManager(served.server.url);
    try {
      const raw = createClient(
        ThreadStoreService,
        createGrpcTransport({ baseUrl: served.server.url, sessionManager: sessions }),
      );
      const sent: string[] = [];
      for await (const res of raw.loadHistory({ threadId: id }))
        for (const b of res.chunk?.itemsJson ?? []) sent.push(Buffer.from(b).toString('utf8'));
      expect(sent).toEqual(lines);
      // Parsed, the client's history is the store's own.
      const client = served.client();
      expect(await collectHistory(client.loadHistory({ threadId: id }))).toEqual(
        await collectHistory(local.loadHistory({ threadId: id })),
      );
    } finally {
      sessions.abort();
    }
  });
});
