import { formatCount } from './count.js';

/** A snapshot of long work, in the units the bar shows. Totals may be unknown (null). */
export interface ProgressSnapshot {
  filesDone: number;
  filesTotal: number | null;
  bytesDone: number;
  bytesTotal: number | null;
}

export interface ProgressView {
  update(p: ProgressSnapshot): void;
  /** Clears the bar (a terminal keeps no trace of it; the summary line follows). */
  done(): void;
}

const MB = 1024 * 1024;
/** An ETA from the first moments of work swings wildly: none before this much time and work. */
const ETA_AFTER_MS = 1000;
const ETA_AFTER_FRACTION = 0.02;
/** The text beside the bar is padded to this width so the bar never jumps. */
const TEXT_WIDTH = 58;

function fmtMB(bytes: number): string {
  return `${(bytes / MB).toFixed(1)}`;
}

function fmtDuration(seconds: number): string {
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${String(m).padStart(2, ' ')}:${ss}`;
}

/** Rate and ETA from the bytes done so far (files when sizes are unknown). */
export function progressFigures(
  p: ProgressSnapshot,
  elapsedMs: number,
): { mbPerSec: number; etaSeconds: number | null; fraction: number | null } {
  const secs = Math.max(elapsedMs, 1) / 1000;
  const mbPerSec = p.bytesDone / MB / secs;
  let fraction: number | null = null;
  if (p.bytesTotal !== null && p.bytesTotal > 0) fraction = Math.min(1, p.bytesDone / p.bytesTotal);
  else if (p.filesTotal !== null && p.filesTotal > 0) fraction = Math.min(1, p.filesDone / p.filesTotal);
  let etaSeconds: number | null = null;
  if (fraction === 1) etaSeconds = 0;
  else if (fraction !== null && elapsedMs >= ETA_AFTER_MS && fraction >= ETA_AFTER_FRACTION)
    etaSeconds = (secs / fraction) * (1 - fraction);
  return { mbPerSec, etaSeconds, fraction };
}

/** `42% 1,234/3,000 files  12.3/80.0 MB  45.6 MB/s  ETA  0:02`, the same width all along. */
export function progressLine(p: ProgressSnapshot, elapsedMs: number): string {
  const f = progressFigures(p, elapsedMs);
  const n = formatCount;
  const totalFiles = p.filesTotal === null ? '?' : n(p.filesTotal);
  const files = `${n(p.filesDone).padStart(totalFiles.length)}/${totalFiles} files`;
  const totalMB = p.bytesTotal === null ? '?' : fmtMB(p.bytesTotal);
  const bytes = `${fmtMB(p.bytesDone).padStart(totalMB.length)}/${totalMB} MB`;
  const pct = f.fraction === null ? '   ' : `${(f.fraction * 100).toFixed(0).padStart(3)}%`;
  const eta = `ETA ${f.etaSeconds === null ? '--:--' : fmtDuration(f.etaSeconds)}`;
  return `${pct} ${files}  ${bytes}  ${f.mbPerSec.toFixed(1).padStart(6)} MB/s  ${eta}`;
}

/**
 * On a terminal: one bar of steady width redrawn in place (at most ~10 times a second) and
 * cleared at the end. Elsewhere: a plain line per update, at most one a second, so logs stay
 * readable. Nothing is drawn while there is nothing to do.
 */
export function progressView(
  write: (s: string) => void,
  tty: boolean,
  columns: number,
  now: () => number = Date.now,
): ProgressView {
  const start = now();
  let lastDraw = -Infinity;
  let drawn = false;
  let pending: ProgressSnapshot | null = null;
  const minGap = tty ? 100 : 1000;
  const barWidth = Math.max(10, Math.min(30, columns - TEXT_WIDTH - 2));
  return {
    update: (p) => {
      if (p.filesTotal === 0) return;
      const t = now();
      pending = p;
      if (t - lastDraw < minGap) return;
      lastDraw = t;
      pending = null;
      const text = progressLine(p, t - start);
      if (!tty) {
        write(`index: ${text}\n`);
        return;
      }
      const f = progressFigures(p, t - start).fraction;
      const filled = f === null ? 0 : Math.round(f * barWidth);
      const bar = f === null ? '·'.repeat(barWidth) : '█'.repeat(filled) + '░'.repeat(barWidth - filled);
      write(`\r\u001b[2K${bar} ${text.padEnd(TEXT_WIDTH).slice(0, Math.max(0, columns - barWidth - 2))}`);
      drawn = true;
    },
    done: () => {
      if (tty && drawn) write('\r\u001b[2K');
      // A log keeps the last figures, which the once-a-second limit may have held back.
      if (!tty && pending !== null) write(`index: ${progressLine(pending, now() - start)}\n`);
    },
  };
}
