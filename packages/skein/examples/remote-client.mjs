// A program that uses a running `skein serve` through RemoteThreadStore: it records a small
// thread of its own, then lists every thread and prints the newest one's conversation.
//
//   node packages/skein/examples/remote-client.mjs http://127.0.0.1:7077 [token]
import { agentMessageText, newThreadId, userMessageText } from '@skein/thread-store-api';
import { RemoteThreadStore } from '@skein/thread-store-remote';

const baseUrl = process.argv[2] ?? process.env.SKEIN_ENDPOINT ?? 'http://127.0.0.1:7077';
const token = process.argv[3] ?? process.env.SKEIN_TOKEN;
const store = new RemoteThreadStore({ baseUrl, ...(token ? { token } : {}) });

try {
  // Write: open a live writer, append a user message and a reply, flush, close.
  const threadId = newThreadId();
  await store.createThread({
    threadId,
    source: { kind: 'cli' },
    metadata: { cwd: process.cwd(), modelProvider: 'example' },
  });
  await store.appendItems({
    threadId,
    items: [
      {
        type: 'event_msg',
        payload: {
          type: 'user_message',
          message: 'written by remote-client.mjs',
          images: [],
          local_images: [],
          text_elements: [],
        },
      },
      { type: 'event_msg', payload: { type: 'agent_message', message: 'stored on the server', phase: null } },
    ],
  });
  await store.shutdownThread(threadId);
  console.log(`created ${threadId}`);

  // Read: every provider (modelProviders: []), newest first.
  const page = await store.listThreads({ modelProviders: [], pageSize: 10 });
  for (const t of page.items) console.log(`${t.threadId}  ${t.modelProvider.padEnd(8)} ${t.name ?? t.preview}`);

  const newest = page.items[0];
  if (newest) {
    console.log(`\nconversation of ${newest.threadId}:`);
    for await (const item of store.loadHistory({ threadId: newest.threadId })) {
      const user = userMessageText(item);
      const agent = agentMessageText(item);
      if (user !== undefined) console.log(`  user: ${user}`);
      if (agent !== undefined) console.log(`  assistant: ${agent}`);
    }
  }
} finally {
  await store.close();
}
