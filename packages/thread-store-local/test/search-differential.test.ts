import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { agentMessageText, userMessageText } from '@skein/thread-store-api';
import type { RolloutItem, ThreadStore } from '@skein/thread-store-api';
import { openStore, tmpHome, writeRollout } from './helpers/home.js';
import { seeded } from './helpers/proc.js';

/**
 * Content search against a brute-force scan of the rollout files: every thread whose messages
 * (in any line, including a paginated fork's inherited prefix) contain the term, for random
 * terms of 1 to 6 characters on a generated home.
 */

const THREADS = 300;
const SEED = 20261201;
/** Letters in both cases, digits, LIKE and FTS5 syntax, and characters whose case folding is special. */
const ALPHABET = [
  ...'abcdefghijklmnopqrstuvwxyz',
  ...'ABCDEFGHIJKLMNOPQRSTUVWXYZ',
  ...'0123456789 .,_%\\"\'*-:()',
  ...'éÉüÜßİıΣσςKſΩ日本語ქᲥ',
];
const WORDS = ['fl', 'flake', 'MOCK', 'mock', 'oc', 'test', 'loader', 'cache', 'the', 'İstanbul', 'ΟΔΟΣ', 'config'];

const idOf = (n: number): string => `0b000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;

interface Generated {
  home: string;
  /** Every generated file: its thread, path and (for a paginated fork) its base. */
  files: { id: string; abs: string; base: { id: string; end: number } | null }[];
}

function generateHome(): Generated {
  const home = tmpHome();
  const r = seeded(SEED);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
  const text = (): string => {
    const n = 1 + Math.floor(r() * 8);
    const out: string[] = [];
    for (let i = 0; i < n; i++) {
      if (r() < 0.5) out.push(pick(WORDS));
      else out.push(Array.from({ length: 1 + Math.floor(r() * 6) }, () => pick(ALPHABET)).join(''));
    }
    return out.join(' ');
  };
  const files: Generated['files'] = [];
  const sizes = new Map<string, number[]>();
  for (let n = 0; n < THREADS; n++) {
    const id = idOf(n);
    const day = String(1 + (n % 28)).padStart(2, '0');
    const ts = `2026-02-${day}T10:00:00.${String(n % 1000).padStart(3, '0')}Z`;
    const parent = n > 10 && r() < 0.15 ? files[Math.floor(r() * files.length)] : undefined;
    const lines: object[] = [];
    let base: { id: string; end: number } | null = null;
    const payload: Record<string, unknown> = {
      id,
      timestamp: ts,
      cwd: '/w',
      originator: 'codex_cli_rs',
      cli_version: '0.169.0',
      source: 'cli',
      model_provider: 'openai',
    };
    if (parent) {
      // Cut the parent after one of its lines.
      const ends = sizes.get(parent.id) ?? [];
      const end = ends[1 + Math.floor(r() * (ends.length - 1))] ?? 0;
      base = { id: parent.id, end };
      Object.assign(payload, {
        forked_from_id: parent.id,
        history_mode: 'paginated',
        history_base: { thread_id: parent.id, end_ordinal_exclusive: 1, end_byte_offset: end },
      });
    }
    lines.push({ timestamp: ts, type: 'session_meta', payload });
    const messages = 5 + Math.floor(r() * 40);
    for (let i = 0; i < messages; i++) {
      // A user message first: listings show only threads with a preview.
      const kind = i === 0 ? 0 : r();
      if (kind < 0.4)
        lines.push({ timestamp: ts, type: 'event_msg', payload: { type: 'user_message', message: text() } });
      else if (kind < 0.8)
        lines.push({ timestamp: ts, type: 'event_msg', payload: { type: 'agent_message', message: text() } });
      else if (kind < 0.9)
        lines.push({
          timestamp: ts,
          type: 'event_msg',
          payload: {
            type: 'item_completed',
            thread_id: id,
            turn_id: 't',
            item: { type: 'AgentMessage', id: `a${i}`, content: [{ type: 'Text', text: text() }] },
          },
        });
      // Not messages: their text must not be found.
      else lines.push({ timestamp: ts, type: 'response_item', payload: { type: 'reasoning', summary: [text()] } });
    }
    const rel = `sessions/2026/02/${day}/rollout-2026-02-${day}T10-00-00-${id}.jsonl`;
    const abs = writeRollout(home, rel, lines);
    let at = 0;
    sizes.set(
      id,
      lines.map((l) => (at += Buffer.byteLength(JSON.stringify(l)) + 1)),
    );
    files.push({ id, abs, base });
  }
  return { home, files };
}

/** Messages of a file up to `end` bytes, read with nothing but JSON.parse. */
function messagesOf(abs: string, end = Infinity): string[] {
  const out: string[] = [];
  let at = 0;
  for (const raw of readFileSync(abs, 'utf8').split('\n')) {
    at += Buffer.byteLength(raw) + 1;
    if (at > end) break;
    if (raw === '') continue;
    const item = JSON.parse(raw) as RolloutItem;
    const t = userMessageText(item) ?? agentMessageText(item);
    if (t !== undefined) out.push(t);
  }
  return out;
}

function oracle(g: Generated): (term: string) => string[] {
  const byId = new Map(g.files.map((f) => [f.id, f]));
  const view = new Map<string, string[]>();
  const viewOf = (id: string): string[] => {
    const cached = view.get(id);
    if (cached) return cached;
    const f = byId.get(id);
    if (!f) return [];
    const inherited = f.base ? messagesOfView(f.base.id, f.base.end) : [];
    const all = [...inherited, ...messagesOf(f.abs)];
    view.set(id, all);
    return all;
  };
  // A fork's view of its parent: the parent's own inherited prefix, then its lines up to the cut.
  const messagesOfView = (id: string, end: number): string[] => {
    const f = byId.get(id);
    if (!f) return [];
    return [...(f.base ? messagesOfView(f.base.id, f.base.end) : []), ...messagesOf(f.abs, end)];
  };
  return (term) => {
    const lower = term.toLowerCase();
    return g.files
      .filter((f) => viewOf(f.id).some((m) => m.toLowerCase().includes(lower)))
      .map((f) => f.id)
      .sort();
  };
}

async function searchAll(store: ThreadStore, term: string): Promise<{ ids: string[]; snippets: string[] }> {
  const ids: string[] = [];
  const snippets: string[] = [];
  let cursor: string | null = null;
  do {
    const page = await store.searchThreads({ searchTerm: term, pageSize: 97, ...(cursor ? { cursor } : {}) });
    for (const r of page.items) {
      ids.push(r.thread.threadId);
      snippets.push(r.snippet);
    }
    cursor = page.nextCursor;
  } while (cursor);
  return { ids: ids.sort(), snippets };
}

/** Terms: substrings of message text (so most have hits) and random strings of the alphabet. */
function terms(g: Generated): string[] {
  const corpus = g.files.slice(0, 40).flatMap((f) => messagesOf(f.abs));
  const fromText = fc
    .tuple(fc.nat(corpus.length - 1), fc.nat(400), fc.integer({ min: 1, max: 6 }))
    .map(([i, at, len]) => {
      const s = corpus[i] ?? 'x';
      const from = at % s.length;
      return s.slice(from, from + len);
    });
  const random = fc.string({ unit: fc.constantFrom(...ALPHABET), minLength: 1, maxLength: 6 });
  return fc
    .sample(fc.oneof(fromText, random), { seed: SEED, numRuns: 120 })
    .filter((t) => t.trim() !== '')
    .concat(['fl', 'OC', 'MOCK', 'f', 'İ', 'i̇', 'σ', 'ς', 'k', 'ſ', '%', '_', '\\', '"', 'ქ']);
}

describe('content search never misses', () => {
  it('finds exactly the threads a scan of the rollouts finds, for terms of 1 to 6 characters', async () => {
    const g = generateHome();
    const expected = oracle(g);
    const store = openStore(g.home);
    let withHits = 0;
    for (const term of terms(g)) {
      const want = expected(term);
      const got = await searchAll(store, term);
      expect(got.ids, `term ${JSON.stringify(term)}`).toEqual(want);
      // Snippets show the match (checked for plain terms: case mapping can change lengths).
      if (/^[\x21-\x7e]+( [\x21-\x7e]+)*$/.test(term))
        for (const s of got.snippets)
          expect(s.toLowerCase(), `snippet for ${JSON.stringify(term)}`).toContain(term.toLowerCase());
      if (want.length > 0) withHits += 1;
    }
    // The terms exercise both outcomes, and forks were generated.
    expect(withHits).toBeGreaterThan(50);
    expect(g.files.filter((f) => f.base).length).toBeGreaterThan(10);
  }, 120_000);
});
