// Preloaded into `skein serve` by tools/bench/reindex-serve.ts (`node --import`): measures the
// server's event-loop delay with perf_hooks.monitorEventLoopDelay. On SIGUSR2 it writes the
// delays seen since the last SIGUSR2 (ms: p50, p99, max, count) as JSON to the file named by
// SKEIN_BENCH_LOOP_DELAY_FILE, then starts over.
import { writeFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';

const out = process.env.SKEIN_BENCH_LOOP_DELAY_FILE;
if (out) {
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  process.on('SIGUSR2', () => {
    /** @param {number} ns */
    const ms = (ns) => Number((ns / 1e6).toFixed(2));
    const stats = { p50: ms(h.percentile(50)), p99: ms(h.percentile(99)), max: ms(h.max), count: h.count };
    writeFileSync(out, `${JSON.stringify(stats)}\n`);
    h.reset();
  });
}
