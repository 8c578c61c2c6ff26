import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, ok, requireBuiltBinary, run } from './cli-harness.js';
import { makeFixtureHome, THREADS } from './fixture-home.js';

const env = cleanEnv();
let home: string;

beforeAll(() => {
  requireBuiltBinary();
  home = makeFixtureHome();
});

function lines(...messages: object[]): string {
  return messages.map((m) => JSON.stringify(m)).join('\n') + '\n';
}

describe('skein app-server', () => {
  it('answers the protocol on stdio, every request read before the input ended', async () => {
    const out = await ok(['app-server', '--home', home], {
      env,
      input: lines(
        { id: 1, method: 'initialize', params: { clientInfo: { name: 'cli-test', version: '0' } } },
        { method: 'initialized' },
        { id: 2, method: 'thread/list', params: { sourceKinds: [], modelProviders: [] } },
        { id: 3, method: 'thread/read', params: { threadId: '00000000-0000-7000-8000-000000000000' } },
      ),
    });
    const answers = out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { id: number; result?: any; error?: any });
    expect(answers.find((a) => a.id === 1)?.result.codexHome).toBe(home);
    const listed = answers.find((a) => a.id === 2)?.result.data.map((t: { id: string }) => t.id);
    expect(listed).toContain(THREADS.docs.id);
    expect(listed).toContain(THREADS.oss.id);
    expect(answers.find((a) => a.id === 3)?.error).toMatchObject({ code: -32600 });
  });

  it('refuses a bad --listen, a public address without auth and auth flags without a token file', async () => {
    const bad = await run(['app-server', '--home', home, '--listen', 'http://127.0.0.1:1'], { env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--listen must be stdio://, unix://PATH or ws://IP:PORT');
    const open = await run(['app-server', '--home', home, '--listen', 'ws://0.0.0.0:0'], { env });
    expect(open.code).toBe(4);
    expect(open.stderr).toContain('without authentication is refused');
    const noFile = await run(
      ['app-server', '--home', home, '--listen', 'ws://127.0.0.1:0', '--ws-auth', 'capability-token'],
      {
        env,
      },
    );
    expect(noFile.code).toBe(2);
    expect(noFile.stderr).toContain('--ws-token-file');
    const dir = mkdtempSync(join(tmpdir(), 'skein-token-'));
    writeFileSync(join(dir, 'token'), '\n');
    const empty = await run(
      [
        'app-server',
        '--home',
        home,
        '--listen',
        'ws://127.0.0.1:0',
        '--ws-auth',
        'capability-token',
        '--ws-token-file',
        join(dir, 'token'),
      ],
      { env },
    );
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain('is empty');
  });
});
