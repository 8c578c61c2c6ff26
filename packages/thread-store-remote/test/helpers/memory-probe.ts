/**
 * Samples this process's memory. `liveGrowth` is the peak of JS heap + external memory (Buffers,
 * ArrayBuffers) above the baseline: what holding a history would grow. `rssGrowth` also counts
 * memory the allocator keeps after it is freed.
 */
export function memoryProbe(everyMs = 5) {
  const live = (m: NodeJS.MemoryUsage) => m.heapUsed + m.external;
  const base = process.memoryUsage();
  let peakRss = base.rss;
  let peakLive = live(base);
  const sample = () => {
    const m = process.memoryUsage();
    if (m.rss > peakRss) peakRss = m.rss;
    if (live(m) > peakLive) peakLive = live(m);
  };
  const timer = setInterval(sample, everyMs);
  return {
    sample,
    peak() {
      sample();
      return { rssGrowth: peakRss - base.rss, liveGrowth: peakLive - live(base) };
    },
    stop() {
      clearInterval(timer);
    },
  };
}
