// A thread-store-remote server over a local home, in its own process: prints `{"url": …}` when
// listening. The parent kills it with SIGKILL and starts another on the same home and port.
import { LocalThreadStore } from '@skein/thread-store-local';
import { startThreadStoreServer } from '@skein/thread-store-remote';

const [home, portArg] = process.argv.slice(2);
const store = new LocalThreadStore({ home });
const server = await startThreadStoreServer({ store, ownsStore: true, host: '127.0.0.1', port: Number(portArg) });
process.stdout.write(JSON.stringify({ url: server.url, port: server.port, pid: process.pid }) + '\n');
