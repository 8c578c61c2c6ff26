import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { newThreadId } from '@skein/thread-store-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertRunOk, runCodexExec } from '../src/harness.js';
import { useCodexFixture } from './support/codex-fixture.js';
import { lockSteps, lockTraceWrapper, straceWorks } from './support/lock-trace.js';
import { skeinHistory } from './support/skein.js';
import { writeSkeinThread } from './support/skein-writer.js';

const CHILD = fileURLToPath(new URL('./support/skein-lock-child.mjs', import.meta.url));

/** Runs the Skein child (resume, append, flush, shutdown) once, optionally under a wrapper. */
function runSkeinChild(
  home: string,
  threadId: string,
  prompt: string,
  wrapper: readonly string[] = [],
): Promise<{ ok: boolean; code?: string; message?: string }> {
  return new Promise((resolve, reject) => {
    const [cmd, ...args] = [...wrapper, process.execPath, CHILD, home, threadId, prompt];
    const child = spawn(cmd!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('error', reject);
    child.on('close', () => {
      const line = out.trim().split('\n').at(-1) ?? '';
      try {
        resolve(JSON.parse(line) as { ok: boolean });
      } catch {
        reject(new Error(`skein child printed no result: ${out}\n${err}`));
      }
    });
  });
}

/**
 * What `codex exec resume` 0.169 does in thread-writer-locks/ (strace, first acquire of the
 * process): take coordination EX, sweep stale lock files, create and flock `<id>.lock`, drop
 * coordination; at release take coordination EX, close and unlink `<id>.lock`, drop coordination.
 */
const CODEX_RESUME_STEPS = [
  'mkdir dir',
  'open coord RDWR|CREAT ok',
  'flock coord EX|NB ok',
  'open dir RDONLY|DIRECTORY ok',
  'scan dir',
  'close dir',
  'open lock RDWR|CREAT ok',
  'flock lock EX|NB ok',
  'close coord',
  'mkdir dir',
  'open coord RDWR|CREAT ok',
  'flock coord EX|NB ok',
  'close lock',
  'unlink lock ok',
  'close coord',
];

describe.skipIf(!straceWorks)("Skein's writer lock follows the same system-call protocol as Codex", () => {
  const fx = useCodexFixture();
  let traces: string;
  beforeAll(async () => {
    traces = await mkdtemp(path.join(tmpdir(), 'skein-lock-trace-'));
  });
  afterAll(async () => {
    if (!process.env.KEEP_TRACES) await rm(traces, { recursive: true, force: true });
  });

  it('codex exec resume and a Skein resume/append/shutdown make the same lock steps, each after the other', async () => {
    const { home, cwd, store } = fx;
    // A legacy thread, so both programs may append to it.
    const id = await writeSkeinThread(store, { cwd, turns: [{ prompt: 'traced thread' }] });
    const locks = path.join(home.path, 'thread-writer-locks');

    const codexTrace = path.join(traces, 'codex.txt');
    assertRunOk(
      await runCodexExec(home, ['resume', id, 'codex, traced'], { cwd, wrapper: lockTraceWrapper(codexTrace) }),
    );
    const codexSteps = lockSteps(await readFile(codexTrace, 'utf8'), id);
    expect(codexSteps).toEqual(CODEX_RESUME_STEPS);

    // A stale lock file (a writer that died) is swept by Skein's first exclusive acquire, as by Codex's.
    const stale = path.join(locks, `${newThreadId()}.lock`);
    await writeFile(stale, '');
    const skeinTrace = path.join(traces, 'skein.txt');
    expect(await runSkeinChild(home.path, id, 'skein, traced', lockTraceWrapper(skeinTrace))).toEqual({ ok: true });
    const skeinSteps = lockSteps(await readFile(skeinTrace, 'utf8'), id);
    const withoutSweep = skeinSteps.filter((s) => !s.includes(' other'));
    expect(withoutSweep).toEqual(codexSteps);
    // The sweep: the stale file was opened, flocked free, closed and unlinked while coordination was held.
    expect(skeinSteps.filter((s) => s.includes(' other'))).toEqual([
      'open other RDWR ok',
      'flock other EX|NB ok',
      'close other',
      'unlink other ok',
    ]);
    expect(existsSync(stale)).toBe(false);

    // Codex takes the thread right after Skein released it, and Skein right after Codex.
    assertRunOk(await runCodexExec(home, ['resume', id, 'codex after skein'], { cwd }));
    expect(await runSkeinChild(home.path, id, 'skein after codex')).toEqual({ ok: true });
    expect((await skeinHistory(store, id)).user).toEqual([
      'traced thread',
      'codex, traced',
      'skein, traced',
      'codex after skein',
      'skein after codex',
    ]);
    // Both clean up: only the coordination file stays.
    expect(await readdir(locks)).toEqual(['.coordination.lock']);
  });
});
