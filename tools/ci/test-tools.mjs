// System tools some tests need: strace (the network-isolation proof in interop-tests),
// util-linux `script` (terminal tests in packages/skein), tmux (the Codex TUI driven against
// `skein app-server` in interop-tests) and Debian's Chromium (the web page's browser tests in
// packages/web). In CI, as root, missing ones are
// installed with apt-get; elsewhere the run says what is missing (and the skip check then fails).
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

/** @type {{ tool: string, found: () => boolean, pkg: string, why: string }[]} */
export const TEST_TOOLS = [
  {
    tool: 'strace',
    found: () => spawnSync('strace', ['-V'], { stdio: 'ignore' }).status === 0,
    pkg: 'strace',
    why: 'interop-tests: codex connects to nothing but the mock',
  },
  { tool: 'script', found: () => existsSync('/usr/bin/script'), pkg: 'bsdutils', why: 'skein: terminal output tests' },
  {
    tool: 'tmux',
    found: () => spawnSync('tmux', ['-V'], { stdio: 'ignore' }).status === 0,
    pkg: 'tmux',
    why: 'interop-tests: the Codex TUI as a skein app-server client',
  },
  {
    tool: 'chromium',
    found: () => existsSync('/usr/bin/chromium'),
    pkg: 'chromium',
    why: 'web: the thread browser tested in a real browser',
  },
];

/** @param {(cmd: string, args: string[]) => number} run @returns {number} */
export function ensureTestTools(run) {
  const missing = TEST_TOOLS.filter((t) => !t.found());
  if (missing.length === 0) {
    console.log(`test tools present: ${TEST_TOOLS.map((t) => t.tool).join(', ')}`);
    return 0;
  }
  const names = missing.map((t) => `${t.tool} (${t.why})`).join(', ');
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!process.env.CI || !root) {
    console.log(`missing test tools: ${names}; their tests will skip, which the skip check reports`);
    return 0;
  }
  console.log(`installing missing test tools: ${names}`);
  const env = 'DEBIAN_FRONTEND=noninteractive';
  if (run('env', [env, 'apt-get', 'update']) !== 0) return 1;
  if (run('env', [env, 'apt-get', 'install', '-y', '--no-install-recommends', ...missing.map((t) => t.pkg)]) !== 0)
    return 1;
  const still = TEST_TOOLS.filter((t) => !t.found());
  if (still.length > 0) {
    console.error(`still missing after apt-get: ${still.map((t) => t.tool).join(', ')}`);
    return 1;
  }
  return 0;
}
