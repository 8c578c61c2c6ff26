import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach } from 'vitest';

const made: string[] = [];
afterEach(() => {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A temp folder removed after the test. */
export function tempDir(prefix: string): string {
  const d = mkdtempSync(path.join(tmpdir(), prefix));
  made.push(d);
  return d;
}

export const threadIdOf = (n: number): string => `0f000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;

/** Writes a Codex-shaped legacy rollout: session_meta, a user message, an agent message. */
export function writeThread(home: string, n: number, extraLines: string[] = []): string {
  const id = threadIdOf(n);
  const day = String(1 + (n % 28)).padStart(2, '0');
  const ts = `2026-04-${day}T09:00:00.${String(n % 1000).padStart(3, '0')}Z`;
  const file = path.join(home, `sessions/2026/04/${day}/rollout-2026-04-${day}T09-00-00-${id}.jsonl`);
  mkdirSync(path.dirname(file), { recursive: true });
  const lines = [
    {
      timestamp: ts,
      type: 'session_meta',
      payload: {
        id,
        timestamp: ts,
        cwd: `/w/${n}`,
        source: 'cli',
        model_provider: 'openai',
        cli_version: '0.169.0',
        originator: 'codex_cli_rs',
      },
    },
    { timestamp: ts, type: 'event_msg', payload: { type: 'user_message', message: `question ${n}` } },
    { timestamp: ts, type: 'event_msg', payload: { type: 'agent_message', message: `answer ${n}` } },
  ].map((l) => JSON.stringify(l));
  writeFileSync(file, [...lines.slice(0, 2), ...extraLines, ...lines.slice(2)].join('\n') + '\n');
  return file;
}
