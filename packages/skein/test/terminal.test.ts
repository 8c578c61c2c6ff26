import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { BIN, cleanEnv, ok, requireBuiltBinary } from './cli-harness.js';
import { makeFixtureHome, THREADS } from './fixture-home.js';

/** util-linux `script` gives the CLI a real pseudo-terminal as stdout. */
const SCRIPT = '/usr/bin/script';
const hasPty = existsSync(SCRIPT);

const quote = (s: string): string => `'${s.replace(/'/g, "'\\''")}'`;

function inTerminal(args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  const command = [process.execPath, BIN, ...args].map(quote).join(' ');
  return new Promise((resolve, reject) => {
    execFile(SCRIPT, ['-qec', command, '/dev/null'], { env, timeout: 30_000 }, (err, stdout) =>
      err ? reject(err) : resolve(stdout),
    );
  });
}

const ESC = '\u001b[';
let home: string;
beforeAll(() => {
  requireBuiltBinary();
  home = makeFixtureHome();
});

describe.skipIf(!hasPty)('on a terminal', () => {
  it('lists as a table with a header, in color', async () => {
    const out = await inTerminal(['threads', 'list', '--home', home], cleanEnv({ COLUMNS: '120' }));
    expect(out).toContain(ESC);
    expect(out).toMatch(/ID.*UPDATED.*PROVIDER.*NAME \/ PREVIEW/);
    expect(out).toContain(THREADS.docs.id);
    expect(out).not.toContain('\t');
  });

  it('NO_COLOR and --no-color keep the table but drop the color', async () => {
    for (const [args, extra] of [
      [[], { NO_COLOR: '1' }],
      [['--no-color'], {}],
    ] as const) {
      const out = await inTerminal(['threads', 'list', '--home', home, ...args], cleanEnv({ ...extra }));
      expect(out).not.toContain(ESC);
      expect(out).toMatch(/ID\s+UPDATED\s+PROVIDER\s+NAME \/ PREVIEW/);
    }
  });
});

describe('piped', () => {
  it('has no table header and no color', async () => {
    const out = await ok(['threads', 'list', '--home', home], { env: cleanEnv() });
    expect(out).not.toContain(ESC);
    expect(out).not.toMatch(/^ID/m);
    expect(out.split('\n')[0]!.split('\t')).toHaveLength(4);
  });
});
