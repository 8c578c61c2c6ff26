import { findOnPath } from './find-on-path.js';
import type { Output } from './output.js';

/** An Output that keeps what is written, with the terminal's styling, for a pager. */
function bufferOf(o: Output): Output & { text(): string } {
  const chunks: string[] = [];
  return {
    ...o,
    out: (text) => void chunks.push(text),
    err: o.err,
    line: (text = '') => void chunks.push(`${text}\n`),
    json: (value) => void chunks.push(`${JSON.stringify(value, null, 2)}\n`),
    text: () => chunks.join(''),
  };
}

/**
 * `$SKEIN_PAGER`, else `$PAGER`, else `less` when it is installed; empty or `cat` means none
 * (git's rules).
 */
function pagerCommand(env: NodeJS.ProcessEnv): string | null {
  const cmd = env.SKEIN_PAGER ?? env.PAGER ?? (findOnPath('less', env) !== null ? 'less' : '');
  return cmd.trim() === '' || cmd.trim() === 'cat' ? null : cmd;
}

/**
 * Renders long output through a pager on a terminal, like git: `less -FRX` by default (quits when
 * it fits one screen, keeps colors, leaves the text on screen). Piped output is never paged.
 */
export async function paged(o: Output, render: (out: Output) => void, enabled = true): Promise<void> {
  const cmd = enabled && o.isTTY ? pagerCommand(process.env) : null;
  if (cmd === null) {
    render(o);
    return;
  }
  const buf = bufferOf(o);
  render(buf);
  const env = { ...process.env, LESS: process.env.LESS ?? 'FRX', LV: process.env.LV ?? '-c' };
  // child_process loads only when a pager runs (a terminal), not for piped or JSON output.
  const { spawn } = await import('node:child_process');
  const child = spawn(cmd, { shell: true, stdio: ['pipe', 'inherit', 'inherit'], env });
  const started = await new Promise<boolean>((resolve) => {
    child.once('spawn', () => resolve(true));
    child.once('error', () => resolve(false));
  });
  if (!started) {
    o.out(buf.text());
    return;
  }
  // A pager quit early (q) closes its stdin: that is not an error.
  child.stdin.on('error', () => {});
  child.stdin.end(buf.text());
  // Ctrl-C belongs to the pager while it runs.
  const ignore = (): void => {};
  process.on('SIGINT', ignore);
  try {
    await new Promise<void>((resolve) => child.once('close', () => resolve()));
  } finally {
    process.off('SIGINT', ignore);
  }
}
