import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresThreadStore } from '../src/index.js';
import { createTestDatabase, withClient } from './helpers/database.js';
import type { TestDatabase } from './helpers/database.js';
import { seed, userMessage } from './helpers/threads.js';

const ITEMS = 100_000;
const MESSAGE_CHARS = 2_000; // ~200 MB of item JSON in all
const child = fileURLToPath(new URL('./fixtures/read-history.mjs', import.meta.url));

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase('history');
});
afterAll(async () => {
  await db.drop();
});

describe('loadHistory streams', () => {
  it('a 200 MB thread is read in a child process whose memory stays far below the thread size', async () => {
    expect(existsSync(new URL('../dist/index.js', import.meta.url)), 'build the package first').toBe(true);
    const tenant = 'big-history';
    const store = await PostgresThreadStore.open({ connectionString: db.url, tenant });
    const threadId = await seed(store, [userMessage('a very long thread')]);
    await store.close();
    // The items, written in one statement: seq 2.. after session_meta and the user message.
    await withClient(db.url, async (c) => {
      await c.query(
        `INSERT INTO skein_items (tenant, thread_id, seq, line)
         SELECT $1, $2, 1 + g,
                '{"type":"event_msg","payload":{"type":"agent_message","message":"' ||
                repeat(chr(97 + g % 26), $3::int) || '"}}'
         FROM generate_series(1, $4::int) g`,
        [tenant, threadId, MESSAGE_CHARS, ITEMS],
      );
      await c.query('UPDATE skein_threads SET item_count = item_count + $3 WHERE tenant = $1 AND thread_id = $2', [
        tenant,
        threadId,
        ITEMS,
      ]);
    });
    const out = execFileSync(process.execPath, [child, db.url, tenant, threadId], {
      encoding: 'utf8',
      maxBuffer: 1024 * 1024,
    });
    const { count, bytes, maxRss } = JSON.parse(out) as { count: number; bytes: number; maxRss: number };
    expect(count).toBe(ITEMS + 2);
    expect(bytes).toBe(ITEMS * MESSAGE_CHARS + 'a very long thread'.length);
    console.log(`history of ${count} items read with a peak RSS of ${Math.round(maxRss / 1048576)} MB`);
    // Holding the history would need well over 200 MB; a streamed read stays near the baseline.
    expect(maxRss).toBeLessThan(150 * 1024 * 1024);
  }, 240_000);
});
