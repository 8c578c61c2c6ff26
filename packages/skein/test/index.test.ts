import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, ok, requireBuiltBinary, run } from './cli-harness.js';
import { makeFixtureHome, THREADS } from './fixture-home.js';

const env = cleanEnv();
beforeAll(() => requireBuiltBinary());

describe('index', () => {
  it('reads every rollout of a new home, then nothing when nothing changed; --rebuild reads all again', async () => {
    const home = makeFixtureHome();
    const files = Object.keys(THREADS).length;
    const first = await run(['index', '--home', home], { env });
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(new RegExp(`up to date: read ${files} files \\(\\d+\\.\\d MB\\)`));
    // Piped: plain progress lines (no bar, no carriage returns), with files, MB/s and ETA.
    expect(first.stderr).not.toContain('\r');
    expect(first.stderr).toMatch(new RegExp(`^index: 100% ${files}/${files} files  .* MB/s  ETA  0:00$`, 'm'));

    // Nothing changed: one line, no progress at all.
    const noop = await run(['index', '--home', home], { env });
    expect(noop.stdout).toBe(`Index of ${home} is up to date; nothing changed.\n`);
    expect(noop.stderr).toBe('');

    const again = JSON.parse(await ok(['index', '--home', home, '--json'], { env })) as Record<string, unknown>;
    expect(Object.keys(again).sort()).toEqual(['bytes', 'files', 'home', 'rebuilt', 'seconds']);
    expect(again).toMatchObject({ home, rebuilt: false, files: 0 });

    const rebuilt = JSON.parse(await ok(['index', '--home', home, '--rebuild', '--json'], { env })) as Record<
      string,
      unknown
    >;
    expect(rebuilt).toMatchObject({ rebuilt: true, files });
    expect(rebuilt.bytes).toBeGreaterThan(0);
  });

  it('a lost index is rebuilt and answers the same', async () => {
    const home = makeFixtureHome();
    const before = await ok(['threads', 'list', '--all-sources', '--all-providers', '--home', home], { env });
    const indexFiles = readdirSync(home).filter((f) => f.startsWith('skein_index'));
    expect(indexFiles.length).toBeGreaterThan(0);
    for (const f of indexFiles) rmSync(join(home, f), { force: true });
    await ok(['index', '--home', home], { env });
    expect(await ok(['threads', 'list', '--all-sources', '--all-providers', '--home', home], { env })).toBe(before);
  });

  it('needs an existing home', async () => {
    const r = await run(['index', '--home', join(makeFixtureHome(), 'nope')], { env });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/no Codex home/);
  });
});
