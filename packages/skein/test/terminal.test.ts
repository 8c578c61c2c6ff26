import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import stringWidth from 'string-width';
import { beforeAll, describe, expect, it } from 'vitest';
import { BIN, cleanEnv, ok, requireBuiltBinary } from './cli-harness.js';
import { copyHome, makeFixtureHome, THREADS } from './fixture-home.js';
import { makeRichHome, RICH } from './fixture-rich.js';
import type { RichHome } from './fixture-rich.js';

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
    // Short ids, as long as it takes to tell the shown ones apart (two share 0193aaaa).
    expect(out).toContain(THREADS.docs.id.slice(0, 10));
    expect(out).not.toContain(THREADS.docs.id);
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

/** Runs in a pseudo-terminal of the given width; `input` is typed after `typeAfter` shows up. */
function inTerminalAt(
  columns: number,
  args: string[],
  env: NodeJS.ProcessEnv,
  keys?: { after: string; type: string },
): Promise<{ code: number | null; out: string }> {
  const command = `stty cols ${columns} rows 40; ${[process.execPath, BIN, ...args].map(quote).join(' ')}`;
  return new Promise((resolve, reject) => {
    const child = spawn(SCRIPT, ['-qec', command, '/dev/null'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let typed = false;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no exit in time:\n${out}`));
    }, 30_000);
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (keys && !typed && out.includes(keys.after)) {
        typed = true;
        child.stdin.write(keys.type);
      }
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;?]*[a-zA-Z]/g;
const visible = (s: string): string => s.replace(ANSI, '');

describe.skipIf(!hasPty)('at 80 columns', () => {
  let rich: RichHome;
  beforeAll(() => {
    rich = makeRichHome();
  });

  it('rows fit the width with CJK and emoji names, columns line up, and a cut name does not stay bold', async () => {
    const { out } = await inTerminalAt(80, ['threads', 'list', '--home', rich.home], cleanEnv({ PAGER: 'cat' }));
    const lines = out.split(/\r?\n/).filter((l) => visible(l).trim() !== '');
    const [header, ...rows] = lines;
    expect(visible(header!)).toMatch(/^ID\s+UPDATED\s+PROVIDER\s+NAME \/ PREVIEW$/);
    const providerAt = stringWidth(visible(header!).slice(0, visible(header!).indexOf('PROVIDER')));
    const tableRows = rows.filter((l) => /openai/.test(l));
    expect(tableRows).toHaveLength(3);
    for (const row of tableRows) {
      const text = visible(row);
      expect(stringWidth(text), text).toBeLessThanOrEqual(80);
      expect(stringWidth(text.slice(0, text.indexOf('openai')))).toBe(providerAt);
      // Every bold that opens on a line closes on it.
      const opens = row.split('\u001b[1m').length - 1;
      const closes = row.split('\u001b[22m').length - 1 + row.split('\u001b[0m').length - 1;
      expect(closes, JSON.stringify(row)).toBeGreaterThanOrEqual(opens);
    }
    const cjk = visible(tableRows.find((r) => r.includes('修复'))!);
    expect(cjk).toMatch(/^0193eeee-0002\s+\d h ago\s+openai\s+修复.*…$/);
    expect(visible(tableRows.find((r) => r.includes('🚀'))!)).toMatch(/yesterday|2 days ago/);
  });

  it('a page that has more says how many match in all and how to get the next one, in a short hint', async () => {
    const all = JSON.parse(
      await ok(['threads', 'list', '--all', '--json', '--home', rich.home], { env: cleanEnv() }),
    ) as {
      threads: unknown[];
      total: number;
    };
    expect(all.total).toBe(all.threads.length);
    expect(all.total).toBeGreaterThan(2);
    const { out } = await inTerminalAt(80, ['threads', 'list', '--limit', '1', '--home', rich.home], cleanEnv());
    expect(visible(out)).toMatch(new RegExp(`^1 of ${all.total} threads; more with --page 2, or --all\r?$`, 'm'));
    const next = await inTerminalAt(
      80,
      ['threads', 'list', '--limit', '1', '--page', '2', '--home', rich.home],
      cleanEnv(),
    );
    expect(visible(next.out)).toContain('修复');
    expect(visible(next.out)).toMatch(
      new RegExp(`^2–2 of ${all.total} threads; more with --page 3, or --all\r?$`, 'm'),
    );
    const whole = await inTerminalAt(80, ['threads', 'list', '--all', '--home', rich.home], cleanEnv());
    expect(visible(whole.out)).toMatch(new RegExp(`^${all.total} of ${all.total} threads; that is all\r?$`, 'm'));
  });

  it('search rows are cut like list rows, with the match highlighted', async () => {
    const { out } = await inTerminalAt(80, ['threads', 'search', 'changelog', '--home', rich.home], cleanEnv());
    expect(out).toContain(`\u001b[33m\u001b[1mchangelog`);
    for (const l of out.split(/\r?\n/)) expect(stringWidth(visible(l))).toBeLessThanOrEqual(80);
  });

  it('show goes through $PAGER on a terminal; --no-pager and pipes do not', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'skein-pager-')), 'paged.txt');
    const pagerEnv = cleanEnv({ PAGER: `cat > ${quote(file)}` });
    const shown = await inTerminalAt(80, ['threads', 'show', RICH.turns, '--home', rich.home], pagerEnv);
    expect(shown.code).toBe(0);
    expect(visible(readFileSync(file, 'utf8'))).toContain('── Turn 2 · failed');
    expect(visible(shown.out)).not.toContain('Turn 2');
    rmSync(file);
    const direct = await inTerminalAt(80, ['threads', 'show', RICH.turns, '--no-pager', '--home', rich.home], pagerEnv);
    expect(visible(direct.out)).toContain('Turn 2');
    expect(existsSync(file)).toBe(false);
    await ok(['threads', 'show', RICH.turns, '--home', rich.home], { env: pagerEnv });
    expect(existsSync(file)).toBe(false);
  });

  it('Ctrl-C at the delete prompt exits 130 quietly and deletes nothing', async () => {
    const h = copyHome(rich.home);
    const r = await inTerminalAt(80, ['threads', 'delete', RICH.cjk, '--home', h], cleanEnv(), {
      after: '[y/N]',
      type: '\u0003',
    });
    expect(r.code).toBe(130);
    expect(r.out).not.toMatch(/unexpected|error/i);
    expect(await ok(['threads', 'show', RICH.cjk, '--home', h], { env: cleanEnv() })).toContain('修复');
  });

  it('answering no at the delete prompt deletes nothing; yes deletes', async () => {
    const h = copyHome(rich.home);
    const no = await inTerminalAt(80, ['threads', 'delete', RICH.cjk, '--home', h], cleanEnv(), {
      after: '[y/N]',
      type: 'n\r',
    });
    expect(no.code).toBe(0);
    expect(no.out).toContain('Nothing deleted.');
    const yes = await inTerminalAt(80, ['threads', 'delete', RICH.cjk, '--home', h], cleanEnv(), {
      after: '[y/N]',
      type: 'y\r',
    });
    expect(yes.code).toBe(0);
    expect(visible(yes.out)).toContain(`Deleted ${RICH.cjk}`);
  });
});

describe.skipIf(!hasPty)('progress and waiting on a terminal', () => {
  it('index draws a bar on stderr and clears it before the summary line', async () => {
    const h = makeFixtureHome();
    const { code, out } = await inTerminalAt(80, ['index', '--rebuild', '--home', h], cleanEnv());
    expect(code).toBe(0);
    const barAt = out.search(/[█░·]{10}/);
    expect(barAt).toBeGreaterThanOrEqual(0);
    const clearedAt = out.indexOf('\r\u001b[2K', barAt);
    expect(clearedAt).toBeGreaterThan(barAt);
    expect(out.indexOf('Index of', clearedAt)).toBeGreaterThan(clearedAt);
    // What stays on screen: the summary alone.
    const screen = visible(out.slice(out.lastIndexOf('\r\u001b[2K')));
    expect(screen.trim()).toMatch(/^Index of .* is up to date: rebuilt from 5 files/);
  });

  it('chat shows a waiting indicator until the reply starts, then erases it', async () => {
    const h = makeFixtureHome();
    const { out } = await inTerminalAt(80, ['chat', '--home', h], cleanEnv(), {
      after: '> ',
      type: 'hi there\r\u0004',
    });
    const waitAt = out.indexOf('assistant: …');
    expect(waitAt).toBeGreaterThanOrEqual(0);
    expect(out.indexOf('\r\u001b[2K', waitAt)).toBeGreaterThan(waitAt);
    expect(visible(out)).toContain('echo: hi there');
  });
});
