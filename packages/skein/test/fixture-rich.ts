import { mkdirSync, mkdtempSync, realpathSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A home with the turns people hit in real use, written as Codex 0.169 writes them: a failed
 * turn (`task_complete.error`), an interrupted one with a partial reply, reasoning and tool
 * calls; names in CJK and emoji; a thread whose cwd is a real folder reached through a symlink.
 */
export const RICH = {
  turns: '0193eeee-0001-7000-8000-000000000001',
  cjk: '0193eeee-0002-7000-8000-000000000002',
  emoji: '0193eeee-0003-7000-8000-000000000003',
  CJK_NAME: '修复登录页面的单元测试并更新文档说明以及所有相关的配置文件',
  EMOJI_NAME: '🚀 ship the release 🎉 with notes and a very long tail that must be cut off somewhere',
  FAILURE: 'stream disconnected before completion: the model is overloaded',
};

let seq = 0;
function ts(base: string): string {
  seq += 10;
  return new Date(Date.parse(base) + seq).toISOString();
}

function meta(id: string, created: string, cwd: string): Record<string, unknown> {
  return {
    timestamp: created,
    type: 'session_meta',
    payload: {
      id,
      timestamp: created,
      cwd,
      originator: 'codex_cli_rs',
      cli_version: '0.169.0',
      source: 'cli',
      model_provider: 'openai',
      history_mode: 'legacy',
      git: {
        commit_hash: 'deadbeefcafe0123456789',
        branch: 'feature/login',
        repository_url: 'git@example.com:me/app.git',
      },
    },
  };
}

function user(base: string, text: string): Record<string, unknown>[] {
  return [
    {
      timestamp: ts(base),
      type: 'response_item',
      payload: { type: 'message', role: 'user', content: [{ type: 'input_text', text }] },
    },
    {
      timestamp: ts(base),
      type: 'event_msg',
      payload: { type: 'user_message', message: text, images: [], local_images: [], text_elements: [] },
    },
  ];
}

function agent(base: string, text: string): Record<string, unknown>[] {
  return [
    { timestamp: ts(base), type: 'event_msg', payload: { type: 'agent_message', message: text, phase: null } },
    {
      timestamp: ts(base),
      type: 'response_item',
      payload: { type: 'message', role: 'assistant', content: [{ type: 'output_text', text }] },
    },
  ];
}

const started = (base: string, turn: string): Record<string, unknown> => ({
  timestamp: ts(base),
  type: 'event_msg',
  payload: { type: 'task_started', turn_id: turn, model_context_window: 272000 },
});

function turnsThread(base: string, cwd: string): Record<string, unknown>[] {
  return [
    meta(RICH.turns, base, cwd),
    // Turn 1: reasoning, a tool call and its output, then the reply.
    started(base, 't1'),
    ...user(base, 'run the tests'),
    {
      timestamp: ts(base),
      type: 'event_msg',
      payload: { type: 'agent_reasoning', text: 'I should run npm test first.' },
    },
    {
      timestamp: ts(base),
      type: 'response_item',
      payload: {
        type: 'reasoning',
        summary: [{ type: 'summary_text', text: 'I should run npm test first.' }],
        content: null,
      },
    },
    {
      timestamp: ts(base),
      type: 'response_item',
      payload: { type: 'function_call', name: 'exec_command', arguments: '{"cmd":"npm test"}', call_id: 'c1' },
    },
    {
      timestamp: ts(base),
      type: 'response_item',
      payload: { type: 'function_call_output', call_id: 'c1', output: 'Tests: 12 passed' },
    },
    ...agent(base, 'All 12 tests pass.'),
    {
      timestamp: ts(base),
      type: 'event_msg',
      payload: { type: 'task_complete', turn_id: 't1', last_agent_message: 'All 12 tests pass.' },
    },
    // Turn 2: the model failed.
    started(base, 't2'),
    ...user(base, 'now deploy it'),
    {
      timestamp: ts(base),
      type: 'event_msg',
      payload: {
        type: 'task_complete',
        turn_id: 't2',
        last_agent_message: null,
        error: { message: RICH.FAILURE, codex_error_info: 'other' },
      },
    },
    // Turn 3: interrupted after part of a reply reached the model's history only.
    started(base, 't3'),
    ...user(base, 'write the changelog'),
    {
      timestamp: ts(base),
      type: 'response_item',
      payload: {
        type: 'message',
        role: 'assistant',
        content: [{ type: 'output_text', text: 'Here is the changelog so f' }],
      },
    },
    { timestamp: ts(base), type: 'event_msg', payload: { type: 'turn_aborted', turn_id: 't3', reason: 'interrupted' } },
  ];
}

function simple(id: string, base: string, cwd: string, prompt: string): Record<string, unknown>[] {
  return [
    meta(id, base, cwd),
    started(base, `${id}-t`),
    ...user(base, prompt),
    ...agent(base, 'done'),
    {
      timestamp: ts(base),
      type: 'event_msg',
      payload: { type: 'task_complete', turn_id: `${id}-t`, last_agent_message: 'done' },
    },
  ];
}

export interface RichHome {
  home: string;
  /** The real folder the threads were started in. */
  project: string;
  /** A symlink to `project`. */
  link: string;
}

/** Writes the rich home; thread times are `now` minus hours, so relative times are stable. */
export function makeRichHome(now = Date.now()): RichHome {
  const home = mkdtempSync(join(tmpdir(), 'skein-rich-'));
  const outside = realpathSync(mkdtempSync(join(tmpdir(), 'skein-proj-')));
  const project = join(outside, 'app');
  mkdirSync(project);
  const link = join(outside, 'app-link');
  symlinkSync(project, link);
  const threads: [string, Record<string, unknown>[], number][] = [
    [RICH.turns, turnsThread(new Date(now - 3 * 3_600_000).toISOString(), project), 3],
    [RICH.cjk, simple(RICH.cjk, new Date(now - 5 * 3_600_000).toISOString(), project, 'fix login'), 5],
    [RICH.emoji, simple(RICH.emoji, new Date(now - 50 * 3_600_000).toISOString(), '/elsewhere', 'release'), 50],
  ];
  for (const [id, lines, hoursAgo] of threads) {
    const created = new Date(now - hoursAgo * 3_600_000);
    const iso = created.toISOString();
    const dir = join(home, 'sessions', iso.slice(0, 4), iso.slice(5, 7), iso.slice(8, 10));
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `rollout-${iso.slice(0, 19).replace(/:/g, '-')}-${id}.jsonl`);
    writeFileSync(file, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
    const mtime = new Date(created.getTime() + 60_000);
    utimesSync(file, mtime, mtime);
  }
  writeFileSync(
    join(home, 'session_index.jsonl'),
    [
      { id: RICH.cjk, thread_name: RICH.CJK_NAME, updated_at: new Date(now).toISOString() },
      { id: RICH.emoji, thread_name: RICH.EMOJI_NAME, updated_at: new Date(now).toISOString() },
    ]
      .map((l) => JSON.stringify(l))
      .join('\n') + '\n',
  );
  return { home, project, link };
}

/** A thread with `turns` turns, for output long enough to hit a closed pipe. */
export function addLongThread(home: string, id: string, turns: number): void {
  const base = new Date(Date.now() - 3_600_000).toISOString();
  const lines: Record<string, unknown>[] = [meta(id, base, '/long')];
  for (let i = 0; i < turns; i++) {
    lines.push(
      started(base, `l${i}`),
      ...user(base, `question ${i} ${'x'.repeat(200)}`),
      ...agent(base, `answer ${i}`),
    );
  }
  const dir = join(home, 'sessions', base.slice(0, 4), base.slice(5, 7), base.slice(8, 10));
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, `rollout-${base.slice(0, 19).replace(/:/g, '-')}-${id}.jsonl`),
    lines.map((l) => JSON.stringify(l)).join('\n') + '\n',
  );
}
