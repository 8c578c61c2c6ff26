import { existsSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

/**
 * Where the real Codex binary is. `@openai/codex` ships a JS launcher that, on Node 20, spawns
 * the native binary as a child; we run the native binary directly so that signals and exit codes
 * are the binary's own and no extra Node process is started per call. `SKEIN_CODEX_BIN` overrides.
 */
const TRIPLES: Record<string, string> = {
  'linux-x64': 'x86_64-unknown-linux-musl',
  'linux-arm64': 'aarch64-unknown-linux-musl',
  'darwin-x64': 'x86_64-apple-darwin',
  'darwin-arm64': 'aarch64-apple-darwin',
};

let cached: string | undefined;

export function codexBinaryPath(): string {
  const override = process.env.SKEIN_CODEX_BIN;
  if (override) return override;
  if (cached) return cached;
  const key = `${process.platform}-${process.arch}`;
  const triple = TRIPLES[key];
  if (!triple) throw new Error(`no prebuilt Codex binary for ${key}; set SKEIN_CODEX_BIN to a codex executable`);
  const require = createRequire(import.meta.url);
  const launcherPkg = realpathSync(require.resolve('@openai/codex/package.json'));
  const fromLauncher = createRequire(launcherPkg);
  const platformPkg = fromLauncher.resolve(`@openai/codex-${key}/package.json`);
  const bin = path.join(path.dirname(platformPkg), 'vendor', triple, 'bin', 'codex');
  if (!existsSync(bin)) throw new Error(`the Codex binary is missing at ${bin}; run pnpm install`);
  cached = bin;
  return bin;
}
