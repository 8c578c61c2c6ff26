#!/usr/bin/env node
import { runCli } from './index.js';

const code = await runCli(process.argv);
// Exit explicitly: a store's idle sockets or timers must not keep a finished command alive.
// Writing an empty chunk first lets anything still buffered for stdout/stderr drain.
process.stdout.write('', () => {
  process.stderr.write('', () => process.exit(code));
});
