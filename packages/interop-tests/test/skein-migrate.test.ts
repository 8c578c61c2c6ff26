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
import { generateCodexThreads, type CodexThreadSet } from './support/codex-threads.js';

/**
 * `skein migrate` moves the threads real Codex 0.169 wrote into PostgreSQL and back into an empty
 * Codex home; every rollout file comes back byte for byte (the fork that references its parent's
 * history, which the copy carries itself, aside), and real Codex lists, reads and resumes them.
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
    for (const t of active) {
      // Codex shows a paginated thread's turns once it has loaded the thread (its own
      // thread_history_1.sqlite projection, which a copied home does not have yet).
      if (t.historyMode === 'paginated')
        await client.request('thread/resume', { threadId: t.id }).catch(() => undefined);
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
    };
    const want = rollouts(home.path);
    expect(there.threads).toBe(want.size);
    expect(there).toMatchObject({ copied: want.size, verified: want.size, conflicts: 0 });
    const back = JSON.parse(await skein(home.path, ['migrate', '--from', url, '--to', restored.path, '--json'])) as {
      copied: number;
      verified: number;
    };
    expect(back).toMatchObject({ copied: want.size, verified: want.size });
    const got = rollouts(restored.path);
    // Files are named after their thread's creation time; Codex writes it in the writer's local
    // time zone, which no store records: Skein names the far-time-zone thread's file in UTC.
    const byId = (m: Map<string, Buffer>) => new Map([...m].map(([rel, b]) => [rel.slice(-42), { rel, b }]));
    const [w, g] = [byId(want), byId(got)];
    expect([...g.keys()].sort()).toEqual([...w.keys()].sort());
    const renamed = [...w].filter(([id, f]) => g.get(id)?.rel !== f.rel).map(([id]) => id.slice(0, 36));
    expect(renamed).toEqual([set.farTz]);
    const differing = [...w].filter(([id, f]) => !g.get(id)?.b.equals(f.b)).map(([, f]) => f.rel);
    // Only the paginated fork differs: its first line references the parent's history
    // (history_base), which the copy holds itself instead.
    expect(differing).toEqual([...want.keys()].filter((rel) => rel.includes(set.fork)));
    for (const rel of differing) {
      const lines = (b: Buffer | undefined) => (b?.toString('utf8') ?? '').split('\n');
      expect(lines(want.get(rel))[0]).toContain('history_base');
      expect(lines(got.get(rel))[0]).not.toContain('history_base');
    }
  });

  it('real Codex lists and reads the restored home as it does the original', async () => {
    const original = await codexView(home.path);
    const copy = await codexView(restored.path);
    expect(copy.active).toEqual(original.active);
    expect(copy.archived).toEqual(original.archived);
    expect(copy.turns).toEqual(original.turns);
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
});
