// A separate OS process driving a LocalThreadStore from the built package, for the crash-safety
// and two-process tests. Commands arrive as JSON lines on stdin; replies go out as JSON lines.
import { createInterface } from 'node:readline';
import { LocalThreadStore } from '../../dist/index.js';

const [home, mode, threadId, startArg, sizeArg] = process.argv.slice(2);
const store = new LocalThreadStore({ home, historyMode: process.env.SKEIN_HISTORY_MODE ?? 'legacy' });
const say = (msg) => process.stdout.write(JSON.stringify(msg) + '\n');

function item(seq, size) {
  return {
    type: 'event_msg',
    payload: { type: 'agent_message', message: `item-${seq} ` + 'x'.repeat(size) },
  };
}

/** A new thread with one user message, live in this store. */
async function createWith(message) {
  await store.createThread({ threadId, source: { kind: 'cli' }, metadata: { cwd: '/tmp', modelProvider: 'openai' } });
  await store.appendItems({ threadId, items: [{ type: 'event_msg', payload: { type: 'user_message', message } }] });
}

if (mode === 'loop') {
  // Append and flush forever; report each flushed sequence number. The parent kills us.
  const start = Number(startArg);
  const size = Number(sizeArg);
  // A paginated file can be left with its session_meta only (one write per line): no item yet,
  // but the thread exists, so it is resumed.
  const exists =
    start > 0 ||
    (await store.readThread({ threadId }).then(
      () => true,
      () => false,
    ));
  if (!exists) {
    await createWith('crash test');
  } else {
    await store.resumeThread({ threadId });
  }
  say({ ready: true });
  let seq = start;
  for (;;) {
    const batch = [];
    const n = 1 + (seq % 3);
    for (let i = 0; i < n; i++) batch.push(item(seq + i, size * (1 + ((seq + i) % 4))));
    await store.appendItems({ threadId, items: batch });
    await store.flushThread(threadId);
    seq += n;
    say({ flushed: seq - 1 });
  }
} else if (mode === 'patch') {
  // Apply metadata patches forever, each setting the name and the model together; report each
  // one that returned. The parent kills us.
  let k = Number(startArg);
  if (k === 0) {
    await createWith('patch crash test');
    await store.shutdownThread(threadId);
  }
  say({ ready: true });
  for (;;) {
    await store.updateThreadMetadata({ threadId, patch: { name: `name-${k}`, model: `model-${k}` } });
    say({ applied: k });
    k += 1;
  }
} else {
  // Command mode for the two-process tests.
  const rl = createInterface({ input: process.stdin });
  say({ ready: true });
  for await (const line of rl) {
    const cmd = JSON.parse(line);
    try {
      let result = null;
      switch (cmd.op) {
        case 'create':
          await store.createThread({
            threadId: cmd.threadId,
            source: { kind: 'cli' },
            metadata: { cwd: '/tmp', modelProvider: 'openai' },
          });
          break;
        case 'resume':
          await store.resumeThread({ threadId: cmd.threadId });
          break;
        case 'append':
          await store.appendItems({ threadId: cmd.threadId, items: cmd.items });
          break;
        case 'flush':
          await store.flushThread(cmd.threadId);
          break;
        case 'shutdown':
          await store.shutdownThread(cmd.threadId);
          break;
        case 'list':
          result = (await store.listThreads({ pageSize: 100 })).items.map((t) => t.threadId);
          break;
        case 'exit':
          await store.close();
          say({ ok: true, result: null });
          process.exit(0);
      }
      say({ ok: true, result });
    } catch (e) {
      say({ ok: false, code: e.code ?? 'unknown', message: e.message });
    }
  }
}
