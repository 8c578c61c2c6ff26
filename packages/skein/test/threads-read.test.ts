import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, ok, requireBuiltBinary, run, serve } from './cli-harness.js';
import type { Server } from './cli-harness.js';
import { copyHome, makeFixtureHome, rolloutLines, THREADS } from './fixture-home.js';

/**
 * Every read command against a local home and against `skein serve` over an identical copy of
 * it: the assertions run on both, and the two outputs must be byte-for-byte the same (in JSON,
 * apart from rolloutPath, which only a local store has).
 */
const env = cleanEnv();
let localHome: string;
let server: Server;

beforeAll(async () => {
  requireBuiltBinary();
  localHome = makeFixtureHome();
  server = await serve(copyHome(localHome), [], env);
});

afterAll(async () => {
  const exit = await server?.stop('SIGTERM');
  expect(exit?.code).toBe(0);
});

type Mode = 'local' | 'remote';
const modes: Mode[] = ['local', 'remote'];

function where(mode: Mode): string[] {
  return mode === 'local' ? ['--home', localHome] : ['--endpoint', server.url];
}

async function both(args: string[]): Promise<{ local: string; remote: string }> {
  const [local, remote] = await Promise.all([
    ok([...args, ...where('local')], { env }),
    ok([...args, ...where('remote')], { env }),
  ]);
  return { local, remote };
}

function ids(tsv: string): string[] {
  return tsv
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.split('\t')[0]!);
}

function withoutPaths(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value), (k, v: unknown) => (k === 'rolloutPath' ? undefined : v));
}

const T = THREADS;

describe('threads list: the same listing from a local home and from a server', () => {
  const cases: { args: string[]; expected: string[] }[] = [
    // Codex's defaults: interactive sources (cli, vscode), the default provider, newest first.
    { args: [], expected: [T.docs.id, T.tests.id] },
    { args: ['--all-providers', '--all-sources'], expected: [T.exec.id, T.oss.id, T.docs.id, T.tests.id] },
    { args: ['--provider', 'oss'], expected: [T.oss.id] },
    { args: ['--provider', 'oss', '--provider', 'openai'], expected: [T.oss.id, T.docs.id, T.tests.id] },
    { args: ['--source', 'exec'], expected: [T.exec.id] },
    { args: ['--source', 'vscode'], expected: [T.docs.id] },
    { args: ['--archived'], expected: [T.old.id] },
    { args: ['--cwd', '/proj/a', '--all-providers'], expected: [T.oss.id, T.tests.id] },
    { args: ['--search', 'readme'], expected: [T.docs.id] },
    { args: ['--search', 'DOCS WORK'], expected: [T.docs.id] },
    { args: ['--asc', '--all-sources'], expected: [T.tests.id, T.docs.id, T.exec.id] },
    { args: ['--sort', 'updated', '--all-sources'], expected: [T.tests.id, T.exec.id, T.docs.id] },
    {
      args: ['--all', '--limit', '1', '--all-sources', '--all-providers'],
      expected: [T.exec.id, T.oss.id, T.docs.id, T.tests.id],
    },
  ];
  for (const c of cases) {
    it(`list ${c.args.join(' ') || '(defaults)'}`, async () => {
      const out = await both(['threads', 'list', ...c.args]);
      expect(ids(out.local)).toEqual(c.expected);
      expect(out.remote).toBe(out.local);
    });
  }

  it('--json totals count every thread the filters match, on every page, from a home and a server alike', async () => {
    for (const c of cases) {
      const flags = c.args.filter((a) => a !== '--all');
      const out = await both(['threads', 'list', '--json', '--limit', '1', ...flags]);
      for (const text of [out.local, out.remote])
        expect((JSON.parse(text) as { total: number }).total, c.args.join(' ')).toBe(c.expected.length);
    }
  });

  it('prints id, updatedAt, provider and name-or-preview, tab-separated, when piped', async () => {
    const out = await both(['threads', 'list']);
    expect(out.local.split('\n')[0]).toBe([T.docs.id, '2026-11-21T11:00:00.000Z', 'openai', 'docs work'].join('\t'));
    expect(out.local.split('\n')[1]).toBe(
      [T.tests.id, '2026-11-24T09:00:00.000Z', 'openai', 'fix the failing test'].join('\t'),
    );
  });

  it.each(modes)('pages with --limit and --cursor (%s)', async (mode) => {
    const first = await run(['threads', 'list', '--limit', '1', '--all-sources', ...where(mode)], { env });
    expect(first.code).toBe(0);
    expect(ids(first.stdout)).toEqual([T.exec.id]);
    // A short hint on stderr; the cursor itself is in --json.
    expect(first.stderr).toBe('1 of 3 threads; more: add --page 2, or --all (--json gives nextCursor for --cursor)\n');
    const json = JSON.parse(
      await ok(['threads', 'list', '--limit', '1', '--all-sources', '--json', ...where(mode)], { env }),
    ) as { nextCursor: string };
    const second = await ok(
      ['threads', 'list', '--limit', '2', '--all-sources', '--cursor', json.nextCursor, ...where(mode)],
      { env },
    );
    expect(ids(second)).toEqual([T.docs.id, T.tests.id]);
    const page2 = await ok(['threads', 'list', '--limit', '1', '--page', '2', '--all-sources', ...where(mode)], {
      env,
    });
    expect(ids(page2)).toEqual([T.docs.id]);
  });

  it.each(modes)('--json gives the documented page shape (%s)', async (mode) => {
    const doc = JSON.parse(await ok(['threads', 'list', '--json', '--limit', '1', ...where(mode)], { env })) as Record<
      string,
      unknown
    >;
    expect(Object.keys(doc).sort()).toEqual(['backwardsCursor', 'nextCursor', 'threads', 'total']);
    expect(typeof doc.nextCursor).toBe('string');
    // The default listing of the fixture: docs and tests (openai, interactive sources).
    expect(doc.total).toBe(2);
    expect(doc.backwardsCursor).toBeNull();
    const [thread] = doc.threads as Record<string, unknown>[];
    expect(Object.keys(thread!).sort()).toEqual(
      [
        'agentNickname',
        'agentPath',
        'agentRole',
        'archived',
        'archivedAt',
        'cliVersion',
        'createdAt',
        'cwd',
        'forkedFromId',
        'gitInfo',
        'historyMode',
        'id',
        'memoryMode',
        'model',
        'modelProvider',
        'name',
        'parentThreadId',
        'preview',
        'reasoningEffort',
        'recencyAt',
        'rolloutPath',
        'sessionId',
        'source',
        'threadSource',
        'tokenUsage',
        'updatedAt',
      ].sort(),
    );
    expect(thread).toMatchObject({
      id: T.docs.id,
      sessionId: T.docs.id,
      name: 'docs work',
      preview: 'write the README for the parser',
      modelProvider: 'openai',
      model: 'gpt-5-codex',
      source: 'vscode',
      cwd: '/proj/b',
      cliVersion: '0.169.0',
      createdAt: T.docs.created,
      updatedAt: '2026-11-21T11:00:00.000Z',
      archived: false,
      archivedAt: null,
      forkedFromId: null,
      gitInfo: { sha: 'abc123', branch: 'main', originUrl: 'git@example.com:me/proj.git' },
      historyMode: 'legacy',
    });
    if (mode === 'local') expect(thread!.rolloutPath).toMatch(new RegExp(`${T.docs.id}\\.jsonl$`));
    else expect(thread!.rolloutPath).toBeNull();
  });

  it('the Connect protocol gives the same listing as gRPC (the default)', async () => {
    const grpc = await ok(['threads', 'list', '--all-sources', '--all-providers', '--endpoint', server.url], { env });
    const connect = await ok(
      ['threads', 'list', '--all-sources', '--all-providers', '--endpoint', server.url, '--protocol', 'connect'],
      {
        env,
      },
    );
    expect(connect).toBe(grpc);
    expect(ids(connect)).toHaveLength(4);
  });

  it('--json is the same from both stores, apart from rolloutPath', async () => {
    const out = await both(['threads', 'list', '--json', '--all-sources', '--all-providers']);
    expect(withoutPaths(JSON.parse(out.remote))).toEqual(withoutPaths(JSON.parse(out.local)));
  });
});

describe('threads show', () => {
  it('by name, by id prefix and by full id: the same thread, the same text', async () => {
    const byName = await both(['threads', 'show', 'docs work']);
    const byPrefix = await both(['threads', 'show', '0193aaaa-2']);
    const byId = await both(['threads', 'show', T.docs.id]);
    expect(byName.remote).toBe(byName.local);
    expect(byPrefix.local).toBe(byName.local);
    expect(byId.local).toBe(byName.local);
    expect(byName.local).toContain(T.docs.id);
    expect(byName.local).toMatch(/^Name\s+docs work$/m);
    expect(byName.local).toMatch(/^Source\s+vscode$/m);
    expect(byName.local).toContain('user: write the README for the parser');
    expect(byName.local).toContain('assistant: Here is a README with a usage section.');
  });

  it('prints every turn in order, archived threads too', async () => {
    const out = await both(['threads', 'show', '0193dddd']);
    // A file found in archived_sessions/ gets its archive time when each home indexes it.
    const noArchiveTime = (s: string): string => s.replace(/^(Archived\s+).*$/m, '$1<time>');
    expect(noArchiveTime(out.remote)).toBe(noArchiveTime(out.local));
    expect(out.local).toMatch(/^Archived\s+\d{4}-/m);
    const tests = await both(['threads', 'show', T.tests.id]);
    const lines = tests.local.split('\n').filter((l) => /^(user|assistant): /.test(l));
    expect(lines).toEqual([
      'user: fix the failing test',
      'assistant: All tests pass now.',
      'user: now add a changelog entry',
      'assistant: Added the entry under Unreleased.',
    ]);
  });

  it('--json: the thread and its messages', async () => {
    const out = await both(['threads', 'show', T.tests.id, '--json']);
    const local = JSON.parse(out.local) as { thread: Record<string, unknown>; messages: Record<string, unknown>[] };
    expect(withoutPaths(JSON.parse(out.remote))).toEqual(withoutPaths(local));
    expect(Object.keys(local).sort()).toEqual(['messages', 'thread', 'turns']);
    expect(local.thread.id).toBe(T.tests.id);
    expect(local.messages.map((m) => [m.role, m.text])).toEqual([
      ['user', 'fix the failing test'],
      ['assistant', 'All tests pass now.'],
      ['user', 'now add a changelog entry'],
      ['assistant', 'Added the entry under Unreleased.'],
    ]);
    for (const m of local.messages) expect(Object.keys(m).sort()).toEqual(['role', 'text', 'timestamp']);
  });
});

describe('threads search', () => {
  it('finds message text (agent replies too), same from both stores', async () => {
    const out = await both(['threads', 'search', 'lexer', '--all-providers']);
    expect(out.remote).toBe(out.local);
    expect(ids(out.local)).toEqual([T.oss.id]);
    expect(out.local).toContain('lexer');
  });

  it('--json: results with thread and snippet', async () => {
    const out = await both(['threads', 'search', 'parser', '--json', '--all-providers']);
    const local = JSON.parse(out.local) as { results: { thread: { id: string }; snippet: string }[] };
    expect(withoutPaths(JSON.parse(out.remote))).toEqual(withoutPaths(local));
    expect(Object.keys(local).sort()).toEqual(['backwardsCursor', 'nextCursor', 'results']);
    expect(local.results.map((r) => r.thread.id).sort()).toEqual([T.docs.id, T.oss.id].sort());
    for (const r of local.results) expect(r.snippet.toLowerCase()).toContain('parser');
  });
});

describe('threads export', () => {
  it('jsonl: the rollout lines as stored, same from both stores', async () => {
    const out = await both(['threads', 'export', 'docs work']);
    expect(out.remote).toBe(out.local);
    const lines = out.local
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as unknown);
    expect(lines).toEqual(rolloutLines(T.docs));
  });

  it('markdown: the conversation', async () => {
    const out = await both(['threads', 'export', '0193cccc', '--format', 'markdown']);
    expect(out.remote).toBe(out.local);
    expect(out.local).toContain('# run the linter');
    expect(out.local).toContain('## Turn 1\n\n### User\n\nrun the linter');
    expect(out.local).toContain('### Assistant\n\nLint is clean.');
  });
});
