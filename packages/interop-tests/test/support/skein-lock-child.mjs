// A separate Node process that resumes a thread through LocalThreadStore, appends one turn,
// flushes and shuts the writer down, so its system calls can be traced apart from the test's.
// Usage: node skein-lock-child.mjs <home> <threadId> <prompt>; prints one JSON result line.
import { LocalThreadStore } from '@skein/thread-store-local';

const [home, threadId, prompt] = process.argv.slice(2);
const store = new LocalThreadStore({ home, defaultModelProvider: 'mock', watch: false });
try {
  await store.resumeThread({ threadId });
  const at = new Date().toISOString();
  await store.appendItems({
    threadId,
    items: [
      {
        timestamp: at,
        type: 'response_item',
        payload: { type: 'message', role: 'user', content: [{ type: 'input_text', text: prompt }] },
      },
      {
        timestamp: at,
        type: 'event_msg',
        payload: { type: 'user_message', message: prompt, images: [], local_images: [], text_elements: [] },
      },
    ],
  });
  await store.flushThread(threadId);
  await store.shutdownThread(threadId);
  await store.close();
  process.stdout.write(JSON.stringify({ ok: true }) + '\n');
} catch (e) {
  await store.close().catch(() => undefined);
  process.stdout.write(JSON.stringify({ ok: false, code: e.code ?? 'unknown', message: e.message }) + '\n');
  process.exitCode = 1;
}
