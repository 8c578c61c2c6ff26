import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readAllowedSkips, skippedTests, unexpectedSkips } from '../ci/skips.mjs';

const root = '/repo';
const report = {
  testResults: [
    {
      name: '/repo/packages/a/test/x.test.ts',
      assertionResults: [
        { status: 'passed', ancestorTitles: ['A'], title: 'runs' },
        { status: 'skipped', ancestorTitles: ['A', 'durability'], title: 'survives' },
        { status: 'pending', ancestorTitles: ['B'], title: 'needs strace' },
        { status: 'todo', ancestorTitles: [], title: 'later' },
      ],
    },
  ],
};

describe('the skip check', () => {
  it('lists skipped, pending and todo tests with their file and titles', () => {
    expect(skippedTests(report, root)).toEqual([
      { file: 'packages/a/test/x.test.ts', titles: ['A', 'durability', 'survives'] },
      { file: 'packages/a/test/x.test.ts', titles: ['B', 'needs strace'] },
      { file: 'packages/a/test/x.test.ts', titles: ['later'] },
    ]);
  });

  it('allows a skip only when the file and the leading titles match an entry', () => {
    const skipped = skippedTests(report, root);
    const allowed = [{ file: 'packages/a/test/x.test.ts', within: ['A', 'durability'], reason: 'no reopen' }];
    expect(unexpectedSkips(skipped, allowed).map((s) => s.titles.at(-1))).toEqual(['needs strace', 'later']);
    expect(unexpectedSkips(skipped, [{ ...allowed[0]!, file: 'packages/b/test/x.test.ts' }])).toHaveLength(3);
    expect(unexpectedSkips(skipped, [{ ...allowed[0]!, within: [] }])).toHaveLength(3);
    // One test by its own title, in any group of the file.
    const byTitle = [{ file: 'packages/a/test/x.test.ts', test: 'needs strace', reason: 'a capability' }];
    expect(unexpectedSkips(skipped, byTitle).map((s) => s.titles.at(-1))).toEqual(['survives', 'later']);
  });

  it('the repository allow-list gives a reason for every entry', () => {
    const file = path.join(path.dirname(fileURLToPath(import.meta.url)), '../ci/allowed-skips.json');
    const list = readAllowedSkips(file);
    expect(list.length).toBeGreaterThan(0);
    for (const a of list) expect(a.reason.length).toBeGreaterThan(10);
  });
});
