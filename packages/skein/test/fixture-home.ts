import { cpSync, mkdirSync, mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A Codex-shaped home written the way Codex 0.169 writes legacy rollouts, so the CLI is tested on
 * files it did not write itself. Threads differ in every listing dimension (provider, source,
 * cwd, name, archived, time) and two ids share a prefix to exercise ambiguity.
 */
export interface FixtureThread {
  id: string;
  created: string;
  provider: string;
  source: unknown;
  cwd: string;
  model: string;
  turns: [user: string, agent: string][];
  name?: string;
  archived?: boolean;
  /** The file's mtime (what stores call updatedAt); default: an hour after creation. */
  updated?: string;
}

export const THREADS = {
  /** Shares the `0193aaaa` prefix with `docs`. */
  tests: {
    id: '0193aaaa-1111-7000-8000-000000000001',
    created: '2026-11-20T10:00:00.000Z',
    updated: '2026-11-24T09:00:00.000Z',
    provider: 'openai',
    source: 'cli',
    cwd: '/proj/a',
    model: 'gpt-5-codex',
    turns: [
      ['fix the failing test', 'All tests pass now.'],
      ['now add a changelog entry', 'Added the entry under Unreleased.'],
    ],
  },
  docs: {
    id: '0193aaaa-2222-7000-8000-000000000002',
    created: '2026-11-21T10:00:00.000Z',
    provider: 'openai',
    source: 'vscode',
    cwd: '/proj/b',
    model: 'gpt-5-codex',
    turns: [['write the README for the parser', 'Here is a README with a usage section.']],
    name: 'docs work',
  },
  oss: {
    id: '0193bbbb-3333-7000-8000-000000000003',
    created: '2026-11-22T10:00:00.000Z',
    provider: 'oss',
    source: 'cli',
    cwd: '/proj/a',
    model: 'llama',
    turns: [['explain the parser tokens', 'Tokens are produced by the lexer.']],
  },
  exec: {
    id: '0193cccc-4444-7000-8000-000000000004',
    created: '2026-11-23T10:00:00.000Z',
    provider: 'openai',
    source: 'exec',
    cwd: '/proj/c',
    model: 'gpt-5-codex',
    turns: [['run the linter', 'Lint is clean.']],
  },
  old: {
    id: '0193dddd-5555-7000-8000-000000000005',
    created: '2026-11-19T10:00:00.000Z',
    provider: 'openai',
    source: 'cli',
    cwd: '/proj/a',
    model: 'gpt-5-codex',
    turns: [['an old question about the parser', 'An old answer.']],
    archived: true,
  },
} satisfies Record<string, FixtureThread>;

function at(base: string, offsetMs: number): string {
  return new Date(Date.parse(base) + offsetMs).toISOString();
}

/** The rollout lines of a legacy thread, as Codex writes them. */
export function rolloutLines(t: FixtureThread): Record<string, unknown>[] {
  const lines: Record<string, unknown>[] = [
    {
      timestamp: t.created,
      type: 'session_meta',
      payload: {
        id: t.id,
        timestamp: t.created,
        cwd: t.cwd,
        originator: 'codex_cli_rs',
        cli_version: '0.169.0',
        source: t.source,
        model_provider: t.provider,
        history_mode: 'legacy',
        git: { commit_hash: 'abc123', branch: 'main', repository_url: 'git@example.com:me/proj.git' },
      },
    },
  ];
  let ms = 1000;
  t.turns.forEach(([user, agent], i) => {
    const turnId = `${t.id.slice(0, 24)}${String(i).padStart(12, '0')}`;
    const ts = (): string => at(t.created, (ms += 10));
    lines.push(
      {
        timestamp: ts(),
        type: 'event_msg',
        payload: { type: 'task_started', turn_id: turnId, model_context_window: 272000 },
      },
      {
        timestamp: ts(),
        type: 'turn_context',
        payload: {
          turn_id: turnId,
          cwd: t.cwd,
          approval_policy: 'on-request',
          sandbox_policy: { type: 'read-only' },
          model: t.model,
          effort: 'medium',
          summary: 'auto',
        },
      },
      {
        timestamp: ts(),
        type: 'response_item',
        payload: { type: 'message', role: 'user', content: [{ type: 'input_text', text: user }] },
      },
      {
        timestamp: ts(),
        type: 'event_msg',
        payload: { type: 'user_message', message: user, images: [], local_images: [], text_elements: [] },
      },
      {
        timestamp: ts(),
        type: 'response_item',
        payload: {
          type: 'message',
          role: 'assistant',
          content: [{ type: 'output_text', text: agent }],
          phase: 'final_answer',
        },
      },
      { timestamp: ts(), type: 'event_msg', payload: { type: 'agent_message', message: agent, phase: null } },
      {
        timestamp: ts(),
        type: 'event_msg',
        payload: { type: 'task_complete', turn_id: turnId, last_agent_message: agent },
      },
    );
  });
  return lines;
}

function fileName(t: FixtureThread): string {
  // Codex names files in local time; the tests run with TZ=UTC so this is the UTC time.
  const stamp = t.created.slice(0, 19).replace(/:/g, '-');
  return `rollout-${stamp}-${t.id}.jsonl`;
}

/** Writes the fixture threads into a fresh temp home and returns its path. */
export function makeFixtureHome(prefix = 'skein-cli-'): string {
  const home = mkdtempSync(join(tmpdir(), prefix));
  const names: string[] = [];
  for (const t of Object.values(THREADS) as FixtureThread[]) {
    const [y, m, d] = t.created.slice(0, 10).split('-');
    const dir = t.archived ? join(home, 'archived_sessions') : join(home, 'sessions', y!, m!, d!);
    mkdirSync(dir, { recursive: true });
    const file = join(dir, fileName(t));
    writeFileSync(
      file,
      rolloutLines(t)
        .map((l) => JSON.stringify(l))
        .join('\n') + '\n',
    );
    // A fixed mtime: stores take updatedAt from it, and copies of the home must agree.
    const mtime = new Date(t.updated ?? Date.parse(t.created) + 3_600_000);
    utimesSync(file, mtime, mtime);
    if (t.name) names.push(JSON.stringify({ id: t.id, thread_name: t.name, updated_at: t.created }));
  }
  if (names.length > 0) writeFileSync(join(home, 'session_index.jsonl'), names.join('\n') + '\n');
  return home;
}

export function copyHome(home: string, prefix = 'skein-cli-copy-'): string {
  const copy = mkdtempSync(join(tmpdir(), prefix));
  cpSync(home, copy, { recursive: true, preserveTimestamps: true });
  return copy;
}
