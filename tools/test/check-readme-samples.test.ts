import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { checkReadmeSamples, extractSamples } from '../check-readme-samples.mjs';

const fence = '```';
const roots: string[] = [];

/** A repository with a root README and one package README (no package code). */
function repo(rootReadme: string, packageReadme = '# pkg\n'): string {
  const root = mkdtempSync(path.join(tmpdir(), 'skein-samples-'));
  roots.push(root);
  writeFileSync(path.join(root, 'README.md'), rootReadme);
  mkdirSync(path.join(root, 'packages', 'pkg'), { recursive: true });
  writeFileSync(path.join(root, 'packages', 'pkg', 'README.md'), packageReadme);
  return root;
}

afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

describe('extractSamples', () => {
  it('takes ts and js blocks with their markers, and ignores shell and output blocks', () => {
    const md = [
      '# Title', // 1
      `${fence}sh`, // 2
      'pnpm build',
      fence,
      '<!-- sample: run -->', // 5
      `${fence}ts`, // 6
      'const a = 1;',
      fence,
      '<!-- sample-prelude: declare const store: unknown; -->',
      `${fence}js`, // 10
      'console.log(store);',
      fence,
      '<!-- sample: skip: the output of a command -->',
      `${fence}ts`, // 14
      '{ id: string }',
      fence,
      fence, // 17: plain block
      'output',
      fence,
    ].join('\n');
    expect(extractSamples(md, 'R.md')).toEqual([
      { readme: 'R.md', line: 6, lang: 'ts', code: 'const a = 1;', mode: 'run', reason: '', prelude: '' },
      {
        readme: 'R.md',
        line: 10,
        lang: 'js',
        code: 'console.log(store);',
        mode: 'check',
        reason: '',
        prelude: 'declare const store: unknown;',
      },
      {
        readme: 'R.md',
        line: 14,
        lang: 'ts',
        code: '{ id: string }',
        mode: 'skip',
        reason: 'the output of a command',
        prelude: '',
      },
    ]);
  });

  it('keeps a marker a blank line above its fence (as Prettier writes it), and not one above other text', () => {
    const md = [
      '<!-- sample: run -->', // 1
      '',
      `${fence}ts`, // 3
      'const a = 1;',
      fence,
      '<!-- sample: run -->', // 6
      'Some text.',
      '',
      `${fence}ts`, // 9
      'const b = 2;',
      fence,
    ].join('\n');
    expect(extractSamples(md, 'R.md').map((x) => [x.line, x.mode])).toEqual([
      [3, 'run'],
      [9, 'check'],
    ]);
  });

  it('refuses a skip without a reason and an unknown marker', () => {
    expect(() => extractSamples(`<!-- sample: skip -->\n${fence}ts\nx\n${fence}\n`, 'R.md')).toThrow(
      'R.md:1: `sample: skip` needs a reason',
    );
    expect(() => extractSamples(`<!-- sample: maybe -->\n${fence}ts\nx\n${fence}\n`, 'R.md')).toThrow(
      'unknown sample marker',
    );
  });
});

// Each check starts a TypeScript program (and tsx for runnable samples): seconds, not ms.
describe('checkReadmeSamples', { timeout: 120_000 }, () => {
  it('passes samples that compile and runnable samples that exit 0', () => {
    const root = repo(
      [
        `${fence}ts`,
        "import { tmpdir } from 'node:os';",
        'const dir: string = tmpdir();',
        fence,
        '<!-- sample: run -->',
        `${fence}ts`,
        'const n: number = await Promise.resolve(1);',
        'if (n !== 1) throw new Error("no");',
        fence,
      ].join('\n'),
    );
    expect(checkReadmeSamples(root)).toEqual({ checked: 2, ran: 1, skipped: [], problems: [] });
  });

  it('reports a type error at its README line, and a runnable sample that throws', () => {
    const root = repo(
      '# Root\n',
      [
        '# pkg', // 1
        `${fence}ts`, // 2
        'const ok = 1;', // 3
        'const n: number = "two";', // 4
        fence,
        '<!-- sample: run -->',
        `${fence}js`, // 7
        'throw new Error("the sample is wrong");',
        fence,
        '<!-- sample: skip: shows a JSON shape -->',
        `${fence}ts`,
        '{ id: string }',
        fence,
      ].join('\n'),
    );
    const result = checkReadmeSamples(root);
    expect(result.checked).toBe(2);
    expect(result.skipped).toEqual([
      { name: path.join('packages', 'pkg', 'README.md') + ':11', reason: 'shows a JSON shape' },
    ]);
    expect(result.problems).toHaveLength(2);
    expect(result.problems[0]).toBe(
      `${path.join('packages', 'pkg', 'README.md')}:4: Type 'string' is not assignable to type 'number'.`,
    );
    expect(result.problems[1]).toMatch(
      /README\.md:7: the runnable sample failed \(exit 1\):[\s\S]*the sample is wrong/,
    );
  });
});
