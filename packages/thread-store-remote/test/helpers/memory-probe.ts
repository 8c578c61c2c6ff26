/** Samples this process's memory; `peak()` is the highest RSS and heap seen above the baseline. */
export function memoryProbe(everyMs = 10) {
  const base = process.memoryUsage();
  let peakRss = base.rss;
  let peakHeap = base.heapUsed;
  const sample = () => {
    const m = process.memoryUsage();
    if (m.rss > peakRss) peakRss = m.rss;
    if (m.heapUsed > peakHeap) peakHeap = m.heapUsed;
  };
  const timer = setInterval(sample, everyMs);
  return {
    sample,
    peak() {
      sample();
      return { rssGrowth: peakRss - base.rss, heapGrowth: peakHeap - base.heapUsed, peakRss };
    },
    stop() {
      clearInterval(timer);
    },
  };
}
