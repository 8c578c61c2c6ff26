// Child-process helpers shared by the repository scripts.
import { spawnSync } from 'node:child_process';
import path from 'node:path';

/**
 * The command that runs pnpm. Under `pnpm run` (also via `npx pnpm@x run`) pnpm may not be on
 * PATH, but it names its own entry point in npm_execpath; reuse that so nested calls get the
 * same pnpm version.
 * @param {string[]} args
 * @returns {[string, string[]]}
 */
export function pnpm(args) {
  const execPath = process.env.npm_execpath;
  if (execPath !== undefined && /^pnpm/.test(path.basename(execPath))) {
    return /\.[cm]?js$/.test(execPath) ? [process.execPath, [execPath, ...args]] : [execPath, args];
  }
  return ['pnpm', args];
}

/**
 * Runs a command, streaming its output, and returns its exit status (1 when it could not start).
 * @param {string} command
 * @param {string[]} args
 * @param {{ cwd?: string }} [options]
 */
export function runInherit(command, args, options = {}) {
  const result = spawnSync(command, args, { stdio: ['ignore', 'inherit', 'inherit'], ...options });
  if (result.error) console.error(`could not run ${command}: ${result.error.message}`);
  return result.status ?? 1;
}

/**
 * Runs a command and captures its output.
 * @param {string} command
 * @param {string[]} args
 * @param {{ cwd?: string, env?: NodeJS.ProcessEnv }} [options]
 */
export function runCapture(command, args, options = {}) {
  const result = spawnSync(command, args, {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 64 * 1024 * 1024,
    ...options,
  });
  const error = result.error ? `could not run ${command}: ${result.error.message}\n` : '';
  return { status: result.status ?? 1, stdout: result.stdout ?? '', stderr: error + (result.stderr ?? '') };
}
