// A client process that streams a history and prints what it received and its memory growth.
// Run: node --import tsx big-history-client.ts <url> <threadId> <load|read>
import type { RolloutItem, ThreadId } from '@skein/thread-store-api';
import { RemoteThreadStore } from '../../src/index.js';
import { memoryProbe } from './memory-probe.js';

const [url, threadId, mode] = process.argv.slice(2) as [string, ThreadId, 'load' | 'read'];
const store = new RemoteThreadStore({ baseUrl: url });
const probe = memoryProbe();
let items = 0;
let bytes = 0;
let inOrder = true;
const history: AsyncIterable<RolloutItem> | undefined =
  mode === 'load'
    ? store.loadHistory({ threadId })
    : (await store.readThread({ threadId, includeHistory: true })).history;
for await (const item of history ?? []) {
  const text = (item.payload as { content: { text: string }[] }).content[0]!.text;
  if (!text.startsWith(`${items}:`)) inOrder = false;
  bytes += text.length;
  items++;
}
probe.stop();
await store.close();
process.stdout.write(`${JSON.stringify({ items, bytes, inOrder, ...probe.peak() })}\n`);
