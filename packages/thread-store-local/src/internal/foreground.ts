import { yieldTurn } from './index-context.js';

/** How long background work waits for calls in progress before it takes a turn anyway. */
const MAX_GIVE_WAY_MS = 100;

/**
 * The store's calls in progress, which background work (the safety-net sweep) gives way to: a
 * listing that arrives during a sweep waits for at most the sweep's current step, not for a step
 * at each of its own awaits. The sweep is never starved: it takes a turn after
 * MAX_GIVE_WAY_MS even when calls keep coming.
 */
export class Foreground {
  private calls = 0;
  private waiting: (() => void)[] = [];

  /** Counts a call in progress until the returned function is called. */
  enter(): () => void {
    this.calls++;
    let left = false;
    return () => {
      if (left) return;
      left = true;
      if (--this.calls > 0) return;
      const waiting = this.waiting;
      this.waiting = [];
      for (const resume of waiting) resume();
    };
  }

  /** A turn of the event loop, then a wait while calls are in progress (bounded). */
  readonly giveWay = async (): Promise<void> => {
    await yieldTurn();
    if (this.calls === 0) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, MAX_GIVE_WAY_MS);
      this.waiting.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  };
}
