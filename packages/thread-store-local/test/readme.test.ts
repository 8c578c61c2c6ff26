import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tmpHome } from './helpers/home.js';

const pkg = fileURLToPath(new URL('..', import.meta.url));

describe('README', () => {
  it('the example runs against the built package and prints what it says', () => {
    expect(existsSync(new URL('../dist/index.js', import.meta.url))).toBe(true);
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const code = /```ts\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(code).toBeDefined();
    const home = tmpHome();
    const out = execFileSync(
      process.execPath,
      ['--input-type=module', '-e', (code as string).replace('/tmp/my-codex-home', home)],
      {
        cwd: pkg,
        encoding: 'utf8',
      },
    );
    expect(out).toContain('Fix tests (');
    expect(out).toContain('All tests pass now.');
    expect(out).toContain("[ 'session_meta', 'event_msg', 'event_msg' ]");
  });
});
