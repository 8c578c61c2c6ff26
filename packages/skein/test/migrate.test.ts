import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Dirent } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cleanEnv, ok, run, serve } from './cli-harness.js';
import { LocalThreadStore } from '@skein/thread-store-local';
import { makeFixtureHome, THREADS } from './fixture-home.js';
import { LINEAGE, LINEAGE_TURNS, makePaginatedLineage } from './fixture-paginated.js';
import { makeSegmentedThreads, ROLLOUTS, SEGMENTED, SEGMENTED_TURNS, userTexts } from './fixture-segments.js';
import { useTestDatabase } from './pg-database.js';

const url = useTestDatabase('skein_migrate');
/** The forks-by-reference tests' own database (the first tests leave threads in `url`). */
const forksUrl = useTestDatabase('skein_migrate_forks');
/** The reverted threads' tests' own database. */
const segmentsUrl = useTestDatabase('skein_migrate_segments');
const env = cleanEnv();

interface Report {
  dryRun: boolean;
  threads: number;
  copied: number;
  resumed: number;
  skipped: number;
  conflicts: number;
  verified: number | null;
  mismatched: { threadId: string; reason: string }[];
  entries: { threadId: string; action: string; reason?: string; standalone?: string }[];
}

/** Every rollout file of a home, by path relative to it, with its bytes. */
function rollouts(home: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const dir of ['sessions', 'archived_sessions']) {
    if (!existsSync(join(home, dir))) continue;
    for (const e of readdirSync(join(home, dir), { recursive: true, withFileTypes: true }) as Dirent[]) {
      if (!e.isFile() || !/^rollout-.*\.jsonl$/.test(e.name)) continue;
      const abs = join(e.parentPath, e.name);
      out[relative(home, abs)] = readFileSync(abs, 'latin1');
    }
  }
  return out;
}

function fileOf(home: string, threadId: string): string {
  const rel = Object.keys(rollouts(home)).find((r) => r.includes(threadId));
  if (!rel) throw new Error(`no rollout of ${threadId} in ${home}`);
  return join(home, rel);
}

/** What a user sees of each thread: id, name, preview, archived state, provider, cwd, creation. */
async function summaries(home: string): Promise<unknown[]> {
  const out: unknown[] = [];
  for (const archived of [[], ['--archived']]) {
    const doc = JSON.parse(
      await ok(
        ['threads', 'list', '--all', '--all-providers', '--all-sources', '--json', ...archived, '--home', home],
        {
          env,
        },
      ),
    ) as { threads: Record<string, unknown>[] };
    for (const t of doc.threads)
      out.push([t.id, t.name, t.preview, t.archived, t.modelProvider, t.cwd, t.createdAt, t.source]);
  }
  return out;
}

async function migrate(args: string[]): Promise<Report> {
  return JSON.parse(await ok(['migrate', ...args, '--json'], { env })) as Report;
}

const scratch = (): string => mkdtempSync(join(tmpdir(), 'skein-migrate-'));

/** Runs `fn` against a `skein serve` of the home `served`, which must stop cleanly after. */
async function withServer(served: string, fn: (serverUrl: string) => Promise<void>): Promise<void> {
  const server = await serve(served, [], env);
  try {
    await fn(server.url);
  } finally {
    const exit = await server.stop('SIGTERM');
    expect(exit.code).toBe(0);
  }
}

/** Migrates every thread of a server into an empty home, whose rollouts must be `source`'s. */
async function expectRestoredFrom(serverUrl: string, source: string): Promise<void> {
  const restored = join(scratch(), 'from-server');
  expect(await migrate(['--from', serverUrl, '--to', restored])).toMatchObject({ copied: 5, verified: 5 });
  expect(rollouts(restored)).toEqual(rollouts(source));
}

describe('skein migrate', () => {
  it('a home into PostgreSQL and back into an empty home: every rollout byte for byte, names and archived kept', async () => {
    const source = makeFixtureHome();
    const restored = join(scratch(), 'restored');
    const there = await migrate(['--from', source, '--to', url]);
    expect(there).toMatchObject({ threads: 5, copied: 5, resumed: 0, skipped: 0, conflicts: 0, verified: 5 });
    expect(there.mismatched).toEqual([]);
    const back = await migrate(['--from', url, '--to', restored]);
    expect(back).toMatchObject({ threads: 5, copied: 5, skipped: 0, conflicts: 0, verified: 5 });
    const want = rollouts(source);
    expect(Object.keys(want)).toHaveLength(5);
    expect(rollouts(restored)).toEqual(want);
    expect(await summaries(restored)).toEqual(await summaries(source));
    // Running it again copies nothing.
    expect(await migrate(['--from', url, '--to', restored])).toMatchObject({ copied: 0, resumed: 0, skipped: 5 });
    expect(await migrate(['--from', source, '--to', url])).toMatchObject({ copied: 0, skipped: 5, verified: 5 });
  });

  it('--dry-run says what a run would do and writes nothing', async () => {
    const source = makeFixtureHome();
    const target = join(scratch(), 'not-yet');
    const plan = await migrate(['--from', source, '--to', target, '--dry-run']);
    expect(plan).toMatchObject({ dryRun: true, threads: 5, copied: 5, skipped: 0, verified: null });
    expect(existsSync(target)).toBe(false);
    // Against a home that has part of it: the rest would be copied, the rest completed.
    const partial = scratch();
    await migrate(['--from', source, '--to', partial]);
    const keep = readFileSync(fileOf(partial, THREADS.tests.id), 'utf8');
    writeFileSync(fileOf(partial, THREADS.tests.id), keep.split('\n').slice(0, 2).join('\n') + '\n');
    rmSync(fileOf(partial, THREADS.docs.id));
    const before = rollouts(partial);
    const text = await ok(['migrate', '--from', source, '--to', partial, '--dry-run'], { env });
    expect(text).toContain('5 threads: would copy 1, would resume 1, already there 3, conflicts 0');
    expect(rollouts(partial)).toEqual(before);
  });

  it('an interrupted copy is completed by the next run; a thread with another history is left alone', async () => {
    const source = makeFixtureHome();
    const target = scratch();
    await migrate(['--from', source, '--to', target]);
    const want = rollouts(source);
    // Interrupted: one thread holds only its first two lines, another never arrived.
    const cut = fileOf(target, THREADS.tests.id);
    writeFileSync(cut, readFileSync(cut, 'utf8').split('\n').slice(0, 2).join('\n') + '\n');
    rmSync(fileOf(target, THREADS.docs.id));
    const again = await migrate(['--from', source, '--to', target]);
    expect(again).toMatchObject({ copied: 1, resumed: 1, skipped: 3, conflicts: 0, verified: 5 });
    expect(again.entries.find((e) => e.threadId === THREADS.tests.id)?.action).toBe('resume');
    expect(again.entries.find((e) => e.threadId === THREADS.docs.id)?.action).toBe('copy');
    expect(rollouts(target)).toEqual(want);
    // A target thread whose history says something else is not overwritten: exit 5 (conflict).
    const other = fileOf(target, THREADS.exec.id);
    const changed = readFileSync(other, 'utf8').replace(/"message":"[^"]*"/, '"message":"written elsewhere"');
    writeFileSync(other, changed);
    const clash = await run(['migrate', '--from', source, '--to', target], { env });
    expect(clash.code).toBe(5);
    expect(clash.stdout).toContain(`conflict ${THREADS.exec.id}: the target's history differs from the source's`);
    expect(clash.stderr).toContain('1 thread(s) exist in the target with a different history');
    expect(readFileSync(other, 'utf8')).toBe(changed);
  });

  it('to and from a skein serve endpoint, with progress on stderr', async () => {
    const source = makeFixtureHome();
    await withServer(scratch(), async (serverUrl) => {
      const r = await run(['migrate', '--from', source, '--to', serverUrl], { env });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('5 threads: copied 5, resumed 0, already there 0, conflicts 0');
      expect(r.stdout).toContain('verified 5 of 5 threads');
      expect(r.stderr).toMatch(/^migrate: 5\/5 threads/m);
      await expectRestoredFrom(serverUrl, source);
    });
  });

  it('refuses the same store twice and names a bad --from', async () => {
    const home = makeFixtureHome();
    const same = await run(['migrate', '--from', home, '--to', home], { env });
    expect(same.code).toBe(2);
    expect(same.stderr).toContain('--from and --to name the same store');
    const missing = await run(['migrate', '--from', join(scratch(), 'nothing'), '--to', scratch()], { env });
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('no Codex home at');
  });
});

/** The `history_base` of a thread's rollout in a home (its first line's), or undefined. */
function historyBase(home: string, threadId: string): unknown {
  const first = readFileSync(fileOf(home, threadId), 'utf8').split('\n')[0] ?? '';
  return (JSON.parse(first) as { payload: { history_base?: unknown } }).payload.history_base;
}

/** How many turns each thread of the lineage reads as in a home (inherited ones included). */
async function lineageTurns(home: string): Promise<Record<string, number>> {
  const store = new LocalThreadStore({ home, watch: false });
  try {
    const out: Record<string, number> = {};
    for (const [name, id] of Object.entries(LINEAGE)) {
      const page = await store.listTurns({ threadId: id, pageSize: 100 });
      out[name] = page.turns.length;
    }
    return out;
  } finally {
    await store.close();
  }
}

describe('skein migrate of paginated forks by reference', () => {
  const lineageHome = async (): Promise<string> => {
    const home = join(scratch(), 'lineage');
    await makePaginatedLineage(home);
    // The fixture is what it claims: every fork references its base, one of them its grandparent.
    for (const id of [LINEAGE.fork, LINEAGE.forkOfFork, LINEAGE.forkAtBase, LINEAGE.midFork])
      expect(historyBase(home, id)).toBeDefined();
    expect(historyBase(home, LINEAGE.forkAtBase)).toMatchObject({ thread_id: LINEAGE.root });
    expect(historyBase(home, LINEAGE.forkOfFork)).toMatchObject({ thread_id: LINEAGE.fork });
    expect(await lineageTurns(home)).toEqual(LINEAGE_TURNS);
    return home;
  };

  it('home -> PostgreSQL -> empty home: every fork keeps its reference, byte for byte', async () => {
    const source = await lineageHome();
    const there = await migrate(['--from', source, '--to', forksUrl]);
    expect(there).toMatchObject({ threads: 5, copied: 5, conflicts: 0, verified: 5, mismatched: [] });
    expect(there.entries.filter((e) => e.standalone !== undefined)).toEqual([]);
    // Bases before forks, whatever the creation times say.
    const order = there.entries.map((e) => e.threadId);
    expect(order.indexOf(LINEAGE.fork)).toBeLessThan(order.indexOf(LINEAGE.forkOfFork));
    expect(order.indexOf(LINEAGE.root)).toBeLessThan(order.indexOf(LINEAGE.fork));
    // The database reads each fork's whole history: its turns include the inherited ones.
    for (const [name, id] of Object.entries(LINEAGE)) {
      const shown = JSON.parse(await ok(['threads', 'show', id, '--json', '--store', forksUrl], { env })) as {
        turns: unknown[];
      };
      expect(shown.turns, name).toHaveLength(LINEAGE_TURNS[name as keyof typeof LINEAGE]);
    }
    const restored = join(scratch(), 'restored');
    const back = await migrate(['--from', forksUrl, '--to', restored]);
    expect(back).toMatchObject({ threads: 5, copied: 5, conflicts: 0, verified: 5, mismatched: [] });
    expect(back.entries.filter((e) => e.standalone !== undefined)).toEqual([]);
    expect(rollouts(restored)).toEqual(rollouts(source));
    expect(await lineageTurns(restored)).toEqual(LINEAGE_TURNS);
    // Again: nothing to do either way.
    expect(await migrate(['--from', source, '--to', forksUrl])).toMatchObject({ copied: 0, skipped: 5, verified: 5 });
    expect(await migrate(['--from', forksUrl, '--to', restored])).toMatchObject({ copied: 0, skipped: 5, verified: 5 });
  });

  it('home -> skein serve -> empty home, and home -> home, byte for byte', async () => {
    const source = await lineageHome();
    const direct = join(scratch(), 'direct');
    expect(await migrate(['--from', source, '--to', direct])).toMatchObject({ copied: 5, verified: 5 });
    expect(rollouts(direct)).toEqual(rollouts(source));
    const served = scratch();
    await withServer(served, async (serverUrl) => {
      const there = await migrate(['--from', source, '--to', serverUrl]);
      expect(there).toMatchObject({ copied: 5, verified: 5, mismatched: [] });
      expect(there.entries.filter((e) => e.standalone !== undefined)).toEqual([]);
      expect(rollouts(served)).toEqual(rollouts(source));
      await expectRestoredFrom(serverUrl, source);
    });
  });

  it('forks whose base differs in the target are copied standalone, and the output says so', async () => {
    const source = await lineageHome();
    const target = join(scratch(), 'target');
    await migrate(['--from', source, '--to', target]);
    // The target's root says something else (longer), so the forks' byte offsets no longer fit it.
    const forks = [LINEAGE.fork, LINEAGE.forkOfFork, LINEAGE.forkAtBase, LINEAGE.midFork];
    for (const id of forks) rmSync(fileOf(target, id));
    const rootFile = fileOf(target, LINEAGE.root);
    writeFileSync(rootFile, readFileSync(rootFile, 'utf8').replaceAll('plan the parser', 'plan the whole parser'));
    const r = await run(['migrate', '--from', source, '--to', target], { env });
    expect(r.code, r.stderr).toBe(5);
    expect(r.stdout).toContain(`conflict ${LINEAGE.root}`);
    for (const id of forks) {
      expect(r.stdout).toContain(
        `standalone ${id}: a fork by reference copied with its inherited history (session_meta.payload.history_base does not resolve`,
      );
      // The standalone copy holds the inherited items itself.
      expect(historyBase(target, id)).toBeUndefined();
      expect(readFileSync(fileOf(target, id), 'utf8')).toContain('done: plan the parser');
    }
    // Their content is the source's: verified now, and skipped by the next run.
    expect(r.stdout).toContain('verified 4 of 4 threads');
    const again = JSON.parse(
      (await run(['migrate', '--from', source, '--to', target, '--json'], { env })).stdout,
    ) as Report;
    expect(again).toMatchObject({ copied: 0, skipped: 4, conflicts: 1, verified: 4, mismatched: [] });
  });
});

describe('skein migrate of reverted threads (several rollouts each)', () => {
  const segmentedHome = async (): Promise<string> => {
    const home = join(scratch(), 'segmented');
    const store = new LocalThreadStore({ home, watch: false, fsync: 'never' });
    try {
      await makeSegmentedThreads(store);
    } finally {
      await store.close();
    }
    // The fixture is what it claims: three files of one thread, the fork naming a segment.
    const files = Object.keys(rollouts(home));
    expect(files.filter((f) => f.includes(SEGMENTED.reverted))).toHaveLength(3);
    expect(files.some((f) => f.endsWith(`${SEGMENTED.reverted}_${ROLLOUTS.second}.jsonl`))).toBe(true);
    expect(historyBase(home, SEGMENTED.fork)).toMatchObject({ thread_id: ROLLOUTS.first });
    return home;
  };

  const turnsOf = async (home: string): Promise<Record<string, string[]>> => {
    const store = new LocalThreadStore({ home, watch: false });
    try {
      return {
        reverted: await userTexts(store, SEGMENTED.reverted),
        fork: await userTexts(store, SEGMENTED.fork),
      };
    } finally {
      await store.close();
    }
  };

  it('home -> PostgreSQL -> empty home and home -> home: every segment file byte for byte', async () => {
    const source = await segmentedHome();
    expect(await turnsOf(source)).toEqual(SEGMENTED_TURNS);
    const direct = join(scratch(), 'direct');
    const copied = await migrate(['--from', source, '--to', direct]);
    expect(copied).toMatchObject({ threads: 2, copied: 2, conflicts: 0, verified: 2, mismatched: [] });
    expect(copied.entries.filter((e) => e.standalone !== undefined)).toEqual([]);
    expect(rollouts(direct)).toEqual(rollouts(source));

    const there = await migrate(['--from', source, '--to', segmentsUrl]);
    expect(there).toMatchObject({ threads: 2, copied: 2, conflicts: 0, verified: 2, mismatched: [] });
    expect(there.entries.filter((e) => e.standalone !== undefined)).toEqual([]);
    const shown = JSON.parse(
      await ok(['threads', 'show', SEGMENTED.reverted, '--json', '--store', segmentsUrl], { env }),
    ) as {
      turns: unknown[];
    };
    expect(shown.turns).toHaveLength(SEGMENTED_TURNS.reverted.length);
    const restored = join(scratch(), 'restored');
    const back = await migrate(['--from', segmentsUrl, '--to', restored]);
    expect(back).toMatchObject({ threads: 2, copied: 2, conflicts: 0, verified: 2, mismatched: [] });
    expect(rollouts(restored)).toEqual(rollouts(source));
    expect(await turnsOf(restored)).toEqual(SEGMENTED_TURNS);
    expect(await migrate(['--from', source, '--to', segmentsUrl])).toMatchObject({
      copied: 0,
      skipped: 2,
      verified: 2,
    });
  });

  it('home -> skein serve -> empty home, byte for byte', async () => {
    const source = await segmentedHome();
    const served = scratch();
    await withServer(served, async (serverUrl) => {
      const there = await migrate(['--from', source, '--to', serverUrl]);
      expect(there).toMatchObject({ copied: 2, verified: 2, mismatched: [] });
      expect(there.entries.filter((e) => e.standalone !== undefined)).toEqual([]);
      expect(rollouts(served)).toEqual(rollouts(source));
      const restored = join(scratch(), 'from-server');
      expect(await migrate(['--from', serverUrl, '--to', restored])).toMatchObject({ copied: 2, verified: 2 });
      expect(rollouts(restored)).toEqual(rollouts(source));
    });
  });
});
