import { Command, CommanderError } from 'commander';
import { appServerCommand } from './commands/app-server.js';
import { chatCommand } from './commands/chat.js';
import { completeCommand, completionCommand } from './commands/completion.js';
import { dbCommand } from './commands/db.js';
import { migrateCommand } from './commands/migrate.js';
import { indexCommand } from './commands/index-command.js';
import { serveCommand } from './commands/serve.js';
import { statsCommand } from './commands/stats.js';
import { threadsCommand } from './commands/threads.js';
import { ExitWith, Interrupted } from './cli-error.js';
import { EXIT_CODES } from './exit-codes.js';
import { reportError } from './report-error.js';
import { skeinVersion } from './version.js';

/** The program itself: its description, global options and help text, without commands. */
function programShell(): Command {
  const program = new Command('skein')
    .description('Skein: thread persistence for coding agents, Codex-compatible on disk')
    .version(skeinVersion(), '-V, --version', 'print the version')
    .option('--verbose', 'print stack traces and details with errors')
    .option('--no-color', 'no colors, even on a terminal (NO_COLOR is respected too)')
    .showSuggestionAfterError(true)
    .addHelpText(
      'after',
      `
Examples:
  skein threads list                            threads in ~/.codex (or --home DIR), as Codex lists them
  skein threads show 0193a1b2                   by id prefix or name; numbered turns
  skein threads search "flaky test"             find text in messages
  skein threads resume 0193a1b2                 continue it in Codex
  skein threads prune --older-than 30d          what would be deleted (--yes deletes)
  skein stats                                   counts by month, provider and source
  skein serve                                   serve ~/.codex on 127.0.0.1:7077
  skein threads list --endpoint http://127.0.0.1:7077
  skein serve --store postgres://127.0.0.1/skein  one of many servers over one PostgreSQL
  skein chat                                    a session with the offline echo model
  skein app-server --listen ws://127.0.0.1:4500  Codex's app-server protocol (codex resume --remote)
  skein help threads list                       any command's options and examples

Settings: flags, then environment (SKEIN_ENDPOINT, SKEIN_TOKEN, SKEIN_PROFILE), then a profile in
$XDG_CONFIG_HOME/skein/config.toml (~/.config/skein/config.toml), then defaults (CODEX_HOME, else
~/.codex). --json shapes: "JSON output" in the skein README.

Exit codes: 0 ok, 1 unexpected, 2 usage, 3 not found, 4 invalid request, 5 conflict,
6 unsupported, 7 resource exhausted, 8 unavailable, 9 unauthenticated, 10 permission denied,
130 interrupted.`,
    );
  return program;
}

/**
 * The top-level commands in the order `skein --help` lists them. Each is built only when needed:
 * a command line that names one (`skein threads list`) gets a program with that command alone,
 * since building all of them is a noticeable part of a short command's start.
 */
const COMMANDS: readonly { name: string; make: (sub?: string) => Command; hidden?: boolean }[] = [
  { name: 'serve', make: () => serveCommand() },
  { name: 'app-server', make: () => appServerCommand() },
  { name: 'threads', make: (sub) => threadsCommand(sub) },
  { name: 'chat', make: () => chatCommand() },
  { name: 'index', make: () => indexCommand() },
  { name: 'stats', make: () => statsCommand() },
  { name: 'completion', make: () => completionCommand() },
  { name: '__complete', make: () => completeCommand(buildProgram), hidden: true },
  { name: 'db', make: () => dbCommand() },
  { name: 'migrate', make: () => migrateCommand() },
];

/** The `skein` command line as a commander `Command`, for embedding or testing. */
export function buildProgram(): Command {
  const program = programShell();
  for (const c of COMMANDS) program.addCommand(c.make(), { hidden: c.hidden === true });
  return program;
}

/** The program's own flags that may come before a command name (none takes a value). */
const GLOBAL_FLAGS = new Set(['--verbose', '--no-color']);

/**
 * The program a command line needs: when it names a top-level command (after any of the global
 * flags), the program with that command alone, built for the subcommand it names; otherwise
 * (`skein`, `skein --help`, `skein help threads`, a typo that needs suggestions) every command.
 * What the named command parses, prints and does is the same either way (program.test.ts).
 */
export function programFor(argv: readonly string[]): Command {
  const args = argv.slice(2);
  let i = 0;
  while (i < args.length && GLOBAL_FLAGS.has(args[i] as string)) i++;
  const spec = COMMANDS.find((c) => c.name === args[i]);
  if (!spec) return buildProgram();
  const program = programShell();
  const next = args[i + 1];
  program.addCommand(spec.make(next !== undefined && !next.startsWith('-') ? next : undefined), {
    hidden: spec.hidden === true,
  });
  return program;
}

/** Applies exit and output rules to a command and all of its subcommands. */
function configure(cmd: Command, writeErr: (s: string) => void): void {
  cmd.exitOverride();
  cmd.configureOutput({
    // Commander's own messages ("error: unknown command 'x'") become one "skein: …" line.
    // Suggestions ("(Did you mean list?)") join the same line.
    outputError: (str) =>
      writeErr(
        `skein: ${str
          .replace(/^error: /, '')
          .trim()
          .replace(/\s*\n\s*/g, ' ')}\n`,
      ),
  });
  for (const sub of cmd.commands) configure(sub, writeErr);
}

/** Runs the CLI and resolves with the process exit code (it never throws). */
export async function runCli(argv: readonly string[]): Promise<number> {
  const writeErr = (s: string): void => void process.stderr.write(s);
  const verbose = argv.includes('--verbose');
  const program = programFor(helpForNestedCommand(argv));
  configure(program, writeErr);
  try {
    await program.parseAsync(helpForNestedCommand(argv));
    return EXIT_CODES.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help, --version and `help <cmd>` end through here with exit code 0.
      return err.exitCode === 0 ? EXIT_CODES.ok : EXIT_CODES.usage;
    }
    // A command that already told the user what happened and only sets the exit code.
    if (err instanceof ExitWith) return err.exitCode;
    if (err instanceof Interrupted) {
      writeErr('\n');
      return EXIT_CODES.interrupted;
    }
    return reportError(err, verbose, writeErr);
  }
}

/**
 * `skein help threads list` means `skein threads list --help`: commander's own help command
 * stops at the first level.
 */
function helpForNestedCommand(argv: readonly string[]): string[] {
  const [node = 'node', script = 'skein', first, ...rest] = argv;
  if (first === 'help' && rest.length > 1 && rest.every((a) => !a.startsWith('-')))
    return [node, script, ...rest, '--help'];
  return [...argv];
}
