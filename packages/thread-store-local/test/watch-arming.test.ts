import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { HomeLayout } from '../src/internal/paths.js';
import { ARM_DELAY_MS, HomeWatcher } from '../src/internal/watcher.js';
import { tmpHome } from './helpers/home.js';

const turns = async (n: number): Promise<void> => {
  for (let i = 0; i < n; i++) await new Promise<void>((r) => setImmediate(r));
};
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A home with a few dated folders, and the folders a scan of it sees. */
function home(): { layout: HomeLayout; dirs: string[] } {
  const h = tmpHome();
  const rels = ['sessions', 'sessions/2025', 'sessions/2025/10', 'sessions/2025/10/01', 'sessions/2025/10/02'];
  for (const r of rels) mkdirSync(path.join(h, r), { recursive: true });
  return { layout: new HomeLayout(h), dirs: rels.map((r) => path.join(h, r)) };
}

describe('arming the watches of a just-opened store', () => {
  it('a store that scans once and closes adds no watch', async () => {
    const { layout, dirs } = home();
    const w = new HomeWatcher(layout);
    w.armLater(dirs);
    await turns(5);
    expect(w.unarmed).toBe(true);
    w.close();
    await sleep(ARM_DELAY_MS * 2);
    expect(w.unarmed).toBe(true);
    expect(w.arming).toBe(false);
  });

  it('after one scan, the watches are added a moment later', async () => {
    const { layout, dirs } = home();
    const w = new HomeWatcher(layout);
    try {
      w.armLater(dirs);
      expect(w.unarmed).toBe(true);
      while (w.unarmed || w.arming) await sleep(ARM_DELAY_MS / 5);
      // Armed, and the next call scans once more (inline) before the watch vouches.
      expect(w.healthy).toBe(false);
      w.beginSweep();
      for (const d of dirs) w.visitDir(d);
      w.endSweep();
      expect(w.healthy).toBe(true);
    } finally {
      w.close();
    }
  });

  it('a second scan before then arms them at once', async () => {
    const { layout, dirs } = home();
    const w = new HomeWatcher(layout);
    try {
      w.armLater(dirs);
      w.armLater(dirs);
      await turns(3);
      expect(w.unarmed).toBe(false);
      expect(w.arming).toBe(false);
    } finally {
      w.close();
    }
  });
});
