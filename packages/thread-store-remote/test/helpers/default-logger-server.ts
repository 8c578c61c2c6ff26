// A server with the default logger (pino on stderr): one good call and one refused, then exit.
import { InMemoryThreadStore, newThreadId } from '@skein/thread-store-api';
import { RemoteThreadStore, startThreadStoreServer } from '../../src/index.js';

const server = await startThreadStoreServer({ store: new InMemoryThreadStore() });
const client = new RemoteThreadStore({ baseUrl: server.url });
await client.listThreads({});
await client.readThread({ threadId: newThreadId() }).catch(() => undefined);
await client.close();
await server.close();
process.stdout.write(`${server.url}\n`);
