import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, requireBuiltBinary, run, serve } from './cli-harness.js';
import type { RunResult, Server } from './cli-harness.js';
import { copyHome, makeFixtureHome, THREADS } from './fixture-home.js';

/**
 * The same sequence of changes against a local home and against a server over an identical
 * copy: each step must print the same thing and exit the same way on both.
 */
const env = cleanEnv();
const T = THREADS;
let localHome: string;
let server: Server;

beforeAll(async () => {
  requireBuiltBinary();
  const fixture = makeFixtureHome();
  localHome = copyHome(fixture);
  server = await serve(copyHome(fixture), [], env);
});

afterAll(async () => {
  expect((await server?.stop('SIGTERM'))?.code).toBe(0);
});

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;
const known = new Set(Object.values(T).map((t) => t.id));

/** Replaces ids the fixture does not know (forks) by their order of appearance. */
function normalize(text: string, fresh: Map<string, string>): string {
  // Only a local store has rollout paths (--json shows them; null through a server), and times
  // written by the changes themselves differ by the milliseconds between the two runs.
  return text
    .replace(/"rolloutPath": (null|"[^"]*")/g, '"rolloutPath": <path>')
    .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/g, (t) =>
      Math.abs(Date.parse(t) - Date.now()) < 3_600_000 ? '<now>' : t,
    )
    .replace(UUID, (id) => {
      if (known.has(id)) return id;
      if (!fresh.has(id)) fresh.set(id, `<new-${fresh.size + 1}>`);
      return fresh.get(id)!;
    });
}

const freshLocal = new Map<string, string>();
const freshRemote = new Map<string, string>();

/**
 * Runs one step on both stores and checks they agree. `args` may depend on the side, for ids
 * that each side made itself (forks).
 */
async function step(args: string[] | ((side: 'local' | 'remote') => string[])): Promise<RunResult> {
  const argsOf = typeof args === 'function' ? args : () => args;
  const [local, remote] = await Promise.all([
    run([...argsOf('local'), '--home', localHome], { env }),
    run([...argsOf('remote'), '--endpoint', server.url], { env }),
  ]);
  expect({
    code: remote.code,
    stdout: normalize(remote.stdout, freshRemote),
    stderr: normalize(remote.stderr, freshRemote),
  }).toEqual({
    code: local.code,
    stdout: normalize(local.stdout, freshLocal),
    stderr: normalize(local.stderr, freshLocal),
  });
  return local;
}

function ids(tsv: string): string[] {
  return tsv
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split('\t')[0]!);
}

describe('changing threads gives the same results locally and through a server', () => {
  it('rename, then find the thread by its new name', async () => {
    const r = await step(['threads', 'rename', '0193aaaa-1', 'test fixes']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`Renamed ${T.tests.id} to "test fixes"\n`);
    const show = await step(['threads', 'show', 'test fixes']);
    expect(show.stdout).toMatch(/^Name\s+test fixes$/m);
    const json = await step(['threads', 'rename', 'test fixes', 'test fixes 2', '--json']);
    expect(JSON.parse(json.stdout)).toMatchObject({ id: T.tests.id, name: 'test fixes 2' });
    expect((await step(['threads', 'rename', 'test fixes 2', 'test fixes'])).code).toBe(0);
  });

  it('archive and unarchive move the thread between the collections', async () => {
    const a = await step(['threads', 'archive', 'test fixes']);
    expect(a.stdout).toBe(`Archived ${T.tests.id} (test fixes)\n`);
    expect(ids((await step(['threads', 'list'])).stdout)).toEqual([T.docs.id]);
    expect(ids((await step(['threads', 'list', '--archived'])).stdout)).toEqual([T.tests.id, T.old.id]);
    const again = await step(['threads', 'archive', 'test fixes']);
    expect(again.code).toBe(4);
    expect(again.stderr).toMatch(/already archived/);
    const u = await step(['threads', 'unarchive', 'test fixes', '--json']);
    expect(JSON.parse(u.stdout)).toMatchObject({ id: T.tests.id, archived: false, archivedAt: null });
    expect(ids((await step(['threads', 'list'])).stdout)).toEqual([T.docs.id, T.tests.id]);
  });

  it('fork copies history up to a turn and records where it came from', async () => {
    const forkIds = { local: '', remote: '' };
    const idOf = (stdout: string): string => (JSON.parse(stdout) as { id: string }).id;
    // Run separately so each side's new id is known, then compared as a step would.
    const [fl, fr] = await Promise.all([
      run(['threads', 'fork', 'test fixes', '--turn', '1', '--json', '--home', localHome], { env }),
      run(['threads', 'fork', 'test fixes', '--turn', '1', '--json', '--endpoint', server.url], { env }),
    ]);
    expect(fl.code, fl.stderr).toBe(0);
    expect(normalize(fr.stdout, freshRemote)).toBe(normalize(fl.stdout, freshLocal));
    forkIds.local = idOf(fl.stdout);
    forkIds.remote = idOf(fr.stdout);
    const forked = JSON.parse(fl.stdout) as { id: string; forkedFromId: string };
    expect(forked.forkedFromId).toBe(T.tests.id);
    expect(forked.id).not.toBe(T.tests.id);
    const show = await step((side) => ['threads', 'show', forkIds[side], '--json']);
    const doc = JSON.parse(show.stdout) as {
      thread: { forkedFromId: string };
      messages: { role: string; text: string }[];
    };
    expect(doc.thread.forkedFromId).toBe(T.tests.id);
    expect(doc.messages.filter((m) => m.role !== 'notice').map((m) => m.text)).toEqual([
      'fix the failing test',
      'All tests pass now.',
    ]);

    const [wl, wr] = await Promise.all([
      run(['threads', 'fork', T.tests.id, '--home', localHome], { env }),
      run(['threads', 'fork', T.tests.id, '--endpoint', server.url], { env }),
    ]);
    expect(normalize(wr.stdout, freshRemote)).toBe(normalize(wl.stdout, freshLocal));
    const whole = { local: /into (\S+)/.exec(wl.stdout)?.[1] ?? '', remote: /into (\S+)/.exec(wr.stdout)?.[1] ?? '' };
    expect(whole.local, wl.stdout + wl.stderr).not.toBe('');
    const text = (await step((side) => ['threads', 'show', whole[side]])).stdout;
    expect(text).toContain('user: now add a changelog entry');
    expect(text).toMatch(new RegExp(`^Forked from\\s+${T.tests.id}$`, 'm'));
  });

  it('delete removes the thread for good', async () => {
    const d = await step(['threads', 'delete', '0193bbbb', '--yes']);
    expect(d.stdout).toBe(`Deleted ${T.oss.id} (explain the parser tokens)\n`);
    const gone = await step(['threads', 'show', T.oss.id]);
    expect(gone.code).toBe(3);
    expect(ids((await step(['threads', 'list', '--provider', 'oss'])).stdout)).toEqual([]);
  });

  it('rename --clear removes the name', async () => {
    const r = await step(['threads', 'rename', 'docs work', '--clear']);
    expect(r.stdout).toBe(`Cleared the name of ${T.docs.id}\n`);
    expect((await step(['threads', 'show', T.docs.id])).stdout).toMatch(/^Name\s+-$/m);
  });
});
