import { mkdir, mkdtemp } from 'node:fs/promises';
import path from 'node:path';
import {
  AppServerClient,
  assertRunOk,
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
