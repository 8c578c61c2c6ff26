import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, ok, requireBuiltBinary, run, serve } from './cli-harness.js';
import { copyHome, makeFixtureHome, THREADS } from './fixture-home.js';

const T = THREADS;
let home: string;

beforeAll(() => {
  requireBuiltBinary();
  home = makeFixtureHome();
});

function ids(tsv: string): string[] {
  return tsv
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.split('\t')[0]!);
}

describe('a folder that is not a Codex home is an error, and nothing is written into it', () => {
  const env = cleanEnv();
  for (const [what, setup] of [
    ['an empty folder', (): void => {}],
    ['a folder of other files', (dir: string): void => writeFileSync(join(dir, 'notes.txt'), 'hello')],
  ] as const) {
    for (const args of [['threads', 'list'], ['threads', 'search', 'x'], ['threads', 'show', 'abcd'], ['index']]) {
      it(`${args.join(' ')} on ${what}`, async () => {
        const dir = mkdtempSync(join(tmpdir(), 'skein-not-home-'));
        setup(dir);
        const before = readdirSync(dir).sort();
        const r = await run([...args, '--home', dir], { env });
        expect(r.code, r.stderr).toBe(4);
        expect(r.stderr).toMatch(/not a Codex home/);
        expect(readdirSync(dir).sort()).toEqual(before);
      });
    }
  }

  it('a missing folder is not found (3) and is not created', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'skein-missing-')), 'nope');
    const r = await run(['threads', 'list', '--home', dir], { env });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/no Codex home at .*nope/);
    expect(readdirSync(join(dir, '..'))).toEqual([]);
  });

  it('chat --init makes a home in an empty folder; without it chat refuses', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'skein-init-'));
    const refused = await run(['chat', '--home', dir], { env, input: 'hi\n' });
    expect(refused.code).toBe(4);
    expect(refused.stderr).toMatch(/--init/);
    expect(readdirSync(dir)).toEqual([]);
    await ok(['chat', '--home', dir, '--init'], { env, input: 'hi\n' });
    expect(ids(await ok(['threads', 'list', '--home', dir, '--all-providers'], { env }))).toHaveLength(1);
  });

  it('any one marker makes a home: config.toml alone', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'skein-config-only-'));
    writeFileSync(join(dir, 'config.toml'), 'model = "gpt-5"\n');
    const r = await run(['threads', 'list', '--home', dir], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('');
  });
});

describe("the default provider is the home's, as Codex reads config.toml", () => {
  const env = cleanEnv();

  it('top-level model_provider', async () => {
    const h = copyHome(home);
    writeFileSync(join(h, 'config.toml'), 'model_provider = "oss"\n[model_providers.oss]\nname = "OSS"\n');
    expect(ids(await ok(['threads', 'list', '--home', h], { env }))).toEqual([T.oss.id]);
  });

  it("the active profile's model_provider wins over the top-level one", async () => {
    const h = copyHome(home);
    writeFileSync(
      join(h, 'config.toml'),
      'profile = "work"\nmodel_provider = "oss"\n[profiles.work]\nmodel_provider = "openai"\n',
    );
    expect(ids(await ok(['threads', 'list', '--home', h], { env }))).toEqual([T.docs.id, T.tests.id]);
  });

  it('--default-provider overrides the config', async () => {
    const h = copyHome(home);
    writeFileSync(join(h, 'config.toml'), 'model_provider = "oss"\n');
    expect(ids(await ok(['threads', 'list', '--home', h, '--default-provider', 'openai'], { env }))).toEqual([
      T.docs.id,
      T.tests.id,
    ]);
  });

  it('a broken config.toml is a clear error naming the file', async () => {
    const h = copyHome(home);
    writeFileSync(join(h, 'config.toml'), 'model_provider = \n');
    const r = await run(['threads', 'list', '--home', h], { env });
    expect(r.code).toBe(4);
    expect(r.stderr).toContain(join(h, 'config.toml'));
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  });

  it('a profile that config.toml selects but does not define is an error', async () => {
    const h = copyHome(home);
    writeFileSync(join(h, 'config.toml'), 'profile = "gone"\n');
    const r = await run(['threads', 'list', '--home', h], { env });
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/profiles\.gone/);
  });
});

describe("Skein's own config file: named profiles", () => {
  function configured(toml: string): NodeJS.ProcessEnv {
    const xdg = mkdtempSync(join(tmpdir(), 'skein-xdg-'));
    mkdirSync(join(xdg, 'skein'));
    writeFileSync(join(xdg, 'skein', 'config.toml'), toml);
    return cleanEnv({ XDG_CONFIG_HOME: xdg });
  }

  it('--profile picks the home (and its default provider); SKEIN_PROFILE and default_profile too', async () => {
    const other = copyHome(home);
    const toml = `default_profile = "oss"\n[profiles.oss]\nhome = "${home}"\ndefault_provider = "oss"\n[profiles.mine]\nhome = "${other}"\n`;
    const env = configured(toml);
    expect(ids(await ok(['threads', 'list'], { env }))).toEqual([T.oss.id]);
    expect(ids(await ok(['threads', 'list', '--profile', 'mine'], { env }))).toEqual([T.docs.id, T.tests.id]);
    expect(ids(await ok(['threads', 'list'], { env: { ...env, SKEIN_PROFILE: 'mine' } }))).toEqual([
      T.docs.id,
      T.tests.id,
    ]);
  });

  it('precedence: a flag beats the environment, which beats the profile', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'skein-empty-home-'));
    mkdirSync(join(empty, 'sessions'));
    const env = configured(`default_profile = "p"\n[profiles.p]\nhome = "${empty}"\n`);
    // The profile names an empty home: nothing listed.
    expect(await ok(['threads', 'list'], { env })).toBe('');
    // --home (a flag) wins over the profile.
    expect(ids(await ok(['threads', 'list', '--home', home], { env }))).toEqual([T.docs.id, T.tests.id]);
    // SKEIN_ENDPOINT (the environment) wins over the profile's home: the error names the variable.
    const viaEnv = await run(['threads', 'list'], { env: { ...env, SKEIN_ENDPOINT: 'http://127.0.0.1:1' } });
    expect(viaEnv.code).toBe(8);
    expect(viaEnv.stderr).toMatch(/SKEIN_ENDPOINT/);
  });

  it('an unknown profile lists the known ones', async () => {
    const env = configured(`[profiles.a]\nhome = "${home}"\n[profiles.b]\nendpoint = "http://127.0.0.1:1"\n`);
    const r = await run(['threads', 'list', '--profile', 'c'], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no profile "c" .*profiles: a, b/);
  });

  it("a profile's endpoint, token file and protocol reach a secured server", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'skein-token-'));
    const token = 'profile-token-0123456789';
    writeFileSync(join(dir, 'tokens.txt'), `${token} default\n`);
    writeFileSync(join(dir, 'token'), `${token}\n`);
    const server = await serve(copyHome(home), ['--tokens', join(dir, 'tokens.txt')], cleanEnv());
    try {
      const env = configured(
        `[profiles.remote]\nendpoint = "${server.url}"\ntoken_file = "${join(dir, 'token')}"\nprotocol = "connect"\n` +
          `[profiles.tokenless]\nendpoint = "${server.url}"\n`,
      );
      expect(ids(await ok(['threads', 'list', '--profile', 'remote'], { env }))).toEqual([T.docs.id, T.tests.id]);
      // Without the token file the same server refuses, and the error says where the endpoint came from.
      const refused = await run(['threads', 'list', '--profile', 'tokenless'], { env });
      expect(refused.code).toBe(9);
      expect(refused.stderr).toMatch(/the endpoint comes from profile "tokenless"/);
      // A flag still wins over the profile.
      expect(ids(await ok(['threads', 'list', '--profile', 'remote', '--home', home], { env }))).toEqual([
        T.docs.id,
        T.tests.id,
      ]);
    } finally {
      await server.stop();
    }
  });
});
