import { createRequire } from 'node:module';
import type { parse as Parse } from 'smol-toml';

const requireModule = createRequire(import.meta.url);
type ParseToml = (text: string) => ReturnType<typeof Parse>;
let parser: ParseToml | undefined;

/**
 * Parses a TOML document. The parser is loaded on the first call, so a command run without a
 * configuration file does not pay for loading it at start.
 */
export function parseToml(text: string): ReturnType<typeof Parse> {
  parser ??= (requireModule('smol-toml') as { parse: ParseToml }).parse;
  return parser(text);
}
