// A client process that opens a live writer, appends and flushes in a loop, and reports each
// flushed batch on stdout, until it is killed. Run: node --import tsx append-child.ts <url> <threadId>
import type { ThreadId } from '@skein/thread-store-api';
import { RemoteThreadStore } from '../../src/index.js';

const [url, threadId] = process.argv.slice(2) as [string, ThreadId];
const store = new RemoteThreadStore({ baseUrl: url });
await store.createThread({
  threadId,
  source: { kind: 'cli' },
  metadata: { cwd: '/work/child', modelProvider: 'openai' },
});
for (let batch = 0; ; batch++) {
  const items = Array.from({ length: 10 }, (_, i) => ({
    type: 'event_msg',
    payload: { type: 'agent_message', message: `batch ${batch} item ${i}` },
  }));
  await store.appendItems({ threadId, items });
  await store.flushThread(threadId);
  process.stdout.write(`flushed ${batch}\n`);
  // Appended, never flushed by this process: the server flushes it when the lease expires.
  await store.appendItems({
    threadId,
    items: [{ type: 'event_msg', payload: { type: 'agent_message', message: `tail ${batch}` } }],
  });
}
