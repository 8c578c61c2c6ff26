import { appendFileSync } from 'node:fs';

/**
 * Bounded counts and the figures each probe reports. `SKEIN_RELIABILITY=long` (set by
 * `pnpm reliability -- --long`) runs the long counts; CI runs the short ones through `pnpm test`.
 * When `SKEIN_RELIABILITY_OUT` names a file, each probe appends one JSON line of figures to it,
 * which tools/reliability.mjs turns into RELIABILITY.md.
 */
export const LONG = process.env.SKEIN_RELIABILITY === 'long';

/** The count for this run: `short` in CI, `long` on demand. */
export function trials(short: number, long: number): number {
  return LONG ? long : short;
}

export interface Figures {
  probe: string;
  trials: number;
  /** Items (or calls) the store acknowledged as done. */
  acknowledged: number;
  /** Acknowledged items missing afterwards (must be 0). */
  lost: number;
  /** Calls answered wrongly or with a non-ThreadStoreError (must be 0). */
  wrong?: number;
  /** Largest resident set seen, in MiB (this process or a child). */
  maxRssMiB: number;
  notes?: string;
}

export function record(f: Figures): void {
  const out = process.env.SKEIN_RELIABILITY_OUT;
  if (out) appendFileSync(out, JSON.stringify({ ...f, long: LONG }) + '\n');
}

/** This process's peak RSS in MiB. */
export function selfMaxRssMiB(): number {
  return Math.round(process.resourceUsage().maxRSS / 1024);
}

/** A live child's peak RSS (VmHWM) in MiB, read before it is killed; 0 when unknown. */
export async function childMaxRssMiB(pid: number | undefined): Promise<number> {
  if (pid === undefined) return 0;
  try {
    const { readFile } = await import('node:fs/promises');
    const m = /VmHWM:\s+(\d+) kB/.exec(await readFile(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 1024) : 0;
  } catch {
    return 0;
  }
}

/** mulberry32: random points that repeat from run to run. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
