import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { isThreadStoreError, type ThreadId, type ThreadStore } from '@skein/thread-store-api';
import { describe, expect, it } from 'vitest';
import { runCodexExec } from '../src/harness.js';
import { useCodexFixture } from './support/codex-fixture.js';
import { turnItems, writeSkeinThread } from './support/skein-writer.js';

/**
 * Codex rounds; Skein writers keep competing during each. At least CODEX_ROUNDS, more while the
 * total (Skein attempts + Codex runs) is under MIN_TOTAL_ROUNDS (a busy machine gives fewer Skein
 * attempts per Codex run), never more than MAX_CODEX_ROUNDS, so CI time stays bounded.
 */
const CODEX_ROUNDS = 40;
const MAX_CODEX_ROUNDS = 160;
const MIN_TOTAL_ROUNDS = 200;

/** A small deterministic generator (mulberry32), so pauses differ between attempts but not runs. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Line {
  type: string;
  payload: Record<string, unknown>;
}

/** The text of a paginated `item_completed` UserMessage / AgentMessage line, else null. */
function completedItemText(p: Record<string, unknown>): { kind: string; text: string } | null {
  if (p.type !== 'item_completed' || typeof p.item !== 'object' || p.item === null) return null;
  const item = p.item as { type?: unknown; content?: unknown };
  if (typeof item.type !== 'string' || !Array.isArray(item.content)) return null;
  const text = (item.content as { text?: unknown }[]).map((c) => (typeof c.text === 'string' ? c.text : '')).join('');
  return { kind: item.type, text };
}

/** The prompt of a user-message event: legacy `user_message` or paginated `item_completed` UserMessage. */
function userPrompt(line: Line): string | null {
  if (line.type !== 'event_msg') return null;
  const p = line.payload;
  if (p.type === 'user_message' && typeof p.message === 'string') return p.message;
  const done = completedItemText(p);
  return done?.kind === 'UserMessage' ? done.text : null;
}

/** The writer a line belongs to: a Skein attempt's marker, or a Codex turn id. */
function skeinMarker(line: Line): string | null {
  const p = line.payload;
  const prompt = userPrompt(line);
  if (prompt !== null && prompt.startsWith('skein ')) return prompt;
  const done = completedItemText(p);
  if (done?.kind === 'AgentMessage' && /^echo: skein /.test(done.text)) return done.text.replace(/^echo: /, '');
  const content = p.type === 'message' && Array.isArray(p.content) ? (p.content as { text?: unknown }[]) : [];
  for (const c of content)
    if (typeof c.text === 'string' && /^(echo: )?skein /.test(c.text)) return c.text.replace(/^echo: /, '');
  if (typeof p.message === 'string' && /^echo: skein /.test(p.message)) return p.message.replace(/^echo: /, '');
  if (typeof p.last_agent_message === 'string' && /^echo: skein /.test(p.last_agent_message))
    return p.last_agent_message.replace(/^echo: /, '');
  return null;
}

describe.each(['paginated', 'legacy'] as const)(
  'Skein writers and codex exec resume competing for one %s thread',
  (historyMode) => {
    // Two stores: Skein also competes with itself (flock excludes open files, not processes).
    const fx = useCodexFixture(2);

    it('one writer at a time, no torn or interleaved lines, every acknowledged turn present', async () => {
      // A Skein-created thread in this format, which both programs append to.
      const { home, cwd, stores } = fx;
      const id: ThreadId = await writeSkeinThread(stores[0]!, { cwd, historyMode, turns: [{ prompt: 'stress base' }] });
      const rand = seeded(169);
      const skeinAcked: string[] = [];
      const skeinErrors: unknown[] = [];
      let skeinConflicts = 0;
      const codexAcked: string[] = [];
      const codexRefused: string[] = [];
      const codexOther: string[] = [];
      let attempts = 0;
      let live = 0;
      let maxLive = 0;

      const skeinLoop = async (store: ThreadStore, name: string, done: () => boolean): Promise<void> => {
        while (!done()) {
          const marker = `skein ${name} ${attempts++}`;
          try {
            await store.resumeThread({ threadId: id });
          } catch (e) {
            if (isThreadStoreError(e) && e.code === 'conflict') skeinConflicts++;
            else skeinErrors.push(e);
            await sleep(rand() * 40);
            continue;
          }
          live++;
          maxLive = Math.max(maxLive, live);
          try {
            await store.appendItems({ threadId: id, items: turnItems(cwd, { prompt: marker }) });
            await sleep(rand() * 60); // hold the thread a while, so Codex runs into it
            await store.flushThread(id);
            skeinAcked.push(marker);
          } catch (e) {
            skeinErrors.push(e);
          } finally {
            live--;
            await store.shutdownThread(id).catch((e: unknown) => skeinErrors.push(e));
          }
          await sleep(50 + rand() * 200); // and leave gaps, so Codex wins some rounds too
        }
      };

      let codexRuns = 0;
      for (
        let round = 0;
        round < MAX_CODEX_ROUNDS && (round < CODEX_ROUNDS || attempts + round < MIN_TOTAL_ROUNDS);
        round++
      ) {
        codexRuns++;
        let codexDone = false;
        const prompt = `codex round ${round}`;
        const codex = runCodexExec(home, ['resume', id, prompt], { cwd }).then((run) => {
          codexDone = true;
          if (run.code === 0 && !run.turnFailed) codexAcked.push(prompt);
          else if (run.stderr.includes('already has an active writer')) codexRefused.push(prompt);
          else codexOther.push(`${prompt}: exit ${run.code} ${run.stderr.slice(-500)}`);
        });
        await Promise.all([
          codex,
          skeinLoop(stores[0]!, 'a', () => codexDone),
          skeinLoop(stores[1]!, 'b', () => codexDone),
        ]);
      }

      // Only the two expected outcomes for a loser.
      expect(skeinErrors).toEqual([]);
      expect(codexOther).toEqual([]);
      // Never two Skein writers at once (Codex is checked through the file below).
      expect(maxLive).toBe(1);
      const total = attempts + codexRuns;
      expect(total).toBeGreaterThanOrEqual(MIN_TOTAL_ROUNDS);
      expect(codexAcked.length).toBeGreaterThan(0);
      expect(skeinAcked.length).toBeGreaterThan(0);
      expect(skeinConflicts).toBeGreaterThan(0);

      const file = (await stores[0]!.readThread({ threadId: id })).rolloutPath!;
      const raw = await readFile(file, 'utf8');
      expect(raw.endsWith('\n')).toBe(true);
      const lines = raw
        .slice(0, -1)
        .split('\n')
        .map((l) => JSON.parse(l) as Line & { ordinal?: unknown }); // no torn line
      // Paginated: both programs continued one ordinal sequence, 0…N with no gap or repeat (Skein's
      // metadata patch lines carry no ordinal, by design: Codex skips their type).
      if (historyMode === 'paginated') {
        const numbered = lines.filter((l) => l.type !== 'skein_metadata_patch');
        expect(numbered.map((l) => l.ordinal)).toEqual(numbered.map((_, i) => i));
      }

      // The file is a sequence of whole turns (task_started … task_complete), each written by one
      // writer: one Skein attempt's marker or one Codex prompt, never both, never two.
      const seen = new Map<string, number>();
      let block: { skein: Set<string>; codex: Set<string> } | null = null;
      let blocks = 0;
      for (const line of lines) {
        const p = line.payload;
        const isEvent = line.type === 'event_msg';
        if (isEvent && p.type === 'task_started') {
          expect(block).toBeNull();
          block = { skein: new Set(), codex: new Set() };
        }
        const marker = skeinMarker(line);
        if (marker !== null) {
          expect(block).not.toBeNull();
          block?.skein.add(marker);
          seen.set(marker, (seen.get(marker) ?? 0) + 1);
        }
        const prompt = userPrompt(line);
        if (prompt !== null && prompt.startsWith('codex round')) block?.codex.add(prompt);
        if (isEvent && (p.type === 'task_complete' || p.type === 'turn_aborted') && block) {
          expect(block.skein.size + block.codex.size).toBeLessThanOrEqual(1);
          block = null;
          blocks++;
        }
      }
      expect(block).toBeNull();
      expect(blocks).toBeGreaterThanOrEqual(skeinAcked.length + codexAcked.length);
      // Every acknowledged Skein turn is there, whole: as many lines carry its text as it wrote.
      const perTurn = turnItems(cwd, { prompt: 'skein x 0' }).filter((i) => skeinMarker(i as Line) !== null).length;
      expect(perTurn).toBeGreaterThan(1);
      for (const m of skeinAcked) expect(seen.get(m)).toBe(perTurn);
      // Every Codex run that succeeded recorded its prompt once; refused runs wrote nothing.
      const codexPrompts = lines.map(userPrompt).filter((m): m is string => m !== null && m.startsWith('codex round'));
      expect(codexPrompts.sort()).toEqual([...codexAcked].sort());
      for (const r of codexRefused) expect(codexPrompts).not.toContain(r);

      // Every lock was released and removed.
      expect(await readdir(path.join(home.path, 'thread-writer-locks'))).toEqual(['.coordination.lock']);
      console.log(
        `lock stress (${historyMode}): ${total} rounds (${attempts} Skein attempts: ${skeinAcked.length} wrote, ${skeinConflicts} conflict; ` +
          `${codexRuns} codex runs: ${codexAcked.length} wrote, ${codexRefused.length} refused)`,
      );
    }, 420_000);
  },
);
