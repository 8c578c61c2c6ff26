import { spawnSync } from 'node:child_process';

/** Whether strace can trace a child here (it needs ptrace; containers may forbid it). */
export const straceWorks = spawnSync('strace', ['-f', '-o', '/dev/null', 'true']).status === 0;

/** The system calls that make up the writer-lock protocol, with `-y` so fds print their paths. */
export function lockTraceWrapper(outFile: string): string[] {
  return [
    'strace',
    '-f',
    '-y',
    '-e',
    'trace=open,openat,flock,close,unlink,unlinkat,mkdir,mkdirat,getdents64',
    '-o',
    outFile,
  ];
}

/**
 * One step of the protocol, named by the file it touches (`coord` = `.coordination.lock`,
 * `lock` = `<id>.lock`, `dir` = the folder) with the flags and outcome that matter, e.g.
 * `open coord RDWR|CREAT`, `flock lock EX|NB ok`, `unlink lock`. Consecutive directory reads
 * are one `scan` step (how many getdents calls a listing takes depends on the buffer size).
 */
export function lockSteps(trace: string, threadId: string): string[] {
  const steps: string[] = [];
  const name = (p: string): string | null => {
    if (p.endsWith('/thread-writer-locks')) return 'dir';
    if (p.endsWith('/thread-writer-locks/.coordination.lock')) return 'coord';
    if (p.endsWith(`/thread-writer-locks/${threadId}.lock`)) return 'lock';
    if (p.includes('/thread-writer-locks/')) return 'other';
    return null;
  };
  for (const raw of trace.split('\n')) {
    const line = raw.replace(/^\d+\s+/, '');
    if (line.includes('resumed>') || line.includes('<unfinished')) continue; // rare split lines
    const ok = / = 0$| = \d+<[^>]*>$/.test(line);
    const result = ok ? 'ok' : (/ = -1 (\w+)/.exec(line)?.[1] ?? '?');
    let m: RegExpExecArray | null;
    if ((m = /^mkdir(?:at)?\((?:AT_FDCWD(?:<[^>]*>)?, )?"([^"]+)"/.exec(line))) {
      if (name(m[1]!) === 'dir') steps.push('mkdir dir');
    } else if ((m = /^open(?:at)?\((?:AT_FDCWD(?:<[^>]*>)?, )?"([^"]+)", ([A-Z_|]+)/.exec(line))) {
      const n = name(m[1]!);
      if (!n) continue;
      const flags = m[2]!.split('|');
      const kept = ['O_RDONLY', 'O_RDWR', 'O_WRONLY', 'O_CREAT', 'O_DIRECTORY', 'O_TRUNC', 'O_APPEND'].filter((f) =>
        flags.includes(f),
      );
      steps.push(`open ${n} ${kept.map((f) => f.slice(2)).join('|')} ${result}`);
    } else if ((m = /^flock\(\d+<([^>]+)>, ([A-Z_|]+)\)/.exec(line))) {
      const n = name(m[1]!);
      if (n) steps.push(`flock ${n} ${m[2]!.replace(/LOCK_/g, '')} ${result}`);
    } else if ((m = /^close\(\d+<([^>]+)>\)/.exec(line))) {
      const n = name(m[1]!);
      if (n) steps.push(`close ${n}`);
    } else if ((m = /^unlink(?:at)?\((?:AT_FDCWD(?:<[^>]*>)?, )?"([^"]+)"/.exec(line))) {
      const n = name(m[1]!);
      if (n) steps.push(`unlink ${n} ${result}`);
    } else if ((m = /^getdents64\(\d+<([^>]+)>/.exec(line))) {
      if (name(m[1]!) === 'dir' && steps.at(-1) !== 'scan dir') steps.push('scan dir');
    }
  }
  return steps;
}
