import { createServer } from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, ok, requireBuiltBinary, run, serve } from './cli-harness.js';
import type { RunResult, Server } from './cli-harness.js';
import { copyHome, makeFixtureHome, THREADS } from './fixture-home.js';

const env = cleanEnv();
const T = THREADS;
let home: string;
let securedHome: string;
let secured: Server;
const TOKEN = 'right-token-0123456789';
const ALICE = 'alice-token-0123456789';

beforeAll(async () => {
  requireBuiltBinary();
  home = makeFixtureHome();
  const tokens = join(copyHome(home), 'tokens.txt');
  writeFileSync(tokens, `# token tenant\n${TOKEN} default\n${ALICE} alice\n`);
  securedHome = copyHome(home);
  secured = await serve(securedHome, ['--tokens', tokens], env);
});

afterAll(async () => {
  expect((await secured?.stop('SIGTERM'))?.code).toBe(0);
});

/** One clear line on stderr, no stack trace, nothing on stdout. */
function expectOneLineError(r: RunResult, code: number, pattern: RegExp): void {
  expect(r.code, `stderr: ${r.stderr}`).toBe(code);
  expect(r.stdout).toBe('');
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^skein: /);
  expect(lines[0]).toMatch(pattern);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

/** A port on 127.0.0.1 that nothing listens on. */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

describe('basics', () => {
  it('--version prints the package version', async () => {
    const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    expect((await ok(['--version'], { env })).trim()).toBe(version);
  });

  it('help <command> describes the command', async () => {
    const out = await ok(['help', 'threads'], { env });
    for (const sub of ['list', 'show', 'search', 'rename', 'archive', 'unarchive', 'delete', 'fork', 'export'])
      expect(out).toContain(sub);
    expect(await ok(['help', 'serve'], { env })).toContain('--tokens');
    expect(await ok(['threads', 'help', 'list'], { env })).toContain('--all-providers');
    expect(await ok(['help', 'threads', 'list'], { env })).toContain('Usage: skein threads list');
  });
});

describe('errors are one line and a distinct exit code', () => {
  it('unknown command: usage (2)', async () => {
    expectOneLineError(await run(['frobnicate'], { env }), 2, /unknown command 'frobnicate'/);
  });

  it('a near miss suggests the command, on the same line', async () => {
    expectOneLineError(await run(['threads', 'lst'], { env }), 2, /unknown command 'lst'.*Did you mean list\?/);
  });

  it('unknown option: usage (2)', async () => {
    expectOneLineError(
      await run(['threads', 'list', '--bogus', '--home', home], { env }),
      2,
      /unknown option '--bogus'/,
    );
  });

  it('bad option value: usage (2)', async () => {
    expectOneLineError(await run(['threads', 'list', '--limit', 'lots', '--home', home], { env }), 2, /--limit/);
    expectOneLineError(
      await run(['threads', 'list', '--home', home, '--endpoint', 'http://127.0.0.1:1'], { env }),
      2,
      /either --home or --endpoint/,
    );
  });

  it('a thread that does not exist: not_found (3)', async () => {
    expectOneLineError(
      await run(['threads', 'show', '0193ffff-0000-7000-8000-000000000000', '--home', home], { env }),
      3,
      /not found/,
    );
    expectOneLineError(
      await run(['threads', 'show', 'no such name', '--home', home], { env }),
      3,
      /no thread matches "no such name"/,
    );
    expectOneLineError(await run(['threads', 'delete', '0193ffff', '--home', home], { env }), 3, /no thread matches/);
  });

  it('an ambiguous prefix lists the candidates, one per line: invalid_request (4)', async () => {
    const r = await run(['threads', 'show', '0193aaaa', '--home', home], { env });
    expect(r.code).toBe(4);
    expect(r.stdout).toBe('');
    const [first, ...rest] = r.stderr.trimEnd().split('\n');
    expect(first).toMatch(/^skein: "0193aaaa" is an id prefix of 2 threads/);
    expect(new Set(rest.map((l) => l.trim().split(/\s+/)[0]))).toEqual(new Set([T.docs.id, T.tests.id]));
  });

  it('--verbose adds the stack', async () => {
    const r = await run(['threads', 'show', '0193ffff-0000-7000-8000-000000000000', '--home', home, '--verbose'], {
      env,
    });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/\n\s+at /);
  });

  it('an unreachable endpoint: unavailable (8)', async () => {
    const port = await closedPort();
    expectOneLineError(
      await run(['threads', 'list', '--endpoint', `http://127.0.0.1:${port}`], { env }),
      8,
      new RegExp(`127\\.0\\.0\\.1:${port}`),
    );
  });

  it('a missing or wrong token: unauthenticated (9); the right one works', async () => {
    expectOneLineError(await run(['threads', 'list', '--endpoint', secured.url], { env }), 9, /token/);
    expectOneLineError(
      await run(['threads', 'list', '--endpoint', secured.url, '--token', 'wrong-token-0000000'], { env }),
      9,
      /token/,
    );
    const out = await ok(['threads', 'list', '--endpoint', secured.url, '--token', TOKEN], { env });
    expect(out.split('\n').filter(Boolean)).toHaveLength(2);
    const viaEnv = await ok(['threads', 'list'], { env: { ...env, SKEIN_ENDPOINT: secured.url, SKEIN_TOKEN: TOKEN } });
    expect(viaEnv).toBe(out);
  });

  it("each tenant has its own home: another tenant's token sees none of the default tenant's threads", async () => {
    const asAlice = ['--endpoint', secured.url, '--token', ALICE];
    expect(await ok(['threads', 'list', '--all-sources', '--all-providers', ...asAlice], { env })).toBe('');
    const r = await run(['threads', 'show', T.docs.id, ...asAlice], { env });
    expect(r.code).toBe(3);
    const chat = await ok(['chat', '--model', 'echo', ...asAlice], { env, input: 'alice was here\n' });
    const id = /^Thread (\S+)/m.exec(chat)![1]!;
    expect(await ok(['threads', 'show', id, ...asAlice], { env })).toContain('user: alice was here');
    // Stored in the tenant's own home, not in the served one.
    expect(
      await ok(['threads', 'list', '--provider', 'echo', '--home', join(securedHome, 'skein-tenants', 'alice')], {
        env,
      }),
    ).toContain(id);
    expect((await run(['threads', 'show', id, '--home', securedHome], { env })).code).toBe(3);
  });
});
