import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram, programFor } from '../src/internal/program.js';

const argv = (...args: string[]): string[] => ['node', 'skein', ...args];

/** Every command under `cmd` (itself included) by its path, e.g. `skein threads list`. */
function byPath(cmd: Command, prefix = ''): Map<string, Command> {
  const path = prefix === '' ? cmd.name() : `${prefix} ${cmd.name()}`;
  const out = new Map([[path, cmd]]);
  for (const sub of cmd.commands) for (const [p, c] of byPath(sub, path)) out.set(p, c);
  return out;
}

/** What a command shows and accepts: its help text, options, arguments and subcommand names. */
function shape(cmd: Command): unknown {
  return {
    help: cmd.helpInformation(),
    options: cmd.options.map((o) => [o.flags, o.description, o.defaultValue, o.argChoices]),
    args: cmd.registeredArguments.map((a) => [a.name(), a.required, a.variadic]),
    hidden: (cmd as unknown as { _hidden: boolean })._hidden,
  };
}

describe('the program a command line needs', () => {
  const full = byPath(buildProgram());

  it('has every command when none is named, as `skein --help` lists them', () => {
    const top = buildProgram().commands.map((c) => c.name());
    expect(top).toEqual([
      'serve',
      'app-server',
      'threads',
      'chat',
      'index',
      'stats',
      'completion',
      '__complete',
      'db',
      'migrate',
    ]);
    expect(
      buildProgram()
        .commands.find((c) => c.name() === 'threads')
        ?.commands.map((c) => c.name()),
    ).toEqual([
      'list',
      'show',
      'search',
      'rename',
      'archive',
      'unarchive',
      'delete',
      'fork',
      'export',
      'resume',
      'prune',
    ]);
    for (const args of [[], ['--help'], ['help', 'threads'], ['thread'], ['--verbose'], ['-V']])
      expect(programFor(argv(...args)).helpInformation(), args.join(' ')).toBe(buildProgram().helpInformation());
  });

  it('builds the named command alone, each of its commands the same as in the whole program', () => {
    const lines: string[][] = [];
    for (const [path] of full) {
      const words = path.split(' ').slice(1);
      if (words.length === 0) continue;
      lines.push(words, [...words, '--help'], ['--verbose', '--no-color', ...words]);
    }
    for (const words of lines) {
      const lean = byPath(programFor(argv(...words)));
      // The lean program has the command the line names, the same with all it holds. (Its
      // parents only pass the line on: their help, which lists one command, is never shown.)
      const named = ['skein', ...words.filter((w) => !w.startsWith('-'))].join(' ');
      expect(lean.has(named), words.join(' ')).toBe(true);
      for (const [path, cmd] of lean) {
        if (path !== named && !path.startsWith(`${named} `)) continue;
        const whole = full.get(path);
        expect(whole, path).toBeDefined();
        expect(shape(cmd), `${path} (for: ${words.join(' ')})`).toEqual(shape(whole as Command));
      }
    }
    // `skein threads list` needs neither the other commands nor list's siblings.
    const lean = byPath(programFor(argv('threads', 'list', '--json')));
    expect([...lean.keys()]).toEqual(['skein', 'skein threads', 'skein threads list']);
    // A subcommand name that is not one gives all of threads, for commander's suggestions.
    expect(byPath(programFor(argv('threads', 'lst'))).size).toBe(2 + 11);
  });
});
