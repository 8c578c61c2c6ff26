// The remote benchmark's server in a process of its own (as `skein serve` runs): serves the
// LocalThreadStore of the home given as argument, prints its URL, and stops when stdin closes.
import { LocalThreadStore } from '@skein/thread-store-local';
import { startThreadStoreServer } from '../src/index.js';

const home = process.argv[2];
if (!home) throw new Error('usage: serve-home.ts HOME');
const store = new LocalThreadStore({ home, defaultModelProvider: 'openai' });
const server = await startThreadStoreServer({ store, logger: false });
process.stdout.write(`${server.url}\n`);
process.stdin.resume();
process.stdin.on('end', () => {
  void server
    .close()
    .then(() => store.close())
    .then(() => process.exit(0));
});
