import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import type { Dirent } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as createH2Server } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { BIN, cleanEnv, ok, requireBuiltBinary, run } from './cli-harness.js';
import { copyHome, makeFixtureHome, THREADS } from './fixture-home.js';
import { addLongThread, makeRichHome, RICH } from './fixture-rich.js';
import type { RichHome } from './fixture-rich.js';

const env = cleanEnv();
const T = THREADS;
let home: string;
let rich: RichHome;

beforeAll(() => {
  requireBuiltBinary();
  home = makeFixtureHome();
  rich = makeRichHome();
});

function ids(tsv: string): string[] {
  return tsv
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.split('\t')[0]!);
}

function sh(script: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile('bash', ['-c', script], { env: { ...env, ...extraEnv }, timeout: 30_000 }, (err, stdout, stderr) =>
      err ? reject(Object.assign(err, { stdout, stderr })) : resolve({ stdout, stderr }),
    );
  });
}

describe('a closed pipe ends every command quietly', () => {
  it('export | head -1, show | head -1, list | head -1', async () => {
    const h = copyHome(home);
    const id = '0193ffff-aaaa-7000-8000-00000000000f';
    addLongThread(h, id, 3000);
    for (const cmd of [
      `threads export ${id}`,
      `threads export ${id} --format markdown`,
      `threads show ${id}`,
      'threads list --all-sources --all-providers',
    ]) {
      const r = await sh(`node ${BIN} ${cmd} --home ${h} | head -1; echo "exit=\${PIPESTATUS[0]}" >&2`);
      expect(r.stdout.split('\n').filter(Boolean)).toHaveLength(1);
      expect(r.stderr, cmd).toBe('exit=0\n');
    }
  });
});

describe('threads show and export: turns as they happened', () => {
  it('numbers the turns; shows the failed one with its error and the interrupted partial reply', async () => {
    const out = await ok(['threads', 'show', RICH.turns, '--home', rich.home], { env });
    expect(out).toMatch(/^Git\s+feature\/login @ deadbeefcafe \(git@example\.com:me\/app\.git\)$/m);
    expect(out).toMatch(/^Turns\s+3$/m);
    expect(out).toContain('── Turn 1 · completed ──\nuser: run the tests\nassistant: All 12 tests pass.\n');
    expect(out).toContain(`── Turn 2 · failed: ${RICH.FAILURE} ──\nuser: now deploy it\n`);
    expect(out).toContain(
      '── Turn 3 · interrupted ──\nuser: write the changelog\nassistant: Here is the changelog so f\n',
    );
    // Reasoning and tools only with --full.
    expect(out).not.toContain('npm test');
    const full = await ok(['threads', 'show', RICH.turns, '--full', '--home', rich.home], { env });
    expect(full).toContain('reasoning:\n  I should run npm test first.\n');
    expect(full).toContain('tool exec_command:\n  {"cmd":"npm test"}\noutput:\n  Tests: 12 passed\n');
  });

  it('--json carries the turns with status and error', async () => {
    const doc = JSON.parse(await ok(['threads', 'show', RICH.turns, '--json', '--home', rich.home], { env })) as {
      turns: { number: number; status: string; error: string | null; entries: { kind: string }[] }[];
    };
    expect(doc.turns.map((t) => [t.number, t.status, t.error])).toEqual([
      [1, 'completed', null],
      [2, 'failed', RICH.FAILURE],
      [3, 'interrupted', 'interrupted'],
    ]);
    expect(doc.turns[0]!.entries.map((e) => e.kind)).toEqual(['user', 'assistant']);
    const full = JSON.parse(
      await ok(['threads', 'show', RICH.turns, '--json', '--full', '--home', rich.home], { env }),
    ) as typeof doc;
    expect(full.turns[0]!.entries.map((e) => e.kind)).toEqual([
      'user',
      'reasoning',
      'tool_call',
      'tool_output',
      'assistant',
    ]);
  });

  it('markdown export: turn headings, the failure, and tools with --full', async () => {
    const md = await ok(['threads', 'export', RICH.turns, '--format', 'markdown', '--full', '--home', rich.home], {
      env,
    });
    expect(md).toContain('- Git: feature/login @ deadbeefcafe');
    expect(md).toContain('## Turn 2\n\n> _failed: stream disconnected');
    expect(md).toContain('**Tool call: `exec_command`**\n\n```\n{"cmd":"npm test"}\n```');
  });

  it('fork --turn N keeps the turns numbered up to N', async () => {
    const h = makeRichHome();
    const out = await ok(['threads', 'fork', RICH.turns, '--turn', '1', '--json', '--home', h.home], { env });
    const forkId = (JSON.parse(out) as { id: string }).id;
    const shown = await ok(['threads', 'show', forkId, '--home', h.home], { env });
    expect(shown).toMatch(/^Turns\s+1$/m);
    expect(shown).toContain('assistant: All 12 tests pass.');
  });
});

describe('finding a thread', () => {
  it('names match in any case; an exact-case name wins', async () => {
    expect(await ok(['threads', 'show', 'DOCS WORK', '--json', '--home', home], { env })).toContain(T.docs.id);
  });

  it('a near miss suggests the name and a hint that keeps --home', async () => {
    const r = await run(['threads', 'show', 'doc work', '--home', home], { env });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/Did you mean "docs work"\?/);
    expect(r.stderr).toContain(`skein threads list --all-sources --all-providers --home ${home}`);
  });

  it('an ambiguous prefix lists one candidate per line', async () => {
    const r = await run(['threads', 'show', '0193aaaa', '--home', home], { env });
    expect(r.code).toBe(4);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^skein: "0193aaaa" is an id prefix of 2 threads/);
    expect(lines.slice(1).sort()).toEqual(
      [`  ${T.docs.id}  docs work`, `  ${T.tests.id}  fix the failing test`].sort(),
    );
  });

  it('--cwd takes ., a trailing slash and a symlink to the folder', async () => {
    const want = [RICH.cjk, RICH.turns].sort();
    const byDot = ids(await ok(['threads', 'list', '--cwd', '.', '--home', rich.home], { env, cwd: rich.project }));
    expect(byDot.sort()).toEqual(want);
    const bySlash = ids(await ok(['threads', 'list', '--cwd', `${rich.project}/`, '--home', rich.home], { env }));
    expect(bySlash.sort()).toEqual(want);
    const byLink = ids(await ok(['threads', 'list', '--cwd', rich.link, '--home', rich.home], { env }));
    expect(byLink.sort()).toEqual(want);
  });
});

describe('destructive commands in scripts', () => {
  it('delete without --yes on a pipe refuses and deletes nothing', async () => {
    const h = copyHome(home);
    const r = await run(['threads', 'delete', T.docs.id, '--home', h], { env, input: 'y\n' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/needs --yes when stdin is not a terminal/);
    expect(await ok(['threads', 'show', T.docs.id, '--home', h], { env })).toContain('docs work');
    await ok(['threads', 'delete', T.docs.id, '--yes', '--home', h], { env });
    expect((await run(['threads', 'show', T.docs.id, '--home', h], { env })).code).toBe(3);
  });

  it('prune is a dry run unless --yes', async () => {
    const h = copyHome(home);
    const all = ['--all-sources', '--all-providers'];
    const dry = await ok(['threads', 'prune', '--older-than', '1d', ...all, '--home', h], { env });
    expect(dry).toContain('4 threads would be deleted. Run again with --yes to delete them.');
    expect(ids(await ok(['threads', 'list', ...all, '--home', h], { env }))).toHaveLength(4);
    const json = JSON.parse(
      await ok(['threads', 'prune', '--older-than', '1d', '--json', ...all, '--home', h], { env }),
    ) as {
      dryRun: boolean;
      threads: { id: string }[];
    };
    expect(json.dryRun).toBe(true);
    expect(json.threads.map((t) => t.id)).toEqual([T.docs.id, T.oss.id, T.exec.id, T.tests.id]);
    const done = await ok(['threads', 'prune', '--older-than', '1d', '--archived', '--yes', '--home', h], { env });
    expect(done).toBe('Deleted 1 thread.\n');
    expect(await ok(['threads', 'list', '--archived', ...all, '--home', h], { env })).toBe('');
    const young = await ok(['threads', 'prune', '--older-than', '3650d', '--home', h], { env });
    expect(young).toContain('nothing to prune');
  });

  it('archive and unarchive act on every thread a filter picks, with a summary', async () => {
    const h = copyHome(home);
    const refused = await run(['threads', 'archive', '--cwd', '/proj/a', '--all-providers', '--home', h], { env });
    expect(refused.code).toBe(2);
    const out = await ok(['threads', 'archive', '--cwd', '/proj/a', '--all-providers', '--yes', '--home', h], { env });
    expect(out).toBe('Archived 2 threads.\n');
    const archived = ids(await ok(['threads', 'list', '--archived', '--all-providers', '--home', h], { env }));
    expect(archived.sort()).toEqual([T.old.id, T.oss.id, T.tests.id].sort());
    const back = JSON.parse(
      await ok(['threads', 'unarchive', '--search', 'parser', '--all-providers', '--yes', '--json', '--home', h], {
        env,
      }),
    ) as { unarchived: string[]; failed: unknown[] };
    expect(back.unarchived.sort()).toEqual([T.old.id, T.oss.id].sort());
    expect(back.failed).toEqual([]);
    // Threads or filters, not both; one of them is needed.
    expect((await run(['threads', 'archive', T.docs.id, '--older-than', '1d', '--home', h], { env })).code).toBe(2);
    expect((await run(['threads', 'archive', '--home', h], { env })).code).toBe(2);
  });
});

describe('threads resume hands the thread to Codex', () => {
  it('runs codex resume <id> with CODEX_HOME set to the home', async () => {
    const bin = mkdtempSync(join(tmpdir(), 'skein-fake-codex-'));
    const record = join(bin, 'record.txt');
    writeFileSync(join(bin, 'codex'), `#!/bin/sh\necho "$CODEX_HOME $*" > ${record}\nexit 7\n`);
    chmodSync(join(bin, 'codex'), 0o755);
    const r = await run(['threads', 'resume', 'docs work', '--home', home], {
      env: { ...env, PATH: `${bin}:${dirname(process.execPath)}:/usr/bin:/bin` },
    });
    expect(readFileSync(record, 'utf8')).toBe(`${home} resume ${T.docs.id}\n`);
    // Codex's exit code is ours.
    expect(r.code).toBe(7);
  });

  it('prints the command when codex is not on PATH', async () => {
    const r = await run(['threads', 'resume', 'docs work', '--home', home], { env: { ...env, PATH: '/nonexistent' } });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`CODEX_HOME=${home} codex resume ${T.docs.id}\n`);
    expect(r.stderr).toMatch(/codex is not on PATH/);
  });
});

describe('stats', () => {
  it('counts threads by month, provider and source, with the bytes of a local home', async () => {
    const doc = JSON.parse(await ok(['stats', '--json', '--home', home], { env })) as Record<string, unknown>;
    expect(doc).toMatchObject({
      threads: 5,
      active: 4,
      archived: 1,
      byMonth: { '2026-11': 5 },
      byProvider: { openai: 4, oss: 1 },
      bySource: { cli: 3, exec: 1, vscode: 1 },
    });
    // From the index: exactly the sizes of the five rollout files on disk.
    const rollouts = ['sessions', 'archived_sessions'].flatMap((dir) =>
      (readdirSync(join(home, dir), { recursive: true, withFileTypes: true }) as Dirent[])
        .filter((e) => e.isFile() && /^rollout-.*\.jsonl$/.test(e.name))
        .map((e) => statSync(join(e.parentPath, e.name)).size),
    );
    expect(rollouts).toHaveLength(5);
    expect(doc.bytes).toBe(rollouts.reduce((a, b) => a + b, 0));
    const text = await ok(['stats', '--home', home], { env });
    expect(text).toMatch(/^Threads\s+5 \(4 active, 1 archived\)/);
  });
});

describe('shell completion', () => {
  it('bash completes commands, flags and thread names through the hidden __complete', async () => {
    const bin = mkdtempSync(join(tmpdir(), 'skein-bin-'));
    writeFileSync(join(bin, 'skein'), `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`);
    chmodSync(join(bin, 'skein'), 0o755);
    const complete = async (words: string[]): Promise<string[]> => {
      const script = `source <(skein completion bash)
COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}
_skein_complete; printf '%s\\n' "\${COMPREPLY[@]}"`;
      const { stdout } = await sh(script, { PATH: `${bin}:${process.env.PATH ?? ''}` });
      return stdout.split('\n').filter(Boolean);
    };
    expect(await complete(['skein', 'thr'])).toEqual(['threads']);
    expect(await complete(['skein', 'threads', 'pr'])).toEqual(['prune']);
    expect(await complete(['skein', 'threads', 'list', '--all-p'])).toEqual(['--all-providers']);
    expect(await complete(['skein', 'threads', 'show', '--home', home, 'do'])).toEqual(['docs\\ work']);
    expect(await complete(['skein', 'threads', 'show', '--home', home, '0193b'])).toEqual(['0193bbbb']);
  });

  it('zsh and fish scripts are printed; an unknown shell is a usage error', async () => {
    expect(await ok(['completion', 'zsh'], { env })).toContain('compdef _skein skein');
    expect(await ok(['completion', 'fish'], { env })).toContain('complete -c skein');
    expect((await run(['completion', 'tcsh'], { env })).code).toBe(2);
  });
});

describe('help', () => {
  it('every command shows examples', async () => {
    for (const cmd of [
      ['threads', 'list'],
      ['threads', 'show'],
      ['threads', 'search'],
      ['threads', 'prune'],
      ['threads', 'resume'],
      ['threads', 'delete'],
      ['stats'],
      ['index'],
      ['chat'],
      ['app-server'],
      ['completion'],
    ]) {
      const out = await ok(['help', ...cmd], { env });
      expect(out, cmd.join(' ')).toContain('Examples:');
      expect(out).toContain(`skein ${cmd.join(' ')}`);
    }
  });
});

describe('an endpoint that is not a Skein server says so', () => {
  it('an HTTP/1 server and an HTTP/2 server that answers 404', async () => {
    const h1 = createServer((_req, res) => res.writeHead(404, { 'content-type': 'text/html' }).end('<html>no</html>'));
    const h2 = createH2Server((_req, res) => {
      res.writeHead(404, { 'content-type': 'text/html' });
      res.end('<html>no</html>');
    });
    await new Promise<void>((r) => h1.listen(0, '127.0.0.1', () => r()));
    await new Promise<void>((r) => h2.listen(0, '127.0.0.1', () => r()));
    try {
      for (const server of [h1, h2]) {
        const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
        for (const protocol of ['grpc', 'connect']) {
          const r = await run(['threads', 'list', '--endpoint', url, '--protocol', protocol], { env });
          expect(r.code, r.stderr).toBe(8);
          expect(r.stderr).toContain(`${url} is not a Skein thread store server`);
        }
        const viaEnv = await run(['threads', 'list'], { env: { ...env, SKEIN_ENDPOINT: url } });
        expect(viaEnv.stderr).toMatch(/point SKEIN_ENDPOINT at the address/);
      }
    } finally {
      h1.close();
      h2.close();
    }
  });
});
