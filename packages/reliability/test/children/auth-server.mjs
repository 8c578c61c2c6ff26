// A thread-store-remote server with bearer tokens over a local home, in its own process: prints
// `{"url": …}` when listening. argv: home, token, requestBodyTimeoutMs.
import { LocalThreadStore } from '@skein/thread-store-local';
import { startThreadStoreServer } from '@skein/thread-store-remote';

const [home, token, bodyTimeout] = process.argv.slice(2);
const store = new LocalThreadStore({ home });
const server = await startThreadStoreServer({
  store,
  ownsStore: true,
  host: '127.0.0.1',
  port: 0,
  auth: { tokens: { [token]: 'default' } },
  requestBodyTimeoutMs: Number(bodyTimeout),
  logger: false,
});
process.stdout.write(JSON.stringify({ url: server.url, port: server.port, pid: process.pid }) + '\n');
