import { describe, expect, it } from 'vitest';
import { Foreground } from '../src/internal/foreground.js';

/** Whether `p` has settled after the event loop has had a few turns. */
async function settled(p: Promise<void>, turns = 5): Promise<boolean> {
  let done = false;
  void p.then(() => (done = true));
  for (let i = 0; i < turns; i++) await new Promise<void>((r) => setImmediate(r));
  return done;
}

describe('Foreground: background work gives way to calls in progress', () => {
  it('takes a turn and goes on at once when no call is in progress', async () => {
    const fg = new Foreground();
    expect(await settled(fg.giveWay())).toBe(true);
  });

  it('waits while a call is in progress and goes on when the last one ends', async () => {
    const fg = new Foreground();
    const leaveA = fg.enter();
    const leaveB = fg.enter();
    const way = fg.giveWay();
    expect(await settled(way)).toBe(false);
    leaveA();
    leaveA(); // leaving twice counts once
    expect(await settled(way)).toBe(false);
    leaveB();
    expect(await settled(way)).toBe(true);
  });

  it('is never starved: a call that never ends holds background work back for a bounded time', async () => {
    const fg = new Foreground();
    fg.enter();
    const t0 = performance.now();
    await fg.giveWay();
    const waited = performance.now() - t0;
    expect(waited).toBeGreaterThanOrEqual(90);
    expect(waited).toBeLessThan(5_000);
  });
});
