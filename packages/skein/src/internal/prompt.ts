import { Interrupted, UsageError } from './cli-error.js';
import type { Output } from './output.js';

/** A person is typing: both stdin and stderr (where the question goes) are terminals. */
export function canAsk(o: Output): boolean {
  return process.stdin.isTTY === true && o.errIsTTY;
}

/** Asks yes/no on the terminal; Ctrl-C stops the command (exit 130), Ctrl-D answers no. */
export async function confirm(question: string): Promise<boolean> {
  // readline loads only when a command asks: most commands never do.
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return await new Promise<boolean>((resolve, reject) => {
      rl.on('SIGINT', () => reject(new Interrupted()));
      rl.on('close', () => resolve(false));
      rl.question(`${question} [y/N] `).then(
        (answer) => resolve(/^y(es)?$/i.test(answer.trim())),
        () => resolve(false),
      );
    });
  } finally {
    rl.close();
  }
}

/**
 * What a destructive command does without --yes: ask a person, refuse a script (like gh: a
 * pipe on stdin is no consent). Resolves false when the person says no.
 */
export async function confirmOrRefuse(
  o: Output,
  yes: boolean | undefined,
  question: string,
  what: string,
): Promise<boolean> {
  if (yes) return true;
  if (!canAsk(o)) throw new UsageError(`${what} needs --yes when stdin is not a terminal`);
  return confirm(question);
}
