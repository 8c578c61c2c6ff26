import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { GitInfo } from '@skein/thread-store-api';

/**
 * The git facts Codex records for a thread's cwd (commit, branch, origin URL), read straight
 * from the repository's files so creating a thread never spawns `git`. Returns null when cwd is
 * not inside a repository or anything is unreadable: git info is best-effort metadata.
 */
export async function collectGitInfo(cwd: string): Promise<GitInfo | null> {
  try {
    const gitDir = await findGitDir(cwd);
    if (!gitDir) return null;
    const commonDir = await resolveCommonDir(gitDir);
    const head = (await readFile(path.join(gitDir, 'HEAD'), 'utf8')).trim();
    let branch: string | null = null;
    let sha: string | null = null;
    if (head.startsWith('ref:')) {
      const ref = head.slice(4).trim();
      branch = ref.startsWith('refs/heads/') ? ref.slice('refs/heads/'.length) : ref;
      sha = await resolveRef(commonDir, ref);
    } else if (/^[0-9a-f]{40,64}$/.test(head)) {
      sha = head;
    }
    const originUrl = await originFromConfig(commonDir);
    return { sha, branch, originUrl };
  } catch {
    return null;
  }
}

async function findGitDir(start: string): Promise<string | null> {
  let dir = path.resolve(start);
  for (;;) {
    const candidate = path.join(dir, '.git');
    const st = await stat(candidate).catch(() => null);
    if (st?.isDirectory()) return candidate;
    if (st?.isFile()) {
      // A worktree or submodule: `.git` is a file pointing at the real git dir.
      const m = /^gitdir:\s*(.+)$/m.exec(await readFile(candidate, 'utf8'));
      if (m?.[1]) return path.resolve(dir, m[1].trim());
    }
    const parent = path.dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
}

async function resolveCommonDir(gitDir: string): Promise<string> {
  const common = await readFile(path.join(gitDir, 'commondir'), 'utf8').catch(() => null);
  return common ? path.resolve(gitDir, common.trim()) : gitDir;
}

async function resolveRef(commonDir: string, ref: string): Promise<string | null> {
  const loose = await readFile(path.join(commonDir, ref), 'utf8').catch(() => null);
  if (loose && /^[0-9a-f]{40,64}\s*$/.test(loose)) return loose.trim();
  const packed = await readFile(path.join(commonDir, 'packed-refs'), 'utf8').catch(() => null);
  if (!packed) return null;
  for (const line of packed.split('\n')) {
    const [sha, name] = line.trim().split(' ');
    if (name === ref && sha && /^[0-9a-f]{40,64}$/.test(sha)) return sha;
  }
  return null;
}

async function originFromConfig(commonDir: string): Promise<string | null> {
  const config = await readFile(path.join(commonDir, 'config'), 'utf8').catch(() => null);
  if (!config) return null;
  let inOrigin = false;
  for (const raw of config.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('[')) inOrigin = /^\[remote\s+"origin"\]$/.test(line);
    else if (inOrigin) {
      const m = /^url\s*=\s*(.+)$/.exec(line);
      if (m?.[1]) return m[1].trim();
    }
  }
  return null;
}
