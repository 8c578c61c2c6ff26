#!/usr/bin/env node
import { endQuietlyOnClosedPipe } from './internal/closed-pipe.js';
import { runCli } from './index.js';

// The local store's index worker is bundled next to this file (scripts/bundle-cli.mjs): the
// store looks for it under this key (see index-worker-client.ts in @skein/thread-store-local).
(globalThis as Record<symbol, unknown>)[Symbol.for('skein.thread-store-local.index-worker')] = new URL(
  './index-worker.js',
  import.meta.url,
).href;
endQuietlyOnClosedPipe();
const code = await runCli(process.argv);
// Exit explicitly: a store's idle sockets or timers must not keep a finished command alive.
// Writing an empty chunk first lets anything still buffered for stdout/stderr drain.
process.stdout.write('', () => {
  process.stderr.write('', () => process.exit(code));
});
