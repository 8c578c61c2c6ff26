import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StoredTurn, ThreadId, ThreadStore } from '@skein/thread-store-api';
import { LocalThreadStore } from '@skein/thread-store-local';
import { RemoteThreadStore } from '@skein/thread-store-remote';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, ok, requireBuiltBinary, serve } from './cli-harness.js';
import type { Server } from './cli-harness.js';
import { copyHome, makeFixtureHome, rolloutLines } from './fixture-home.js';
import type { FixtureThread } from './fixture-home.js';

/**
 * `skein threads fork` of a legacy thread written by an older Codex, whose turns are marked only
 * by user messages (no task_started/task_complete, no history_mode), on a local home and through
 * a server: the fork is a legacy copy, so its turn pages are the parent's turns up to the fork
 * point, as the page `skein serve` serves shows them.
 */
const env = cleanEnv();
const OLDER: FixtureThread = {
  id: '0193eeee-6666-7000-8000-000000000006',
  created: '2026-11-25T10:00:00.000Z',
  provider: 'openai',
  source: 'cli',
  cwd: '/proj/older',
  model: 'gpt-5-codex',
  turns: [
    ['what does the lexer do', 'It turns text into tokens.'],
    ['and the parser', 'It builds a tree from the tokens.'],
    ['write a test for both', 'Added tests/parse.test.ts.'],
  ],
};

/** The thread's rollout as a Codex from before task events wrote it. */
function olderCodexLines(t: FixtureThread): string {
  return (
    rolloutLines(t)
      .filter((l) => {
        const type = (l.payload as { type?: unknown }).type;
        return l.type !== 'turn_context' && type !== 'task_started' && type !== 'task_complete';
      })
      .map((l) => {
        if (l.type !== 'session_meta') return l;
        const { history_mode: _mode, ...payload } = l.payload as Record<string, unknown>;
        return { ...l, payload };
      })
      .map((l) => JSON.stringify(l))
      .join('\n') + '\n'
  );
}

let localHome: string;
let server: Server;
let local: ThreadStore;
let remote: ThreadStore;

beforeAll(async () => {
  requireBuiltBinary();
  const fixture = makeFixtureHome();
  const dir = join(fixture, 'sessions', '2026', '11', '25');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `rollout-2026-11-25T10-00-00-${OLDER.id}.jsonl`), olderCodexLines(OLDER));
  localHome = copyHome(fixture);
  server = await serve(copyHome(fixture), [], env);
  local = new LocalThreadStore({ home: localHome, watch: false });
  remote = new RemoteThreadStore({ baseUrl: server.url });
});

afterAll(async () => {
  await local?.close();
  await remote?.close();
  expect((await server?.stop('SIGTERM'))?.code).toBe(0);
});

async function turnsOf(store: ThreadStore, threadId: ThreadId): Promise<StoredTurn[]> {
  const page = await store.listTurns({ threadId, pageSize: 100, sortDirection: 'asc', itemsView: 'full' });
  return page.turns;
}

/** A turn as a copy keeps it: the copied lines are written anew, and implicit turn ids name positions. */
function kept(turns: StoredTurn[]): unknown[] {
  return turns.map((t) => ({ status: t.status, items: t.items.map((i) => i.item) }));
}

describe('skein threads fork of a legacy thread whose turns start at user messages', () => {
  it.each([
    ['locally', () => ['--home', localHome], () => local],
    ['through a server', () => ['--endpoint', server.url], () => remote],
  ] as const)('keeps the turns up to the fork point %s', async (_where, where, store) => {
    const parentTurns = await turnsOf(store(), OLDER.id as ThreadId);
    expect(parentTurns.map((t) => t.items.find((i) => i.item.type === 'userMessage')?.item.content)).toEqual(
      OLDER.turns.map(([user]) => [{ type: 'text', text: user, text_elements: [] }]),
    );
    for (const turn of [1, 2, 3]) {
      const forked = JSON.parse(
        await ok(['threads', 'fork', OLDER.id, '--turn', String(turn), '--json', ...where()], { env }),
      ) as { id: ThreadId; forkedFromId: string; historyMode: string };
      expect(forked).toMatchObject({ forkedFromId: OLDER.id, historyMode: 'legacy' });
      expect(kept(await turnsOf(store(), forked.id))).toEqual(kept(parentTurns.slice(0, turn)));
      const shown = JSON.parse(await ok(['threads', 'show', forked.id, '--json', ...where()], { env })) as {
        messages: { role: string; text: string }[];
      };
      expect(shown.messages.filter((m) => m.role === 'user').map((m) => m.text)).toEqual(
        OLDER.turns.slice(0, turn).map(([user]) => user),
      );
    }
  });
});
