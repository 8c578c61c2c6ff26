/** A description of the machine a benchmark ran on, for BENCHMARKS.md. */
import { execFileSync } from 'node:child_process';
import { readFileSync, statfsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface MachineInfo {
  cpu: string;
  cores: number;
  memory: string;
  node: string;
  os: string;
  disk: string;
}

function cpuModel(): string {
  try {
    const text = readFileSync('/proc/cpuinfo', 'utf8');
    const field = (k: string): string | undefined => new RegExp(`^${k}\\s*:\\s*(.+)$`, 'm').exec(text)?.[1]?.trim();
    const name = field('model name');
    if (name) {
      const extra = [
        field('cpu family') && `family ${field('cpu family')} model ${field('model')}`,
        field('cache size') && `${field('cache size')} cache`,
      ].filter(Boolean);
      return extra.length > 0 ? `${name} (${extra.join(', ')})` : name;
    }
  } catch {
    // Not Linux: fall back to what Node reports.
  }
  return os.cpus()[0]?.model ?? 'unknown';
}

/** The mount that holds `dir`: device, filesystem type, and whether the kernel calls it rotational. */
function diskOf(dir: string): string {
  try {
    const mounts = readFileSync('/proc/mounts', 'utf8')
      .split('\n')
      .map((l) => l.split(' '))
      .filter((f) => f.length >= 3);
    const abs = path.resolve(dir);
    let best: string[] | undefined;
    for (const f of mounts) {
      const mp = f[1] ?? '';
      if (
        (abs === mp || abs.startsWith(mp.endsWith('/') ? mp : mp + '/')) &&
        (!best || mp.length > (best[1] ?? '').length)
      )
        best = f;
    }
    const dev = best?.[0] ?? '?';
    const fs = best?.[2] ?? '?';
    let kind = '';
    const name = path.basename(dev);
    try {
      const rot = readFileSync(`/sys/block/${name}/queue/rotational`, 'utf8').trim();
      kind = rot === '0' ? ', non-rotational' : ', reported rotational (virtual disk)';
    } catch {
      // A partition or an overlay: no queue info.
    }
    const st = statfsSync(abs);
    const size = ((st.blocks * st.bsize) / 1024 ** 3).toFixed(0);
    return `${dev} (${fs}${kind}, ${size} GiB)`;
  } catch {
    return 'unknown';
  }
}

export function describeMachine(benchDir: string): MachineInfo {
  let osName = `${os.type()} ${os.release()}`;
  try {
    const m = /^PRETTY_NAME="?([^"\n]+)"?$/m.exec(readFileSync('/etc/os-release', 'utf8'));
    if (m?.[1]) osName = `${m[1]}, kernel ${os.release()}`;
  } catch {
    // Keep the kernel name only.
  }
  return {
    cpu: cpuModel(),
    cores: os.availableParallelism(),
    memory: `${(os.totalmem() / 1024 ** 3).toFixed(1)} GiB`,
    node: process.version,
    os: osName,
    disk: diskOf(benchDir),
  };
}

/** HEAD, marked `+local changes` when the measured packages differ from it. */
export function gitRevision(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync(
      'git',
      ['status', '--porcelain', '--', 'packages/thread-store-local', 'packages/thread-store-api'],
      { encoding: 'utf8' },
    ).trim();
    return dirty ? `${head} +local changes` : head;
  } catch {
    return 'unknown';
  }
}

/**
 * Median wall time of `node -e 0` over `runs` runs: a yardstick for how fast this machine runs
 * Node at the moment of measuring, so figures taken on different machines can be compared.
 */
export function nodeStartMs(runs = 5): number {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    execFileSync(process.execPath, ['-e', '0']);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

/** One line naming the machine and its Node start time, for a section measured on its own. */
export function machineLine(benchDir: string): string {
  const m = describeMachine(benchDir);
  return `${m.cpu}, ${m.cores} cores, node ${m.node} (\`node -e 0\` ${nodeStartMs().toFixed(0)} ms)`;
}
