/** Retry policy for idempotent reads on `unavailable`. Writes are never retried. */
export interface RetryOptions {
  /** Total attempts including the first (default 4; 1 disables retries). */
  maxAttempts?: number;
  /** First backoff (default 100 ms); doubles each time, with jitter. */
  initialDelayMs?: number;
  /** Backoff ceiling (default 2 000 ms). */
  maxDelayMs?: number;
}

export interface ResolvedRetry {
  maxAttempts: number;
  initialDelayMs: number;
  maxDelayMs: number;
}

export function resolveRetry(r: RetryOptions | false | undefined): ResolvedRetry {
  if (r === false) return { maxAttempts: 1, initialDelayMs: 0, maxDelayMs: 0 };
  const out = {
    maxAttempts: r?.maxAttempts ?? 4,
    initialDelayMs: r?.initialDelayMs ?? 100,
    maxDelayMs: r?.maxDelayMs ?? 2000,
  };
  if (!Number.isInteger(out.maxAttempts) || out.maxAttempts < 1)
    throw new RangeError('retry.maxAttempts must be an integer >= 1');
  return out;
}

/** Full-jitter exponential backoff for the attempt that just failed (0-based). */
export function backoffMs(r: ResolvedRetry, attempt: number): number {
  const ceiling = Math.min(r.maxDelayMs, r.initialDelayMs * 2 ** attempt);
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
