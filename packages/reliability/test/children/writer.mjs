// A local writer in its own process: creates or resumes one thread, then appends and flushes
// batches forever, printing `{"acked": <last seq>}` after each flush returned. The parent kills it.
import { LocalThreadStore } from '@skein/thread-store-local';

const [home, threadId, startArg, mode] = process.argv.slice(2);
const start = Number(startArg);
const store = new LocalThreadStore({ home });
const say = (m) => process.stdout.write(JSON.stringify(m) + '\n');
if (mode === 'create') {
  await store.createThread({ threadId, source: { kind: 'cli' }, metadata: { cwd: '/r', modelProvider: 'openai' } });
  await store.appendItems({
    threadId,
    items: [{ type: 'event_msg', payload: { type: 'user_message', message: 'go' } }],
  });
  await store.persistThread(threadId);
} else {
  await store.resumeThread({ threadId });
}
say({ ready: true, pid: process.pid });
for (let seq = start; ;) {
  const n = 1 + (seq % 4);
  const items = [];
  for (let i = 0; i < n; i++)
    items.push({
      type: 'event_msg',
      payload: { type: 'agent_message', message: `seq-${seq + i} ${'y'.repeat(200 * ((seq + i) % 7))}` },
    });
  await store.appendItems({ threadId, items });
  await store.flushThread(threadId);
  seq += n;
  say({ acked: seq - 1 });
}
