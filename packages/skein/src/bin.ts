#!/usr/bin/env node
import { endQuietlyOnClosedPipe } from './internal/closed-pipe.js';
import { runCli } from './index.js';

endQuietlyOnClosedPipe();
const code = await runCli(process.argv);
// Exit explicitly: a store's idle sockets or timers must not keep a finished command alive.
// Writing an empty chunk first lets anything still buffered for stdout/stderr drain.
process.stdout.write('', () => {
  process.stderr.write('', () => process.exit(code));
});
