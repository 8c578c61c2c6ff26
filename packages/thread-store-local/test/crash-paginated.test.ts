import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentMessageText, collectHistory, newThreadId } from '@skein/thread-store-api';
import { LocalThreadStore } from '../src/index.js';
import { seeded, spawnChild } from './helpers/proc.js';

const home = mkdtempSync(path.join(tmpdir(), 'skein-crash-paginated-'));
beforeAll(() => {
  // The child writer (helpers/child.mjs) reads its format from here.
  process.env.SKEIN_HISTORY_MODE = 'paginated';
});
afterAll(() => {
  delete process.env.SKEIN_HISTORY_MODE;
  rmSync(home, { recursive: true, force: true });
});

/** The rollout files in the home. */
function rolloutFiles(): string[] {
  const found: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.jsonl')) found.push(p);
    }
  };
  try {
    walk(path.join(home, 'sessions'));
  } catch {
    // nothing written yet
  }
  return found;
}

const threadId = newThreadId();

async function sequences(): Promise<number[]> {
  const store = new LocalThreadStore({ home });
  try {
    const t = await store.readThread({ threadId, includeHistory: true });
    const seqs: number[] = [];
    for (const item of await collectHistory(t.history)) {
      const text = agentMessageText(item);
      if (text !== undefined) seqs.push(Number(/^item-(\d+)/.exec(text)?.[1]));
    }
    return seqs;
  } finally {
    await store.close();
  }
}

describe('crash safety of a paginated writer', () => {
  it('SIGKILL at random points: flushed items survive, torn lines stay put, ordinals never repeat or skip', async () => {
    const rand = seeded(20261201);
    let next = 0;
    for (let round = 0; round < 12; round++) {
      const child = spawnChild([home, 'loop', threadId, String(next), String(500 + Math.floor(rand() * 8_000))]);
      expect(await child.next()).toEqual({ ready: true });
      // Kill points follow the child's progress, not the clock (a loaded machine slows the child
      // down): after 1–3 acknowledged flushes, then 0–40 ms into the next write.
      const flushesBeforeKill = 1 + Math.floor(rand() * 3);
      for (let i = 0; i < flushesBeforeKill; i++) await child.next();
      await new Promise((r) => setTimeout(r, Math.floor(rand() * 40)));
      child.proc.kill('SIGKILL');
      await child.exited;
      const flushed = child.messages.filter((m) => typeof m.flushed === 'number').map((m) => m.flushed as number);
      const lastFlushed = flushed.length > 0 ? Math.max(...flushed) : next - 1;
      const files = rolloutFiles();
      expect(files).toHaveLength(1);
      const file = files[0]!;
      // Every record that parses carries the next ordinal: a torn line (Codex leaves it in place)
      // never takes one, as the next writer reuses it.
      const ordinals: number[] = [];
      for (const line of readFileSync(file, 'utf8').split('\n')) {
        try {
          const r = JSON.parse(line) as { ordinal?: number };
          if (typeof r.ordinal === 'number') ordinals.push(r.ordinal);
        } catch {
          // torn
        }
      }
      expect(ordinals).toEqual(ordinals.map((_, i) => i));

      const seqs = await sequences();
      expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i));
      expect(seqs.length - 1).toBeGreaterThanOrEqual(lastFlushed);
      next = seqs.length;
    }
    expect(next).toBeGreaterThan(10);
  }, 120_000);
});
