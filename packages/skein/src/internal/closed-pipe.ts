/**
 * `skein threads export … | head -1`: once the reader is gone, writing more is pointless and
 * Node would die with an EPIPE stack trace. End quietly instead, as `git log | head` does.
 */
export function endQuietlyOnClosedPipe(exit: (code: number) => void = (c) => process.exit(c)): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') exit(0);
      else throw err;
    });
  }
}
