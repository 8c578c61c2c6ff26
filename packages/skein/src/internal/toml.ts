import { parse } from 'smol-toml';

/**
 * Parses a TOML document. The parser is part of the CLI's bundle: a listing reads the home's
 * config.toml on every start, and loading the package from node_modules by name (resolving its
 * exports, reading its files) cost more than parsing.
 */
export function parseToml(text: string): Record<string, unknown> {
  return parse(text);
}
