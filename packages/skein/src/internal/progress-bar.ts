/** A snapshot of long work, in the units the bar shows. Totals may be unknown (null). */
export interface ProgressSnapshot {
  filesDone: number;
  filesTotal: number | null;
  bytesDone: number;
  bytesTotal: number | null;
}

export interface ProgressView {
  update(p: ProgressSnapshot): void;
  done(p: ProgressSnapshot): void;
}

const MB = 1024 * 1024;

function fmtMB(bytes: number): string {
  return `${(bytes / MB).toFixed(1)} MB`;
}

function fmtDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
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
  const etaSeconds = fraction !== null && fraction > 0 ? (secs / fraction) * (1 - fraction) : null;
  return { mbPerSec, etaSeconds, fraction };
}

export function progressLine(p: ProgressSnapshot, elapsedMs: number): string {
  const f = progressFigures(p, elapsedMs);
  const files = p.filesTotal === null ? `${p.filesDone} files` : `${p.filesDone}/${p.filesTotal} files`;
  const bytes = p.bytesTotal === null ? fmtMB(p.bytesDone) : `${fmtMB(p.bytesDone)}/${fmtMB(p.bytesTotal)}`;
  const pct = f.fraction === null ? '' : `${(f.fraction * 100).toFixed(0)}% `;
  const eta = f.etaSeconds === null ? '' : ` ETA ${fmtDuration(f.etaSeconds)}`;
  return `${pct}${files}, ${bytes}, ${f.mbPerSec.toFixed(1)} MB/s${eta}`;
}

/**
 * On a terminal: one bar redrawn in place (at most ~10 times a second). Elsewhere: a plain line
 * per update, at most one a second, so logs stay readable.
 */
export function progressView(
  write: (s: string) => void,
  tty: boolean,
  columns: number,
  now: () => number = Date.now,
): ProgressView {
  const start = now();
  let lastDraw = -Infinity;
  const minGap = tty ? 100 : 1000;
  const draw = (p: ProgressSnapshot, final: boolean): void => {
    const t = now();
    if (!final && t - lastDraw < minGap) return;
    lastDraw = t;
    const text = progressLine(p, t - start);
    if (!tty) {
      write(`index: ${text}\n`);
      return;
    }
    const f = progressFigures(p, t - start).fraction;
    const barWidth = Math.max(10, Math.min(40, columns - text.length - 4));
    const filled = f === null ? 0 : Math.round(f * barWidth);
    const bar = f === null ? '·'.repeat(barWidth) : '█'.repeat(filled) + '░'.repeat(barWidth - filled);
    write(`\r\u001b[2K${bar} ${text}${final ? '\n' : ''}`);
  };
  return { update: (p) => draw(p, false), done: (p) => draw(p, true) };
}
