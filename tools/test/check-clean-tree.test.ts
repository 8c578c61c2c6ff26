import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const script = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../check-clean-tree.mjs');

let repos: string[] = [];
afterEach(() => {
  for (const repo of repos) rmSync(repo, { recursive: true, force: true });
  repos = [];
});

function git(cwd: string, ...args: string[]): void {
  const result = spawnSync('git', ['-c', 'user.name=Skein', '-c', 'user.email=skein@example.invalid', ...args], {
    cwd,
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new Error(`git ${args.join(' ')}: ${result.stderr}`);
}

/** A repository with one committed generated file and an ignored folder. */
function makeRepo(): string {
  const repo = mkdtempSync(path.join(tmpdir(), 'skein-clean-tree-'));
  repos.push(repo);
  git(repo, 'init', '--quiet');
  writeFileSync(path.join(repo, 'gen.ts'), 'export const v = 1;\n');
  writeFileSync(path.join(repo, 'notes.md'), 'work\n');
  writeFileSync(path.join(repo, '.gitignore'), 'out/\n');
  git(repo, 'add', '.');
  git(repo, 'commit', '--quiet', '-m', 'init');
  return repo;
}

function check(repo: string, ...command: string[]) {
  const args = command.length > 0 ? [script, '--', ...command] : [script];
  const result = spawnSync(process.execPath, args, { cwd: repo, encoding: 'utf8' });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

const sh = (script: string) => ['sh', '-c', script];

describe('check-clean-tree', () => {
  it('passes when the command reproduces the committed files or writes only ignored ones', () => {
    const repo = makeRepo();
    const { status, output } = check(
      repo,
      ...sh("printf 'export const v = 1;\\n' > gen.ts && mkdir -p out && echo x > out/y"),
    );
    expect(output).toContain('left the working tree unchanged');
    expect(status).toBe(0);
  });

  it('fails and names the file when the command changes a tracked file', () => {
    const repo = makeRepo();
    const { status, output } = check(repo, ...sh("printf 'export const v = 2;\\n' > gen.ts"));
    expect(status).toBe(1);
    expect(output).toContain('changed 1 file(s)');
    expect(output).toMatch(/^ {2}gen\.ts$/m);
    expect(output).toContain('gen.ts | 2 +-');
  });

  it('fails when the command leaves a new unignored file or deletes a tracked one', () => {
    const repo = makeRepo();
    const { status, output } = check(repo, ...sh('echo new > extra.ts && rm notes.md'));
    expect(status).toBe(1);
    expect(output).toContain('changed 2 file(s)');
    expect(output).toMatch(/^ {2}extra\.ts$/m);
    expect(output).toMatch(/^ {2}notes\.md$/m);
  });

  it('ignores edits that were already in the tree, but not further changes to them', () => {
    const repo = makeRepo();
    writeFileSync(path.join(repo, 'notes.md'), 'work in progress\n');
    expect(check(repo, 'true').status).toBe(0);
    const { status, output } = check(repo, ...sh('echo more >> notes.md'));
    expect(status).toBe(1);
    expect(output).toMatch(/^ {2}notes\.md$/m);
  });

  it("passes the command's failure through", () => {
    const repo = makeRepo();
    const { status, output } = check(repo, ...sh('exit 3'));
    expect(status).toBe(3);
    expect(output).toContain('exited with 3');
  });

  it('without a command, fails on any difference from HEAD', () => {
    const repo = makeRepo();
    expect(check(repo).status).toBe(0);
    writeFileSync(path.join(repo, 'gen.ts'), 'hand-edited\n');
    const { status, output } = check(repo);
    expect(status).toBe(1);
    expect(output).toContain('The working tree differs from HEAD in 1 file(s)');
  });
});
