import { Argument, Command } from 'commander';
import type { Option } from 'commander';
import { MAX_PAGE_SIZE, SESSION_SOURCE_KINDS } from '@skein/thread-store-api';
import { UsageError } from '../cli-error.js';
import { withStore } from '../command-context.js';
import type { StoreFlags } from '../store-options.js';
import { SHORT_ID } from '../thread-text.js';

const SCRIPTS: Record<string, string> = {
  bash: `# skein completion for bash: add to ~/.bashrc
#   source <(skein completion bash)
_skein_complete() {
  local IFS=$'\\n'
  local cur="\${COMP_WORDS[COMP_CWORD]}"
  COMPREPLY=( $(skein __complete -- "\${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null) )
  local i
  for i in "\${!COMPREPLY[@]}"; do COMPREPLY[i]=$(printf '%q' "\${COMPREPLY[i]}"); done
}
complete -o default -F _skein_complete skein
`,
  zsh: `#compdef skein
# skein completion for zsh: add to ~/.zshrc
#   source <(skein completion zsh)
_skein() {
  local -a candidates
  candidates=("\${(@f)$(skein __complete -- "\${(@)words[2,CURRENT]}" 2>/dev/null)}")
  compadd -a candidates
}
compdef _skein skein
`,
  fish: `# skein completion for fish: save as ~/.config/fish/completions/skein.fish
#   skein completion fish > ~/.config/fish/completions/skein.fish
complete -c skein -f -a '(skein __complete -- (commandline -opc)[2..-1] (commandline -ct) 2>/dev/null)'
`,
};

export function completionCommand(): Command {
  return new Command('completion')
    .description('print a shell completion script (commands, flags, thread names and ids)')
    .addArgument(new Argument('<shell>', 'the shell').choices(Object.keys(SCRIPTS)))
    .addHelpText(
      'after',
      `
Examples:
  source <(skein completion bash)                 in ~/.bashrc
  source <(skein completion zsh)                  in ~/.zshrc
  skein completion fish > ~/.config/fish/completions/skein.fish`,
    )
    .action((shell: string) => {
      const script = SCRIPTS[shell];
      if (script === undefined) throw new UsageError(`no completion for ${shell}: use bash, zsh or fish`);
      process.stdout.write(script);
    });
}

function optionNames(cmd: Command): string[] {
  const opts = [...(cmd.options as readonly Option[])];
  for (let p = cmd.parent; p; p = p.parent) opts.push(...(p.options as readonly Option[]));
  return opts.flatMap((o) => [o.long, o.short]).filter((n): n is string => typeof n === 'string');
}

function takesValue(cmd: Command, flag: string): Option | undefined {
  for (let c: Command | null = cmd; c; c = c.parent) {
    const o = (c.options as readonly Option[]).find((x) => x.long === flag || x.short === flag);
    if (o) return o.required || o.optional ? o : undefined;
  }
  return undefined;
}

/** Thread names and short ids, from the store the command line names (quietly none on error). */
async function threadCandidates(flags: StoreFlags): Promise<string[]> {
  try {
    return await withStore(flags, async (store) => {
      const page = await store.listThreads({
        pageSize: MAX_PAGE_SIZE,
        allowedSources: SESSION_SOURCE_KINDS,
        modelProviders: [],
      });
      const out: string[] = [];
      for (const t of page.items) {
        out.push(t.threadId.slice(0, SHORT_ID));
        if (t.name) out.push(t.name);
      }
      return out;
    });
  } catch {
    return [];
  }
}

/**
 * `skein __complete -- <words…>`: the candidates for the last word, one per line. The shell
 * scripts call it, so completion follows the commands and flags this build really has.
 */
export function completeCommand(program: () => Command): Command {
  const cmd = new Command('__complete')
    .argument('[words...]')
    .allowUnknownOption()
    .helpOption(false)
    .action(async (words: string[]) => {
      const current = words.at(-1) ?? '';
      const before = words.slice(0, -1);
      let node = program();
      const flags: StoreFlags = {};
      let positional = 0;
      for (let i = 0; i < before.length; i++) {
        const w = before[i]!;
        if (w.startsWith('-')) {
          const opt = takesValue(node, w);
          if (opt) {
            const value = before[i + 1];
            if (value !== undefined && (opt.long === '--home' || opt.long === '--endpoint' || opt.long === '--profile'))
              flags[opt.long.slice(2) as 'home' | 'endpoint' | 'profile'] = value;
            i += 1;
          }
          continue;
        }
        const sub = node.commands.find((c) => c.name() === w || c.aliases().includes(w));
        if (sub && positional === 0) node = sub;
        else positional += 1;
      }
      let candidates: string[];
      const prev = before.at(-1);
      const valueOf = prev?.startsWith('-') ? takesValue(node, prev) : undefined;
      if (valueOf) candidates = valueOf.argChoices ?? [];
      else if (current.startsWith('-')) candidates = optionNames(node);
      else if (node.commands.length > 0)
        candidates = node.commands.map((c) => c.name()).filter((n) => !n.startsWith('__'));
      else {
        const args = node.registeredArguments;
        const arg = args[Math.min(positional, args.length - 1)];
        candidates = arg && /thread/.test(arg.name()) ? await threadCandidates(flags) : (arg?.argChoices ?? []);
      }
      const lower = current.toLowerCase();
      for (const c of new Set(candidates)) if (c.toLowerCase().startsWith(lower)) process.stdout.write(`${c}\n`);
    });
  return cmd;
}
