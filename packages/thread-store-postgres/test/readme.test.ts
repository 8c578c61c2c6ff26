import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from './helpers/database.js';
import type { TestDatabase } from './helpers/database.js';

const pkg = fileURLToPath(new URL('..', import.meta.url));
let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase('readme');
});
afterAll(async () => {
  await db.drop();
});

describe('README', () => {
  it('the example runs against the built package and prints what it says', () => {
    expect(existsSync(new URL('../dist/index.js', import.meta.url))).toBe(true);
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const code = /```ts\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(code).toBeDefined();
    const example = (code as string).replace('postgres://postgres@127.0.0.1:5432/skein', db.url);
    expect(example).not.toBe(code);
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', example], { cwd: pkg, encoding: 'utf8' });
    expect(out).toContain("[ 'Fix tests' ]");
    expect(out).toContain('All tests pass now.');
    expect(out).toContain("[ 'session_meta', 'event_msg', 'event_msg' ]");
  });
});
