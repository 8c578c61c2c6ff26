import { existsSync, readdirSync, type Dirent } from 'node:fs';
import { mkdir, mkdtemp } from 'node:fs/promises';
import path from 'node:path';
import {
  AppServerClient,
  assertRunOk,
  type AppServerThread,
  runCodex,
  runCodexExec,
  type CodexHome,
  type CodexExecResult,
} from '../../src/harness.js';

/**
 * Generates a home full of threads written by the real Codex CLI, one of each kind the interop
 * tests compare: single and multi-turn, a fork, a failed turn, unicode prompt and cwd, an
 * archived thread, a thread named through the app-server, a legacy-mode thread, and a thread
 * made under a far-off time zone.
 */
export interface CodexThreadSet {
  /** Working directory of the exec threads (plain ASCII). */
  workDir: string;
  /** A working directory with non-ASCII characters. */
  unicodeDir: string;
  /** Made first, through the app-server, under TZ=Pacific/Kiritimati (UTC+14). */
  farTz: string;
  single: string;
  multi: string;
  fork: string;
  failed: string;
  unicode: string;
  archived: string;
  named: string;
  legacy: string;
  /** `codex exec fork` of the legacy thread: a legacy fork, which copies its parent's history. */
  legacyFork: string;
  /** Every prompt sent, per thread, in order. */
  prompts: Record<string, string[]>;
}

export const UNICODE_PROMPT = 'Grüße, 世界! Ünïcödé prompt — ✓ 🚀';
export const FAR_TZ = 'Pacific/Kiritimati';
export const THREAD_NAME = 'Release notes · v2 ✨';

function ok(run: CodexExecResult): string {
  assertRunOk(run);
  if (!run.threadId) throw new Error(`codex exec printed no thread.started event:\n${run.stdout}`);
  return run.threadId;
}

export async function generateCodexThreads(home: CodexHome): Promise<CodexThreadSet> {
  const base = await mkdtemp(path.join(home.path, '..', 'skein-interop-work-'));
  const workDir = path.join(base, 'project');
  const unicodeDir = path.join(base, 'prøject 目录 ✓');
  await mkdir(workDir, { recursive: true });
  await mkdir(unicodeDir, { recursive: true });
  const prompts: Record<string, string[]> = {};
  const exec = async (args: string[], prompt: string, env?: Record<string, string>, cwd = workDir) => {
    const run = await runCodexExec(home, [...args, prompt], { cwd, ...(env ? { env } : {}) });
    return run;
  };
  const record = (id: string, prompt: string) => (prompts[id] ??= []).push(prompt);

  // First, so that its true creation time is the oldest. Made through the app-server so that its
  // source (vscode) is in Codex's default listing, which orders by the local-time file name read
  // as UTC and so puts this thread first.
  const farTzPrompt = 'made fourteen hours ahead of UTC';
  const farClient = await AppServerClient.start(home, { cwd: workDir, env: { TZ: FAR_TZ } });
  let farTz: string;
  try {
    const started = await farClient.request<{ thread: { id: string } }>('thread/start', { cwd: workDir });
    farTz = started.thread.id;
    const turn = await farClient.runTurn(farTz, farTzPrompt);
    if (turn.status !== 'completed') throw new Error(`far-TZ turn ended ${turn.status}`);
    record(farTz, farTzPrompt);
  } finally {
    await farClient.close();
  }

  const single = ok(await exec([], 'alpha: a single-turn thread'));
  record(single, 'alpha: a single-turn thread');

  const multi = ok(await exec([], 'beta: first turn'));
  record(multi, 'beta: first turn');
  for (const p of ['beta: second turn', 'beta: third turn']) {
    const run = await exec(['resume', multi], p);
    if (ok(run) !== multi) throw new Error('codex exec resume started a different thread');
    record(multi, p);
  }

  const forkPrompt = 'gamma: a fork of beta';
  const fork = ok(await exec(['fork', multi], forkPrompt));
  record(fork, forkPrompt);

  const failed = ok(await exec([], 'delta: this turn works'));
  record(failed, 'delta: this turn works');
  const failRun = await exec(['resume', failed], 'delta: FAIL_TURN this one fails');
  if (!failRun.turnFailed) throw new Error(`the failing turn did not fail:\n${failRun.stdout}`);
  record(failed, 'delta: FAIL_TURN this one fails');

  const unicode = ok(await exec([], UNICODE_PROMPT, undefined, unicodeDir));
  record(unicode, UNICODE_PROMPT);

  const archived = ok(await exec([], 'epsilon: to be archived'));
  record(archived, 'epsilon: to be archived');
  assertRunOk(await runCodex(home, ['archive', archived]));

  const named = ok(await exec([], 'zeta: to be named'));
  record(named, 'zeta: to be named');

  const client = await AppServerClient.start(home, { cwd: workDir });
  let legacy: string;
  try {
    await client.request('thread/name/set', { threadId: named, name: THREAD_NAME });
    const started = await client.request<{ thread: { id: string } }>('thread/start', {
      historyMode: 'legacy',
      cwd: workDir,
    });
    legacy = started.thread.id;
    for (const p of ['eta: a legacy-mode thread', 'eta: its second turn']) {
      // Two seconds apart, so the thread is last written seconds after it was created (Codex
      // reports one or the other as updatedAt depending on the request).
      if (p !== 'eta: a legacy-mode thread') await new Promise((resolve) => setTimeout(resolve, 2_100));
      const turn = await client.runTurn(legacy, p);
      if (turn.status !== 'completed') throw new Error(`legacy turn ended ${turn.status}`);
      record(legacy, p);
    }
  } finally {
    await client.close();
  }

  const legacyForkPrompt = 'theta: a fork of the legacy thread';
  const legacyFork = ok(await exec(['fork', legacy], legacyForkPrompt));
  record(legacyFork, legacyForkPrompt);

  return {
    workDir,
    unicodeDir,
    farTz,
    single,
    multi,
    fork,
    failed,
    unicode,
    archived,
    named,
    legacy,
    legacyFork,
    prompts,
  };
}

/**
 * A paginated thread real Codex reverted twice, and a fork of it. Codex's `thread/revert` does not
 * cut a paginated rollout: it starts a new segment file (`rollout-<stamp>-<thread>_<rollout>.jsonl`)
 * whose `session_meta` has the thread's id and a `history_base` naming the rollout it was cut from,
 * and later turns go to the newest segment.
 */
export interface RevertedThreadSet {
  /** Made through the app-server: three turns, reverted before the third. */
  reverted: string;
  /** The reverted thread's rollout ids, oldest first: its own id, then one per revert. */
  rollouts: string[];
  /** App-server `thread/fork` of the reverted thread after its second revert (based on its newest segment). */
  fork: string;
  /** The user prompts Codex shows, per thread, in order. */
  shown: Record<string, string[]>;
  /** Of those, the ones from the thread's or its base's newest segment on (what Codex shows on a cold home). */
  shownCold: Record<string, string[]>;
  /** Prompts of turns Codex reverted (in the older rollouts, never shown). */
  revertedPrompts: string[];
}

export const REVERT_PROMPTS = {
  first: 'mu: first turn',
  second: 'mu: second turn',
  third: 'mu: third turn, to be reverted',
  afterRevert: 'mu: after the revert',
  execResume: 'mu: exec resume in the segment, to be reverted',
  afterSecondRevert: 'mu: after the second revert',
  fork: 'nu: a fork of the reverted thread',
} as const;

/** The rollout files of a thread, oldest segment first (rollout ids are UUIDv7). */
export function threadRolloutFiles(homePath: string, threadId: string): string[] {
  const out: { rollout: string; file: string }[] = [];
  for (const dir of ['sessions', 'archived_sessions']) {
    const root = path.join(homePath, dir);
    if (!existsSync(root)) continue;
    for (const e of readdirSync(root, { recursive: true, withFileTypes: true }) as Dirent[]) {
      const m = /^rollout-.*?-([0-9a-f-]{36})(?:_([0-9a-f-]{36}))?\.jsonl$/.exec(e.name);
      if (!e.isFile() || !m || m[1] !== threadId) continue;
      out.push({ rollout: m[2] ?? m[1], file: path.join(e.parentPath, e.name) });
    }
  }
  return out.sort((a, b) => (a.rollout < b.rollout ? -1 : 1)).map((o) => o.file);
}

/** The rollout id a rollout file's name ends with. */
export function rolloutIdOf(file: string): string {
  return path.basename(file, '.jsonl').slice(-36);
}

export async function generateRevertedThreads(home: CodexHome, workDir: string): Promise<RevertedThreadSet> {
  const P = REVERT_PROMPTS;
  const turnsOf = async (client: AppServerClient, threadId: string) =>
    (await client.request<{ thread: AppServerThread }>('thread/read', { threadId, includeTurns: true })).thread.turns;
  const run = async (client: AppServerClient, threadId: string, prompt: string) => {
    const turn = await client.runTurn(threadId, prompt);
    if (turn.status !== 'completed') throw new Error(`turn "${prompt}" ended ${turn.status}`);
  };

  let reverted: string;
  let client = await AppServerClient.start(home, { cwd: workDir });
  try {
    const started = await client.request<{ thread: { id: string; historyMode: string } }>('thread/start', {
      cwd: workDir,
    });
    reverted = started.thread.id;
    if (started.thread.historyMode !== 'paginated') throw new Error('thread/start made a legacy thread');
    for (const p of [P.first, P.second, P.third]) await run(client, reverted, p);
    // A second apart, so every segment is made (and named) in a later second than the thread.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const third = (await turnsOf(client, reverted))[2];
    await client.request('thread/revert', { threadId: reverted, beforeTurnId: third?.id });
    await run(client, reverted, P.afterRevert);
  } finally {
    await client.close();
  }

  // Another process appends to the segment.
  const resumed = await runCodexExec(home, ['resume', reverted, P.execResume], { cwd: workDir });
  if (ok(resumed) !== reverted) throw new Error('codex exec resume started a different thread');

  let fork: string;
  client = await AppServerClient.start(home, { cwd: workDir });
  try {
    await client.request('thread/resume', { threadId: reverted });
    const last = (await turnsOf(client, reverted)).at(-1);
    // A segment of a segment: cut inside the first revert's rollout.
    await client.request('thread/revert', { threadId: reverted, beforeTurnId: last?.id });
    await run(client, reverted, P.afterSecondRevert);
    const forked = await client.request<{ thread: { id: string } }>('thread/fork', { threadId: reverted });
    fork = forked.thread.id;
    await run(client, fork, P.fork);
  } finally {
    await client.close();
  }

  const rollouts = threadRolloutFiles(home.path, reverted).map(rolloutIdOf);
  if (rollouts.length !== 3) throw new Error(`the reverted thread has ${rollouts.length} rollouts, not 3`);
  const shown = [P.first, P.second, P.afterRevert, P.afterSecondRevert];
  return {
    reverted,
    rollouts,
    fork,
    shown: { [reverted]: shown, [fork]: [...shown, P.fork] },
    shownCold: { [reverted]: [P.afterSecondRevert], [fork]: [P.afterSecondRevert, P.fork] },
    revertedPrompts: [P.third, P.execResume],
  };
}

/**
 * The user prompts of a Responses request's `input`, in order: the conversation Codex sent the
 * model, without the context messages Codex injects as user messages (`<environment_context>`, …).
 */
export function modelUserPrompts(body: unknown): string[] {
  const input = (body as { input?: unknown } | null)?.input;
  if (!Array.isArray(input)) return [];
  const out: string[] = [];
  for (const item of input as { type?: unknown; role?: unknown; content?: unknown }[]) {
    if (item?.type !== 'message' || item.role !== 'user' || !Array.isArray(item.content)) continue;
    const text = (item.content as { type?: unknown; text?: unknown }[])
      .filter((c) => c?.type === 'input_text' && typeof c.text === 'string')
      .map((c) => c.text as string)
      .join('\n');
    if (!text.trimStart().startsWith('<')) out.push(text);
  }
  return out;
}
