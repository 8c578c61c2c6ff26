import { describe, expect, it } from 'vitest';
import {
  agentMessageText,
  collectHistory,
  isCompacted,
  isEventMsg,
  isResponseItem,
  isSessionMeta,
  isTurnContext,
  rolloutItemProblem,
  userMessageText,
} from '../src/index.js';
import { userMessageDisplayText } from '../src/rollout-item.js';
import type { RolloutItem } from '../src/index.js';

describe('rollout items', () => {
  it('rolloutItemProblem accepts rollout lines and explains what is wrong with others', () => {
    expect(rolloutItemProblem({ type: 'x', payload: null })).toBeUndefined();
    expect(
      rolloutItemProblem({ type: 'x', payload: {}, timestamp: '2025-01-01T00:00:00Z', ordinal: 0 }),
    ).toBeUndefined();
    expect(rolloutItemProblem(null)).toMatch(/object/);
    expect(rolloutItemProblem([])).toMatch(/object/);
    expect(rolloutItemProblem({ payload: {} })).toMatch(/type/);
    expect(rolloutItemProblem({ type: '', payload: {} })).toMatch(/type/);
    expect(rolloutItemProblem({ type: 'x' })).toMatch(/payload/);
    expect(rolloutItemProblem({ type: 'x', payload: {}, timestamp: 1 })).toMatch(/timestamp/);
    expect(rolloutItemProblem({ type: 'x', payload: {}, ordinal: -1 })).toMatch(/ordinal/);
    expect(rolloutItemProblem({ type: 'x', payload: {}, ordinal: 1.5 })).toMatch(/ordinal/);
  });

  it('type guards check the payload shape', () => {
    expect(isSessionMeta({ type: 'session_meta', payload: { id: 'x' } })).toBe(true);
    expect(isSessionMeta({ type: 'session_meta', payload: {} } as unknown as RolloutItem)).toBe(false);
    expect(isResponseItem({ type: 'response_item', payload: { type: 'message' } })).toBe(true);
    expect(isResponseItem({ type: 'response_item', payload: 'x' })).toBe(false);
    expect(isEventMsg({ type: 'event_msg', payload: { type: 'user_message' } }, 'user_message')).toBe(true);
    expect(isEventMsg({ type: 'event_msg', payload: { type: 'user_message' } }, 'agent_message')).toBe(false);
    expect(isTurnContext({ type: 'turn_context', payload: {} })).toBe(true);
    expect(isCompacted({ type: 'compacted', payload: { message: '' } })).toBe(true);
  });

  it('userMessageDisplayText strips the request marker and trims', () => {
    expect(userMessageDisplayText('ctx\n## My request for Codex:\nhi ', false)).toBe('hi');
    expect(userMessageDisplayText('  plain  ', false)).toBe('plain');
    expect(userMessageDisplayText('', true)).toBe('[Image]');
    expect(userMessageDisplayText(' ', false)).toBeUndefined();
  });

  it('userMessageText reads legacy events and paginated user messages only', () => {
    expect(userMessageText({ type: 'event_msg', payload: { type: 'user_message', message: 'a' } })).toBe('a');
    expect(
      userMessageText({ type: 'event_msg', payload: { type: 'user_message', message: '', local_images: ['/x.png'] } }),
    ).toBe('[Image]');
    expect(
      userMessageText({
        type: 'event_msg',
        payload: { type: 'item_completed', item: { type: 'UserMessage', content: [{ type: 'image' }] } },
      }),
    ).toBe('[Image]');
    expect(userMessageText({ type: 'event_msg', payload: { type: 'agent_message', message: 'a' } })).toBeUndefined();
    expect(userMessageText({ type: 'response_item', payload: { type: 'message', role: 'user' } })).toBeUndefined();
  });

  it('agentMessageText reads legacy events and paginated agent messages', () => {
    expect(agentMessageText({ type: 'event_msg', payload: { type: 'agent_message', message: 'done' } })).toBe('done');
    expect(
      agentMessageText({
        type: 'event_msg',
        payload: {
          type: 'item_completed',
          item: {
            type: 'AgentMessage',
            content: [
              { type: 'text', text: 'a' },
              { type: 'text', text: 'b' },
            ],
          },
        },
      }),
    ).toBe('ab');
    expect(agentMessageText({ type: 'event_msg', payload: { type: 'user_message', message: 'x' } })).toBeUndefined();
  });

  it('collectHistory gathers an async iterable, and an absent one is empty', async () => {
    async function* gen(): AsyncGenerator<RolloutItem> {
      yield { type: 'a', payload: 1 };
      yield { type: 'b', payload: 2 };
    }
    expect((await collectHistory(gen())).map((i) => i.type)).toEqual(['a', 'b']);
    expect(await collectHistory(undefined)).toEqual([]);
  });
});
