// A thread-store-remote server over a local home, in its own process: prints `{"url": …}` when
// listening. The parent kills it with SIGKILL and starts another on the same home and port.
// ForkThread is served the way `skein serve` serves it: through ThreadManager, no turn run.
import { EchoModelClient } from '@skein/core-session';
import { ThreadManager } from '@skein/thread-manager';
import { LocalThreadStore } from '@skein/thread-store-local';
import { startThreadStoreServer } from '@skein/thread-store-remote';

/** @type {import('@skein/thread-store-remote').ForkThreadFn} */
async function forkThread(store, { threadId, turns }) {
  const manager = new ThreadManager({
    store,
    model: new EchoModelClient(),
    defaults: { originator: 'skein-reliability', cliVersion: '0.0.0' },
  });
  try {
    const fork = await manager.forkThread({
      threadId,
      includeArchived: true,
      ...(turns === undefined ? {} : { turns }),
    });
    await fork.shutdown();
    return await store.readThread({ threadId: fork.threadId, includeArchived: true });
  } finally {
    await manager.shutdownAll();
  }
}

const [home, portArg] = process.argv.slice(2);
const store = new LocalThreadStore({ home });
const server = await startThreadStoreServer({
  store,
  ownsStore: true,
  host: '127.0.0.1',
  port: Number(portArg),
  forkThread,
});
process.stdout.write(JSON.stringify({ url: server.url, port: server.port, pid: process.pid }) + '\n');
