/** Small statistics and formatting helpers for the benchmark tables. */

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx] ?? Number.NaN;
}

export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

/** Runs `fn` `warmup` times unmeasured, then `runs` times; returns each run's milliseconds. */
export async function timeRuns(runs: number, warmup: number, fn: () => Promise<unknown>): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await fn();
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    out.push(performance.now() - t0);
  }
  return out;
}

/**
 * Like timeRuns, but stops early once `budgetMs` has been spent (after at least `minRuns`), so a
 * slow store at a large N still finishes: the number of runs is reported next to the figure.
 */
export async function timeRunsBudget(
  maxRuns: number,
  minRuns: number,
  budgetMs: number,
  fn: () => Promise<unknown>,
): Promise<number[]> {
  await fn();
  const out: number[] = [];
  const start = performance.now();
  for (let i = 0; i < maxRuns; i++) {
    const t0 = performance.now();
    await fn();
    out.push(performance.now() - t0);
    if (out.length >= minRuns && performance.now() - start > budgetMs) break;
  }
  return out;
}

/** Milliseconds, with a unit that keeps 2–3 significant digits. */
export function fmtMs(ms: number): string {
  if (!Number.isFinite(ms)) return 'n/a';
  if (ms < 1) return `${(ms * 1000).toFixed(0)} µs`;
  if (ms < 10) return `${ms.toFixed(2)} ms`;
  if (ms < 1000) return `${ms.toFixed(0)} ms`;
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

export function fmtBytes(b: number): string {
  if (b < 1024 * 1024) return `${(b / 1024).toFixed(0)} KiB`;
  return `${(b / (1024 * 1024)).toFixed(1)} MiB`;
}

export function fmtRate(perSecond: number, unit: string): string {
  if (perSecond >= 1e6) return `${(perSecond / 1e6).toFixed(2)} M ${unit}/s`;
  if (perSecond >= 1e4) return `${(perSecond / 1e3).toFixed(0)} k ${unit}/s`;
  return `${perSecond.toFixed(0)} ${unit}/s`;
}

export function fmtCount(n: number): string {
  return n.toLocaleString('en-US');
}
