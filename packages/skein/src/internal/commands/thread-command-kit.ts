import { Command } from 'commander';
import { addStoreOptions } from '../store-options.js';

export interface JsonFlag {
  json?: boolean;
}

export const THREAD_ARG = 'id, unique id prefix (4+ characters), or name';

/** A command that opens a store: the store options, plus examples under its help. */
export function storeCommand(name: string, description: string, examples: string[] = []): Command {
  const cmd = addStoreOptions(new Command(name).description(description));
  if (examples.length > 0) cmd.addHelpText('after', `\nExamples:\n${examples.map((e) => `  ${e}`).join('\n')}`);
  return cmd;
}

export function withJson(cmd: Command): Command {
  return cmd.option('--json', 'machine-readable output (shapes: "JSON output" in the skein README)');
}
