import { ThreadStoreError } from '@skein/thread-store-api';

/**
 * How many history streams (LoadHistory, ReadThread) one client has open at a time. A server
 * serves a bounded number of them (`maxConcurrentStreams`) and refuses the rest; a client that
 * starts more than its share waits here for its turn, first come first served, instead of being
 * refused. A wait longer than `timeoutMs` (streams held open by a caller that stopped reading
 * them) ends in `resource_exhausted` rather than a hang.
 */
export class StreamSlots {
  private open = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly limit: number) {}

  /** A free slot (waiting for one, at most `timeoutMs`); call the returned function to give it back. */
  async acquire(timeoutMs: number, method: string): Promise<() => void> {
    if (this.open < this.limit) this.open++;
    else
      await new Promise<void>((resolve, reject) => {
        const take = (): void => {
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          const at = this.waiting.indexOf(take);
          if (at >= 0) this.waiting.splice(at, 1);
          reject(
            new ThreadStoreError(
              'resource_exhausted',
              `${method}: this client already has ${this.limit} history streams open (maxConcurrentHistoryStreams) and none ended within ${timeoutMs} ms; read or close one first`,
            ),
          );
        }, timeoutMs);
        this.waiting.push(take);
      });
    let given = false;
    return () => {
      if (given) return;
      given = true;
      // The slot passes straight to the next caller waiting, if any.
      const next = this.waiting.shift();
      if (next) next();
      else this.open--;
    };
  }
}
