import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { EchoModelClient, Session } from '@skein/core-session';
import type { SessionEventMsg } from '@skein/core-session';
import { collectHistory, parseThreadId, type ThreadSegment, type ThreadStore } from '@skein/thread-store-api';
import { LocalThreadStore } from '@skein/thread-store-local';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AppServerClient,
  assertRunOk,
  defaultReply,
  makeCodexHome,
  MOCK_MODEL,
  MOCK_PROVIDER_ID,
  runCodexExec,
  startMockResponsesServer,
  turnAgentTexts,
  turnUserTexts,
  type AppServerThread,
  type CodexHome,
  type MockResponsesServer,
} from '../src/harness.js';
import {
  generateRevertedThreads,
  modelUserPrompts,
  REVERT_PROMPTS,
  rolloutIdOf,
  threadRolloutFiles,
  type RevertedThreadSet,
} from './support/codex-threads.js';

/**
 * Real Codex 0.169 reverts a paginated thread (app-server `thread/revert`) by starting a new
 * segment file, not by cutting the rollout; Skein's local store reads such a thread as Codex shows
 * it, lists its segments oldest first, and appends to its newest segment, which Codex then reads
 * and resumes.
 */
const SKEIN_BIN = path.resolve(fileURLToPath(new URL('.', import.meta.url)), '../../skein/dist/bin.js');

async function skeinJson<T>(home: string, args: string[]): Promise<T> {
  const { stdout } = await promisify(execFile)(process.execPath, [SKEIN_BIN, ...args, '--json', '--home', home], {
    env: { ...process.env, HOME: home, SKEIN_ENDPOINT: '', XDG_CONFIG_HOME: home },
    maxBuffer: 64 * 1024 * 1024,
  });
  return JSON.parse(stdout) as T;
}

interface Line {
  ordinal?: number;
  type: string;
  timestamp: string;
  payload: Record<string, unknown> & {
    id?: string;
    type?: string;
    turn_id?: string;
    timestamp?: string;
    history_base?: { thread_id: string; end_ordinal_exclusive: number; end_byte_offset: number };
  };
}

const linesOf = (file: string): Line[] =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Line);

/** A turn as both sides are compared: its id, status and the user and agent texts. */
interface TurnView {
  id: string;
  status: string;
  user: string[];
  agent: string[];
}

interface SkeinShown {
  thread: { id: string; preview: string; createdAt: string; rolloutPath: string; forkedFromId: string | null };
  turns: { turnId: string; status: string; entries: { kind: string; text: string }[] }[];
}

/** `2026-12-02T11-09-33` for a time, in this process's time zone (Codex's, which inherits it). */
function localStamp(iso: string): string {
  const d = new Date(iso);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}-${p(d.getMinutes())}-${p(d.getSeconds())}`;
}

describe('a paginated thread real Codex reverted (segments)', () => {
  let mock: MockResponsesServer;
  let home: CodexHome;
  let workDir: string;
  let rev: RevertedThreadSet;

  beforeAll(async () => {
    mock = await startMockResponsesServer();
    home = await makeCodexHome(mock.url);
    workDir = path.join(await mkdtemp(path.join(home.path, '..', 'skein-interop-work-')), 'project');
    await mkdir(workDir, { recursive: true });
    rev = await generateRevertedThreads(home, workDir);
  });
  afterAll(async () => {
    await mock?.close();
    await home?.remove();
  });

  /** What a new Codex app-server shows of these threads (after loading each, as a client would). */
  async function codexRead(ids: string[], opts: { load: boolean }): Promise<Record<string, AppServerThread>> {
    const client = await AppServerClient.start(home, { cwd: workDir });
    try {
      if (opts.load) for (const id of ids) await client.request('thread/resume', { threadId: id });
      const out: Record<string, AppServerThread> = {};
      for (const id of ids)
        out[id] = (
          await client.request<{ thread: AppServerThread }>('thread/read', { threadId: id, includeTurns: true })
        ).thread;
      return out;
    } finally {
      await client.close();
    }
  }

  const codexTurns = (t: AppServerThread): TurnView[] =>
    t.turns.map((turn) => ({
      id: turn.id,
      status: turn.status,
      user: turnUserTexts(turn),
      agent: turnAgentTexts(turn),
    }));

  const skeinTurns = (shown: SkeinShown): TurnView[] =>
    shown.turns.map((t) => ({
      id: t.turnId,
      status: t.status,
      user: t.entries.filter((e) => e.kind === 'user').map((e) => e.text),
      agent: t.entries.filter((e) => e.kind === 'assistant').map((e) => e.text),
    }));

  /** Typed as a ThreadStore: segments are an optional part of it. */
  function openStore(): ThreadStore {
    return new LocalThreadStore({ home: home.path, defaultModelProvider: MOCK_PROVIDER_ID });
  }

  it('Codex starts a segment file per revert, based on the rollout it was cut from; the fork names the newest segment', () => {
    const files = threadRolloutFiles(home.path, rev.reverted);
    expect(files.map(rolloutIdOf)).toEqual(rev.rollouts);
    expect(rev.rollouts[0]).toBe(rev.reverted);
    // The first rollout keeps the thread's plain name; each segment is <thread>_<rollout>.
    expect(path.basename(files[0] ?? '')).toMatch(new RegExp(`^rollout-[0-9T-]{19}-${rev.reverted}\\.jsonl$`));
    for (const [i, file] of files.entries()) {
      const [meta] = linesOf(file);
      expect(meta?.type).toBe('session_meta');
      expect(meta?.payload.id).toBe(rev.reverted);
      expect(meta?.payload.history_mode).toBe('paginated');
      if (i === 0) {
        expect(meta?.payload.history_base).toBeUndefined();
        continue;
      }
      expect(path.basename(file)).toMatch(
        new RegExp(`^rollout-[0-9T-]{19}-${rev.reverted}_${rev.rollouts[i]}\\.jsonl$`),
      );
      // A segment's file is named by its own creation (the revert), not the thread's.
      expect(path.basename(file).slice(8, 27)).toBe(localStamp(meta?.payload.timestamp ?? ''));
      // Based on the previous rollout (the second revert cut inside the first one's segment), at
      // the start of the reverted turn; the segment's lines continue the numbering from there.
      const base = meta?.payload.history_base;
      expect(base?.thread_id).toBe(rev.rollouts[i - 1]);
      expect(meta?.ordinal).toBe(base?.end_ordinal_exclusive);
      const baseBytes = readFileSync(files[i - 1] ?? '');
      const cutLine = JSON.parse(
        baseBytes
          .subarray(base?.end_byte_offset ?? 0)
          .toString('utf8')
          .split('\n')[0] ?? '{}',
      ) as Line;
      expect(cutLine.ordinal).toBe(base?.end_ordinal_exclusive);
      expect(cutLine.payload.type).toBe('task_started');
    }
    const [forkMeta] = linesOf(threadRolloutFiles(home.path, rev.fork)[0] ?? '');
    expect(forkMeta?.payload.forked_from_id).toBe(rev.reverted);
    expect(forkMeta?.payload.history_base).toEqual({
      thread_id: rev.rollouts[2],
      end_ordinal_exclusive: forkMeta?.ordinal,
      end_byte_offset: readFileSync(files[2] ?? '').length,
    });
  });

  it('Skein reads the reverted thread and its fork turn by turn as Codex shows them', async () => {
    const codex = await codexRead([rev.reverted, rev.fork], { load: true });
    for (const id of [rev.reverted, rev.fork]) {
      const want = codexTurns(codex[id]!);
      // What the generator meant Codex to show: the reverted turns are gone.
      expect(want.map((t) => t.user).flat(), id).toEqual(rev.shown[id]);
      expect(want.map((t) => t.agent).flat(), id).toEqual(rev.shown[id]?.map(defaultReply));
      const shown = await skeinJson<SkeinShown>(home.path, ['threads', 'show', id]);
      expect(skeinTurns(shown), id).toEqual(want);
      expect(shown.thread.rolloutPath, id).toBe(codex[id]!.path);
    }
    // The same through the store's API.
    const store = openStore();
    try {
      const thread = await store.readThread({ threadId: parseThreadId(rev.reverted), includeHistory: true });
      const items = JSON.stringify(await collectHistory(thread.history));
      for (const p of rev.revertedPrompts) expect(items).not.toContain(p);
      for (const p of rev.shown[rev.reverted] ?? []) expect(items).toContain(p);
    } finally {
      await store.close();
    }
  });

  it("Skein lists the reverted thread once, with Codex's preview (its first prompt) and file (the newest segment)", async () => {
    const codex = await codexRead([rev.reverted, rev.fork], { load: false });
    const listed = await skeinJson<{ threads: SkeinShown['thread'][] }>(home.path, [
      'threads',
      'list',
      '--all-providers',
      '--all-sources',
    ]);
    const mine = listed.threads.filter((t) => t.id === rev.reverted);
    expect(mine).toHaveLength(1);
    const shown = await skeinJson<SkeinShown>(home.path, ['threads', 'show', rev.reverted]);
    const t = codex[rev.reverted]!;
    // Codex gives the thread's first prompt as its preview (from its state; in a home Codex did not
    // write it gives the newest segment's first prompt, having lost the older rollouts there).
    expect(t.preview).toBe(rev.shown[rev.reverted]?.[0]);
    expect({ preview: shown.thread.preview, rolloutPath: shown.thread.rolloutPath }).toEqual({
      preview: t.preview,
      rolloutPath: t.path,
    });
    expect({ preview: mine[0]?.preview, rolloutPath: mine[0]?.rolloutPath }).toEqual({
      preview: t.preview,
      rolloutPath: t.path,
    });
  });

  it("Skein gives the reverted thread the creation time Codex gives it: its newest segment's", async () => {
    const codex = await codexRead([rev.reverted], { load: false });
    const t = codex[rev.reverted]!;
    // Codex reports the newest segment's creation (its session_meta time, a second or more after
    // the thread's first file was made) as the thread's creation time, in its state and in a home
    // it did not write alike.
    const files = threadRolloutFiles(home.path, rev.reverted);
    const [firstMeta] = linesOf(files[0] ?? '');
    const [newestMeta] = linesOf(files.at(-1) ?? '');
    const seconds = (iso: string | undefined) => Math.floor(Date.parse(iso ?? '') / 1000);
    expect(t.createdAt).toBe(seconds(newestMeta?.payload.timestamp));
    expect(t.createdAt).toBeGreaterThan(seconds(firstMeta?.payload.timestamp));
    const shown = await skeinJson<SkeinShown>(home.path, ['threads', 'show', rev.reverted]);
    expect(seconds(shown.thread.createdAt)).toBe(t.createdAt);
  });

  it('Skein finds a reverted thread and its fork by their history through every segment, not by the reverted turns', async () => {
    const search = async (term: string): Promise<string[]> =>
      (
        await skeinJson<{ results: { thread: { id: string } }[] }>(home.path, [
          'threads',
          'search',
          term,
          '--all-providers',
          '--all-sources',
        ])
      ).results
        .map((r) => r.thread.id)
        .sort();
    const both = [rev.reverted, rev.fork].sort();
    // In the first rollout, before the first cut.
    expect(await search(REVERT_PROMPTS.first), 'first').toEqual(both);
    // In the first segment, before the second cut.
    expect(await search(REVERT_PROMPTS.afterRevert), 'afterRevert').toEqual(both);
    // In the newest segment.
    expect(await search(REVERT_PROMPTS.afterSecondRevert), 'afterSecondRevert').toEqual(both);
    expect(await search(REVERT_PROMPTS.fork), 'fork').toEqual([rev.fork]);
    // After a cut: in a file, in no thread's history.
    for (const p of rev.revertedPrompts) expect(await search(p), p).toEqual([]);
  });

  it('listSegments gives the rollouts oldest first with their bases; loadHistory with a rollout id gives its own lines', async () => {
    const store = openStore();
    try {
      expect(store.listSegments).toBeTypeOf('function');
      const files = threadRolloutFiles(home.path, rev.reverted);
      const baseOf = (file: string): ThreadSegment['historyBase'] => {
        const hb = linesOf(file)[0]?.payload.history_base;
        return hb
          ? {
              threadId: parseThreadId(hb.thread_id),
              endOrdinalExclusive: hb.end_ordinal_exclusive,
              endByteOffset: hb.end_byte_offset,
            }
          : null;
      };
      const segments = await store.listSegments!({ threadId: parseThreadId(rev.reverted) });
      expect(segments).toEqual(files.map((f) => ({ rolloutId: rolloutIdOf(f), historyBase: baseOf(f) })));
      expect(segments.map((s) => s.historyBase?.threadId ?? null)).toEqual([null, rev.rollouts[0], rev.rollouts[1]]);
      const forkFile = threadRolloutFiles(home.path, rev.fork)[0] ?? '';
      expect(await store.listSegments!({ threadId: parseThreadId(rev.fork) })).toEqual([
        { rolloutId: rev.fork, historyBase: baseOf(forkFile) },
      ]);
      for (const file of files) {
        const own = await collectHistory(
          store.loadHistory({ threadId: parseThreadId(rev.reverted), rolloutId: parseThreadId(rolloutIdOf(file)) }),
        );
        expect(own, path.basename(file)).toEqual(linesOf(file));
      }
    } finally {
      await store.close();
    }
  });

  it('a turn Skein appends goes to the newest segment; Codex reads it and resumes with the whole history', async () => {
    const files = threadRolloutFiles(home.path, rev.reverted);
    const forkFile = threadRolloutFiles(home.path, rev.fork)[0] ?? '';
    const before = new Map([...files, forkFile].map((f) => [f, readFileSync(f)]));
    const prompt = 'xi: a Skein turn on the reverted thread';
    const store = openStore();
    try {
      const session = await Session.resume({
        store,
        model: new EchoModelClient({ provider: MOCK_PROVIDER_ID, model: MOCK_MODEL }),
        threadId: parseThreadId(rev.reverted),
      });
      const seen: SessionEventMsg[] = [];
      session.submit({ type: 'user_turn', items: [{ type: 'text', text: prompt }] });
      for await (const ev of session.events()) {
        seen.push(ev.msg);
        if (ev.msg.type === 'turn_complete') session.submit({ type: 'shutdown' });
      }
      await session.done;
      expect(seen.filter((m) => m.type === 'error')).toEqual([]);
      expect(seen.map((m) => m.type)).toContain('turn_complete');
    } finally {
      await store.close();
    }
    // No new file; the older rollouts and the fork are untouched; the newest segment grew.
    expect(threadRolloutFiles(home.path, rev.reverted)).toEqual(files);
    const newest = files[2] ?? '';
    for (const f of [files[0] ?? '', files[1] ?? '', forkFile])
      expect(readFileSync(f).equals(before.get(f)!), path.basename(f)).toBe(true);
    const grown = readFileSync(newest);
    expect(grown.length).toBeGreaterThan(before.get(newest)!.length);
    expect(grown.subarray(0, before.get(newest)!.length).equals(before.get(newest)!)).toBe(true);
    // Numbered on from the segment's last line (Skein's metadata lines carry no ordinal: Codex skips their type).
    const ordinals = linesOf(newest)
      .filter((l) => l.type !== 'skein_metadata_patch')
      .map((l) => l.ordinal);
    const first = ordinals[0] ?? 0;
    expect(ordinals).toEqual(ordinals.map((_, i) => first + i));

    const want = [...(rev.shown[rev.reverted] ?? []), prompt];
    // From the projection Skein keeps current (the segment's rows), without Codex loading the thread.
    const unloaded = await codexRead([rev.reverted], { load: false });
    expect
      .soft(
        codexTurns(unloaded[rev.reverted]!)
          .map((t) => t.user)
          .flat(),
      )
      .toEqual(want);
    const loaded = await codexRead([rev.reverted], { load: true });
    const turns = codexTurns(loaded[rev.reverted]!);
    expect(turns.map((t) => t.user).flat()).toEqual(want);
    expect(turns.at(-1)).toMatchObject({ status: 'completed', agent: [defaultReply(prompt)] });

    const next = 'omicron: Codex after Skein on the reverted thread';
    const run = await runCodexExec(home, ['resume', rev.reverted, next], { cwd: workDir });
    assertRunOk(run);
    expect(run.agentMessages).toEqual([defaultReply(next)]);
    // The model got the thread's whole history through every segment, and none of the reverted turns.
    expect(modelUserPrompts(mock.requests.at(-1)?.body)).toEqual([...want, next]);
    // Codex appended to the same newest segment.
    expect(threadRolloutFiles(home.path, rev.reverted)).toEqual(files);
    expect(readFileSync(newest).subarray(0, grown.length).equals(grown)).toBe(true);
    expect(readFileSync(newest).length).toBeGreaterThan(grown.length);
    const shown = await skeinJson<SkeinShown>(home.path, ['threads', 'show', rev.reverted]);
    expect(
      skeinTurns(shown)
        .map((t) => t.user)
        .flat(),
    ).toEqual([...want, next]);
  });
});
