import { colorWanted, makeStyle } from './color.js';
import type { Style } from './color.js';

/**
 * Where a command writes. Tables, color and progress bars are for terminals only; piped output
 * is plain lines so scripts and tests see the same bytes whatever the store is.
 */
export interface Output {
  readonly isTTY: boolean;
  readonly errIsTTY: boolean;
  readonly style: Style;
  readonly errStyle: Style;
  readonly columns: number;
  out(text: string): void;
  err(text: string): void;
  /** Writes one line to stdout. */
  line(text?: string): void;
  /** Pretty JSON on stdout, one document. */
  json(value: unknown): void;
}

export function processOutput(colorFlag: boolean | undefined): Output {
  const stdout = process.stdout;
  const stderr = process.stderr;
  const isTTY = stdout.isTTY === true;
  const errIsTTY = stderr.isTTY === true;
  return {
    isTTY,
    errIsTTY,
    style: makeStyle(colorWanted(stdout, process.env, colorFlag)),
    errStyle: makeStyle(colorWanted(stderr, process.env, colorFlag)),
    columns: isTTY && stdout.columns > 0 ? stdout.columns : 100,
    out: (text) => void stdout.write(text),
    err: (text) => void stderr.write(text),
    line: (text = '') => void stdout.write(`${text}\n`),
    json: (value) => void stdout.write(`${JSON.stringify(value, null, 2)}\n`),
  };
}
