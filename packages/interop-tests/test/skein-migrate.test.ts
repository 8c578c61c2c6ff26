import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import type { Dirent } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ALL_SOURCE_KINDS,
  AppServerClient,
  assertRunOk,
  defaultReply,
  makeCodexHome,
  runCodexExec,
  startMockResponsesServer,
  turnAgentTexts,
  turnUserTexts,
  type AppServerThread,
  type CodexHome,
  type MockResponsesServer,
} from '../src/harness.js';
import {
  generateCodexThreads,
  generateRevertedThreads,
  modelUserPrompts,
  REVERT_PROMPTS,
  threadRolloutFiles,
  type CodexThreadSet,
  type RevertedThreadSet,
} from './support/codex-threads.js';

/**
 * `skein migrate` moves the threads real Codex 0.169 wrote into PostgreSQL and back into an empty
 * Codex home; every rollout file comes back byte for byte, the paginated forks that reference
 * their parent's history (`history_base`) included, and the segments of a thread Codex reverted
 * (each revert starts a rollout of its own, `rollout-<stamp>-<thread>_<rollout>.jsonl`), and real
 * Codex lists, reads and resumes them.
 */
const SKEIN_BIN = path.resolve(fileURLToPath(new URL('.', import.meta.url)), '../../skein/dist/bin.js');
const PG_SERVER_URL = process.env.SKEIN_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** Runs one statement on the PostgreSQL server with psql (the CLI tests' database, by URL). */
async function admin(sql: string): Promise<void> {
  await promisify(execFile)('psql', [PG_SERVER_URL, '-v', 'ON_ERROR_STOP=1', '-qc', sql]);
}

async function skein(home: string, args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, [SKEIN_BIN, ...args], {
    env: { ...process.env, HOME: home, SKEIN_ENDPOINT: '', XDG_CONFIG_HOME: home },
    maxBuffer: 64 * 1024 * 1024,
  });
  return stdout;
}

/** Every rollout file of a home by its path inside the home, with its bytes. */
function rollouts(home: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const dir of ['sessions', 'archived_sessions']) {
    if (!existsSync(path.join(home, dir))) continue;
    for (const e of readdirSync(path.join(home, dir), { recursive: true, withFileTypes: true }) as Dirent[]) {
      if (!e.isFile() || !/^rollout-.*\.jsonl$/.test(e.name)) continue;
      const abs = path.join(e.parentPath, e.name);
      out.set(path.relative(home, abs), readFileSync(abs));
    }
  }
  return out;
}

interface Seen {
  active: string[];
  archived: string[];
  turns: Record<string, { status: string; user: string[]; agent: string[] }[]>;
}

/** What Codex's app-server shows of a home: both listings, and every thread's turns. */
async function codexView(home: string): Promise<Seen> {
  const client = await AppServerClient.start({ path: home } as CodexHome);
  try {
    const all = { sourceKinds: ALL_SOURCE_KINDS, modelProviders: [] };
    const active = await client.listAllThreads(all);
    const archived = await client.listAllThreads({ ...all, archived: true });
    const turns: Seen['turns'] = {};
    // Archived threads are compared by their listing only: Codex does not load an archived thread,
    // so it shows an archived paginated thread's turns only from a projection it made earlier.
    // Codex shows a paginated thread's turns once it has loaded the thread (its own
    // thread_history_1.sqlite projection, which a copied home does not have yet), and a fork's
    // inherited turns once the threads it references are loaded too: every thread first.
    for (const t of active)
      if (t.historyMode === 'paginated')
        await client.request('thread/resume', { threadId: t.id }).catch(() => undefined);
    for (const t of active) {
      const read = await client.request<{ thread: AppServerThread }>('thread/read', {
        threadId: t.id,
        includeTurns: true,
      });
      turns[t.id] = read.thread.turns.map((turn) => ({
        status: turn.status,
        user: turnUserTexts(turn),
        agent: turnAgentTexts(turn),
      }));
    }
    return { active: active.map((t) => t.id), archived: archived.map((t) => t.id), turns };
  } finally {
    await client.close();
  }
}

describe('skein migrate: a real Codex home into PostgreSQL and back', () => {
  let mock: MockResponsesServer;
  let home: CodexHome;
  let restored: CodexHome;
  let set: CodexThreadSet;
  /** `codex exec fork` of the fork: its history_base points at the fork. */
  let forkOfFork: string;
  /** app-server `thread/fork` of the fork after its second (inherited) turn: based on multi. */
  let midFork: string;
  /** A thread Codex reverted twice (three rollouts), and a fork of it based on its newest segment. */
  let rev: RevertedThreadSet;
  const db = `skein_interop_migrate_${randomBytes(5).toString('hex')}`;
  const url = (() => {
    const u = new URL(PG_SERVER_URL);
    u.pathname = `/${db}`;
    return u.toString();
  })();

  beforeAll(async () => {
    mock = await startMockResponsesServer();
    home = await makeCodexHome(mock.url);
    set = await generateCodexThreads(home);
    const ff = await runCodexExec(home, ['fork', set.fork, 'iota: a fork of the fork'], { cwd: set.workDir });
    assertRunOk(ff);
    forkOfFork = ff.threadId ?? '';
    const client = await AppServerClient.start(home, { cwd: set.workDir });
    try {
      const read = await client.request<{ thread: AppServerThread }>('thread/read', {
        threadId: set.fork,
        includeTurns: true,
      });
      const second = read.thread.turns[1]?.id;
      const forked = await client.request<{ thread: { id: string } }>('thread/fork', {
        threadId: set.fork,
        lastTurnId: second,
      });
      midFork = forked.thread.id;
      const turn = await client.runTurn(midFork, 'kappa: a fork of the fork after its second turn');
      if (turn.status !== 'completed') throw new Error(`the mid-point fork's turn ended ${turn.status}`);
    } finally {
      await client.close();
    }
    rev = await generateRevertedThreads(home, set.workDir);
    // An empty Codex home: the same config, no threads.
    restored = await makeCodexHome(mock.url);
    await admin(`CREATE DATABASE ${db}`);
  });
  afterAll(async () => {
    await admin(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
    await mock?.close();
    await home?.remove();
    await restored?.remove();
  });

  it('copies every thread there and back, verified, and the rollouts are byte for byte the same', async () => {
    const there = JSON.parse(await skein(home.path, ['migrate', '--from', home.path, '--to', url, '--json'])) as {
      threads: number;
      copied: number;
      verified: number;
      conflicts: number;
      entries: { threadId: string; standalone?: string }[];
    };
    const want = rollouts(home.path);
    // One rollout file per thread, but a reverted thread has one per segment.
    const threads = [...want.keys()].filter((rel) => !/_[0-9a-f-]{36}\.jsonl$/.test(rel)).length;
    expect(want.size).toBe(threads + 2);
    // The forks Codex made reference their parent's history; each stays a reference. A rollout is
    // found by its id: the thread's for its first file, the segment's for a later one.
    const firstLine = (rolloutId: string) =>
      JSON.parse(
        [...want]
          .find(([rel]) => rel.endsWith(`${rolloutId}.jsonl`))?.[1]
          .toString('utf8')
          .split('\n')[0] ?? '{}',
      ) as {
        payload?: { id?: string; history_base?: { thread_id: string } };
      };
    expect(firstLine(set.fork).payload?.history_base?.thread_id).toBe(set.multi);
    expect(firstLine(forkOfFork).payload?.history_base?.thread_id).toBe(set.fork);
    expect(firstLine(midFork).payload?.history_base?.thread_id).toBe(set.multi);
    // Each segment is based on the one before it; the fork of the reverted thread on its newest.
    const [first, second, newest] = rev.rollouts as [string, string, string];
    expect(firstLine(second).payload).toMatchObject({ id: rev.reverted, history_base: { thread_id: first } });
    expect(firstLine(newest).payload).toMatchObject({ id: rev.reverted, history_base: { thread_id: second } });
    expect(firstLine(rev.fork).payload?.history_base?.thread_id).toBe(newest);
    expect(there.entries.filter((e) => e.standalone !== undefined)).toEqual([]);
    expect(there.entries.filter((e) => e.threadId === rev.reverted)).toHaveLength(1);
    expect(there.threads).toBe(threads);
    expect(there).toMatchObject({ copied: threads, verified: threads, conflicts: 0 });
    const back = JSON.parse(await skein(home.path, ['migrate', '--from', url, '--to', restored.path, '--json'])) as {
      copied: number;
      verified: number;
      entries: { threadId: string; standalone?: string }[];
    };
    expect(back).toMatchObject({ copied: threads, verified: threads });
    expect(back.entries.filter((e) => e.standalone !== undefined)).toEqual([]);
    const got = rollouts(restored.path);
    // Files are named after their thread's creation time; Codex writes it in the writer's local
    // time zone, which no store records: Skein names the far-time-zone thread's file in UTC.
    const byId = (m: Map<string, Buffer>) => new Map([...m].map(([rel, b]) => [rel.slice(-42), { rel, b }]));
    const [w, g] = [byId(want), byId(got)];
    expect([...g.keys()].sort()).toEqual([...w.keys()].sort());
    const renamed = [...w].filter(([id, f]) => g.get(id)?.rel !== f.rel).map(([id]) => id.slice(0, 36));
    expect(renamed).toEqual([set.farTz]);
    const differing = [...w].filter(([id, f]) => !g.get(id)?.b.equals(f.b)).map(([, f]) => f.rel);
    expect(differing).toEqual([]);
  });

  it('content search in PostgreSQL answers as in the home: forks found by their inherited messages only before the cut', async () => {
    interface Hit {
      thread: { id: string };
      snippet: string;
    }
    const search = async (term: string, store: string[]): Promise<[string, string][]> => {
      const out = JSON.parse(
        await skein(home.path, ['threads', 'search', term, '--json', '--all-providers', '--all-sources', ...store]),
      ) as { results: Hit[] };
      return out.results.map((r) => [r.thread.id, r.snippet]);
    };
    const ids = (hits: [string, string][]): string[] => hits.map(([id]) => id).sort();
    for (const term of [
      'beta: first',
      'BETA: THIRD TURN',
      'gamma',
      'iota',
      'kappa',
      'turn',
      'mu: first',
      'to be reverted',
    ]) {
      const inHome = await search(term, ['--home', home.path]);
      // The same threads, in the same order, with the same snippets.
      expect(await search(term, ['--store', url]), term).toEqual(inHome);
      if (term === 'beta: first') expect(ids(inHome)).toEqual([set.multi, set.fork, forkOfFork, midFork].sort());
      // After the point midFork was cut at (beta's second turn): not inherited there.
      if (term === 'BETA: THIRD TURN') expect(ids(inHome)).toEqual([set.multi, set.fork, forkOfFork].sort());
      if (term === 'gamma') expect(ids(inHome)).toEqual([set.fork, forkOfFork].sort());
      // A reverted thread's history runs through its segments; its fork inherits it.
      if (term === 'mu: first') expect(ids(inHome)).toEqual([rev.reverted, rev.fork].sort());
      // The turns Codex reverted are in the older rollouts' files only, in no thread's history.
      if (term === 'to be reverted') expect(ids(inHome)).toEqual([]);
    }
  });

  it('real Codex lists and reads the restored home as it does the original', async () => {
    const original = await codexView(home.path);
    const copy = await codexView(restored.path);
    expect(copy.active).toEqual(original.active);
    expect(copy.archived).toEqual(original.archived);
    // Codex shows turns from its thread_history_1.sqlite projection only, and in a home it did not
    // write it projects a reverted thread's newest rollout only (it loads no older one; a
    // `thread/resume` with an older segment's path is refused as stale): there it shows the
    // reverted thread, and the fork based on its newest segment, from that segment on. The model
    // still gets the whole history (the next test). Every other thread reads the same.
    expect(original.turns[rev.reverted]?.map((t) => t.user).flat()).toEqual(rev.shown[rev.reverted]);
    expect(original.turns[rev.fork]?.map((t) => t.user).flat()).toEqual(rev.shown[rev.fork]);
    const fromNewestSegment = (id: string) =>
      original.turns[id]?.slice((rev.shown[id]?.length ?? 0) - (rev.shownCold[id]?.length ?? 0));
    expect(copy.turns).toEqual({
      ...original.turns,
      [rev.reverted]: fromNewestSegment(rev.reverted),
      [rev.fork]: fromNewestSegment(rev.fork),
    });
    expect(copy.turns[rev.fork]?.map((t) => t.user).flat()).toEqual(rev.shownCold[rev.fork]);
    expect(original.active.length).toBeGreaterThan(5);
  });

  it('real Codex resumes a restored thread and the next run copies only the change', async () => {
    const run = await runCodexExec(restored, ['resume', set.multi, 'after the move'], { cwd: set.workDir });
    assertRunOk(run);
    const view = await codexView(restored.path);
    const last = view.turns[set.multi]?.at(-1);
    expect(last).toEqual({ status: 'completed', user: ['after the move'], agent: [defaultReply('after the move')] });
    // The restored home is now ahead of the database by one turn: moving it back completes it.
    const again = JSON.parse(await skein(home.path, ['migrate', '--from', restored.path, '--to', url, '--json'])) as {
      resumed: number;
      copied: number;
      conflicts: number;
      entries: { threadId: string; action: string }[];
    };
    expect(again.entries.find((e) => e.threadId === set.multi)?.action).toBe('resume');
    expect(again).toMatchObject({ copied: 0, conflicts: 0 });
  });

  it('real Codex resumes a restored fork of a fork with its whole inherited history', async () => {
    const before = await codexView(restored.path);
    const inherited = before.turns[forkOfFork] ?? [];
    // multi's three turns, the fork's, its own.
    expect(inherited.map((t) => t.user)).toEqual([
      ['beta: first turn'],
      ['beta: second turn'],
      ['beta: third turn'],
      ['gamma: a fork of beta'],
      ['iota: a fork of the fork'],
    ]);
    const run = await runCodexExec(restored, ['resume', forkOfFork, 'lambda: after the move'], { cwd: set.workDir });
    assertRunOk(run);
    const sent = JSON.stringify(mock.requests.at(-1)?.body ?? null);
    for (const earlier of ['beta: first turn', 'gamma: a fork of beta', 'iota: a fork of the fork'])
      expect(sent).toContain(earlier);
    const after = await codexView(restored.path);
    expect(after.turns[forkOfFork]?.map((t) => t.user)).toEqual([
      ...inherited.map((t) => t.user),
      ['lambda: after the move'],
    ]);
    expect(after.turns[midFork]?.map((t) => t.user)).toEqual([
      ['beta: first turn'],
      ['beta: second turn'],
      ['kappa: a fork of the fork after its second turn'],
    ]);
  });

  it('real Codex resumes a restored reverted thread and its fork through every segment; the next run completes the newest segment', async () => {
    const files = threadRolloutFiles(restored.path, rev.reverted);
    expect(files).toHaveLength(3);
    const before = files.map((f) => readFileSync(f));
    const prompt = 'pi: after the move, on the reverted thread';
    const run = await runCodexExec(restored, ['resume', rev.reverted, prompt], { cwd: set.workDir });
    assertRunOk(run);
    // The model got the history through both older rollouts up to each cut, none of the reverted turns.
    expect(modelUserPrompts(mock.requests.at(-1)?.body)).toEqual([...(rev.shown[rev.reverted] ?? []), prompt]);
    // Codex appended to the newest segment of the restored thread; the older ones are unchanged.
    expect(threadRolloutFiles(restored.path, rev.reverted)).toEqual(files);
    expect(files.slice(0, 2).map((f) => readFileSync(f))).toEqual(before.slice(0, 2));
    expect(readFileSync(files[2] ?? '').length).toBeGreaterThan(before[2]?.length ?? 0);
    const forkPrompt = 'rho: after the move, on the fork of the reverted thread';
    const forkRun = await runCodexExec(restored, ['resume', rev.fork, forkPrompt], { cwd: set.workDir });
    assertRunOk(forkRun);
    expect(modelUserPrompts(mock.requests.at(-1)?.body)).toEqual([...(rev.shown[rev.fork] ?? []), forkPrompt]);
    expect(modelUserPrompts(mock.requests.at(-1)?.body)).not.toContain(prompt);
    expect(modelUserPrompts(mock.requests.at(-1)?.body)).not.toContain(REVERT_PROMPTS.third);
    // The restored home is ahead of the database in the newest segment and in the fork.
    const again = JSON.parse(await skein(home.path, ['migrate', '--from', restored.path, '--to', url, '--json'])) as {
      conflicts: number;
      mismatched: unknown[];
      entries: { threadId: string; action: string }[];
    };
    expect(again.entries.find((e) => e.threadId === rev.reverted)?.action).toBe('resume');
    expect(again.entries.find((e) => e.threadId === rev.fork)?.action).toBe('resume');
    expect(again).toMatchObject({ conflicts: 0, mismatched: [] });
    // And out again into a third home: the grown segment comes back byte for byte too.
    const third = await makeCodexHome(mock.url);
    try {
      await skein(home.path, ['migrate', '--from', url, '--to', third.path, '--json']);
      const got = threadRolloutFiles(third.path, rev.reverted).map((f) => [path.basename(f), readFileSync(f)]);
      expect(got).toEqual(
        threadRolloutFiles(restored.path, rev.reverted).map((f) => [path.basename(f), readFileSync(f)]),
      );
    } finally {
      await third.remove();
    }
  });
});
