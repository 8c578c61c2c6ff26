import { describe, expect, it } from 'vitest';
import {
  ThreadMetadataAccumulator,
  deriveThreadMetadata,
  emptyDerivedMetadata,
  gitInfoToJson,
  parseRolloutTime,
  tokenUsageFromJson,
  tokenUsageToJson,
} from '../src/index.js';
import type { RolloutItem } from '../src/index.js';

const ID = '0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b';
const OTHER = '0193a1b2-c3d4-7e5f-8a9b-000000000001';

function meta(payload: Record<string, unknown> = {}, timestamp = '2025-01-02T03:04:05.678Z'): RolloutItem {
  return { timestamp, type: 'session_meta', payload: { id: ID, timestamp: '2025-01-02T03:04:05.000Z', ...payload } };
}
const ev = (payload: Record<string, unknown>, timestamp?: string): RolloutItem =>
  timestamp === undefined ? { type: 'event_msg', payload } : { timestamp, type: 'event_msg', payload };

describe('deriveThreadMetadata', () => {
  it('reads the first session_meta', () => {
    const d = deriveThreadMetadata([
      meta({
        session_id: 'root-session',
        cwd: '/w',
        cli_version: '0.50.0',
        originator: 'codex_cli_rs',
        source: 'exec',
        model_provider: 'acme',
        forked_from_id: OTHER,
        thread_source: 'user',
        git: { commit_hash: 'abc', branch: 'main' },
        memory_mode: 'disabled',
      }),
    ]);
    expect(d).toMatchObject({
      threadId: ID,
      sessionId: 'root-session',
      createdAt: new Date('2025-01-02T03:04:05.000Z'),
      cwd: '/w',
      cliVersion: '0.50.0',
      originator: 'codex_cli_rs',
      source: { kind: 'exec' },
      modelProvider: 'acme',
      forkedFromId: OTHER,
      threadSource: 'user',
      gitInfo: { sha: 'abc', branch: 'main', originUrl: null },
      memoryMode: 'disabled',
      historyMode: 'legacy',
    });
  });

  it('defaults: session id is the thread id, missing source is vscode, created time falls back to the line time', () => {
    const d = deriveThreadMetadata([
      { timestamp: '2025-05-05T00:00:00.000Z', type: 'session_meta', payload: { id: ID } },
    ]);
    expect(d.sessionId).toBe(ID);
    expect(d.source).toEqual({ kind: 'vscode' });
    expect(d.createdAt).toEqual(new Date('2025-05-05T00:00:00.000Z'));
    expect(d.modelProvider).toBeNull();
    expect(d.gitInfo).toBeNull();
  });

  it('an empty git object is no git info; paginated history mode is read', () => {
    const d = deriveThreadMetadata([meta({ git: {}, history_mode: 'paginated' })]);
    expect(d.gitInfo).toBeNull();
    expect(d.historyMode).toBe('paginated');
  });

  it('sub-agent spawn sources fill parent and agent fields', () => {
    const d = deriveThreadMetadata([
      meta({
        source: {
          subagent: {
            thread_spawn: {
              parent_thread_id: OTHER,
              depth: 1,
              agent_nickname: 'scout',
              agent_role: 'r',
              agent_path: 'p',
            },
          },
        },
      }),
    ]);
    expect(d).toMatchObject({ parentThreadId: OTHER, agentNickname: 'scout', agentRole: 'r', agentPath: 'p' });
  });

  it('a later session_meta of the same thread updates git and memory mode only; another thread’s is ignored', () => {
    const d = deriveThreadMetadata([
      meta({ cwd: '/w', git: { branch: 'main' } }),
      meta({ id: OTHER, cwd: '/other', git: { branch: 'theirs' } }),
      meta({ cwd: '/ignored', git: { branch: 'dev' }, memory_mode: 'disabled' }),
    ]);
    expect(d.threadId).toBe(ID);
    expect(d.cwd).toBe('/w');
    expect(d.gitInfo).toEqual({ sha: null, branch: 'dev', originUrl: null });
    expect(d.memoryMode).toBe('disabled');
  });

  it('model, effort and policies follow the latest turn_context; cwd comes from it only without a session_meta cwd', () => {
    const d = deriveThreadMetadata([
      meta(),
      {
        type: 'turn_context',
        payload: {
          cwd: '/from-turn',
          model: 'a',
          effort: 'low',
          approval_policy: 'never',
          sandbox_policy: { mode: 'x' },
        },
      },
      {
        type: 'turn_context',
        payload: { cwd: '/later', model: 'b', collaboration_mode: { settings: { reasoning_effort: 'high' } } },
      },
    ]);
    expect(d).toMatchObject({
      cwd: '/from-turn',
      model: 'b',
      reasoningEffort: 'high',
      approvalMode: 'never',
      sandboxPolicy: { mode: 'x' },
    });
    expect(
      deriveThreadMetadata([meta({ cwd: '/meta' }), { type: 'turn_context', payload: { cwd: '/turn' } }]).cwd,
    ).toBe('/meta');
    expect(
      deriveThreadMetadata([meta(), { type: 'turn_context', payload: { approval_policy: { granular: true } } }])
        .approvalMode,
    ).toBe('{"granular":true}');
  });

  it('preview and first user message come from the first user message, marker stripped', () => {
    const d = deriveThreadMetadata([
      meta(),
      ev({ type: 'user_message', message: 'env\n## My request for Codex:\n  do the thing ' }),
      ev({ type: 'user_message', message: 'second' }),
    ]);
    expect(d.preview).toBe('do the thing');
    expect(d.firstUserMessage).toBe('do the thing');
  });

  it('an image-only message previews as [Image]; an empty one is skipped', () => {
    expect(
      deriveThreadMetadata([
        meta(),
        ev({ type: 'user_message', message: '   ' }),
        ev({ type: 'user_message', message: '', images: ['x.png'] }),
      ]).preview,
    ).toBe('[Image]');
  });

  it('paginated user messages count too', () => {
    const d = deriveThreadMetadata([
      meta({ history_mode: 'paginated' }),
      ev({
        type: 'item_completed',
        item: {
          type: 'UserMessage',
          content: [
            { type: 'text', text: 'line one' },
            { type: 'text', text: 'line two' },
          ],
        },
      }),
    ]);
    expect(d.preview).toBe('line one\nline two');
  });

  it('a thread goal is the preview when there is no user message', () => {
    expect(
      deriveThreadMetadata([meta(), ev({ type: 'thread_goal_updated', goal: { objective: ' ship it ' } })]).preview,
    ).toBe('ship it');
    const acc = new ThreadMetadataAccumulator();
    acc.observe(meta());
    acc.observe(ev({ type: 'thread_goal_updated', objective: 'goal' }));
    expect(acc.preview).toBe('goal');
    acc.observe(ev({ type: 'user_message', message: 'real' }));
    expect(acc.preview).toBe('real');
  });

  it('token usage from the latest token_count; recency from the latest turn start; last line time', () => {
    const d = deriveThreadMetadata([
      meta(),
      ev({ type: 'task_started' }, '2025-01-02T04:00:00.000Z'),
      ev(
        { type: 'token_count', info: { total_token_usage: { input_tokens: 1, output_tokens: 2, total_tokens: 3 } } },
        '2025-01-02T04:00:01.000Z',
      ),
      ev({ type: 'task_started' }, '2025-01-02T05:00:00.000Z'),
      ev({ type: 'token_count', info: null }, '2025-01-02T05:00:02.000Z'),
    ]);
    expect(d.tokenUsage).toEqual({
      inputTokens: 1,
      cachedInputTokens: 0,
      outputTokens: 2,
      reasoningOutputTokens: 0,
      totalTokens: 3,
    });
    expect(d.lastTurnStartedAt).toEqual(new Date('2025-01-02T05:00:00.000Z'));
    expect(d.lastItemAt).toEqual(new Date('2025-01-02T05:00:02.000Z'));
  });

  it('thread_name_updated sets the name, and a blank one clears it', () => {
    expect(deriveThreadMetadata([meta()]).name).toBeUndefined();
    expect(deriveThreadMetadata([meta(), ev({ type: 'thread_name_updated', thread_name: 'Named' })]).name).toBe(
      'Named',
    );
    expect(
      deriveThreadMetadata([
        meta(),
        ev({ type: 'thread_name_updated', thread_name: 'Named' }),
        ev({ type: 'thread_name_updated', thread_name: ' ' }),
      ]).name,
    ).toBeNull();
  });

  it('the accumulator gives the same result item by item, and can continue from a snapshot', () => {
    const items: RolloutItem[] = [
      meta({ cwd: '/w', model_provider: 'p' }),
      { type: 'turn_context', payload: { model: 'm' } },
      ev({ type: 'user_message', message: 'hi' }),
    ];
    const whole = deriveThreadMetadata(items);
    const acc = new ThreadMetadataAccumulator();
    acc.observe(items[0] as RolloutItem);
    const resumed = new ThreadMetadataAccumulator(acc.value);
    for (const i of items.slice(1)) resumed.observe(i);
    expect(resumed.value).toEqual(whole);
    expect(emptyDerivedMetadata().historyMode).toBe('legacy');
  });
});

describe('time and JSON helpers', () => {
  it('parseRolloutTime reads RFC 3339 and the file-name form', () => {
    expect(parseRolloutTime('2025-10-01T12:00:00.120Z')).toEqual(new Date(Date.UTC(2025, 9, 1, 12, 0, 0, 120)));
    expect(parseRolloutTime('2025-10-01T12-30-45')).toEqual(new Date(Date.UTC(2025, 9, 1, 12, 30, 45)));
    for (const v of ['', 'soon', 5, null, undefined, '2025-13-45T99-99-99']) expect(parseRolloutTime(v)).toBeNull();
  });

  it('token usage and git info convert to their on-disk names and back', () => {
    const u = { inputTokens: 1, cachedInputTokens: 2, outputTokens: 3, reasoningOutputTokens: 4, totalTokens: 10 };
    expect(tokenUsageFromJson(tokenUsageToJson(u))).toEqual(u);
    expect(tokenUsageFromJson('x')).toBeNull();
    expect(gitInfoToJson({ sha: 'a', branch: null, originUrl: 'u' })).toEqual({
      commit_hash: 'a',
      repository_url: 'u',
    });
  });
});
