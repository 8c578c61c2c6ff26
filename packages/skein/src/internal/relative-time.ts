const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/**
 * `just now`, `5 min ago`, `3 h ago`, `yesterday`, `4 days ago`, then the date: what a person
 * scanning a list wants, in at most 12 columns. Future times (clock skew) read as `just now`.
 */
export function relativeTime(d: Date, now: number = Date.now()): string {
  const ago = now - d.getTime();
  if (ago < MINUTE) return 'just now';
  if (ago < HOUR) return `${Math.floor(ago / MINUTE)} min ago`;
  if (ago < DAY) return `${Math.floor(ago / HOUR)} h ago`;
  if (ago < 2 * DAY) return 'yesterday';
  if (ago < 30 * DAY) return `${Math.floor(ago / DAY)} days ago`;
  return d.toISOString().slice(0, 10);
}
