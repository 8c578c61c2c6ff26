import {
  newThreadId,
  SessionSources,
  type RolloutItem,
  type ThreadId,
  type ThreadStore,
} from '@skein/thread-store-api';
import { defaultReply, MOCK_MODEL, MOCK_PROVIDER_ID } from '../../src/harness.js';

/**
 * Writes threads through a ThreadStore the way a Skein session does: legacy mode, one
 * `turn_context` per turn, both the `response_item` and the `event_msg` for every user and agent
 * message, token counts, `task_started`/`task_complete`, then the metadata a session derives.
 */
export interface SkeinTurn {
  prompt: string;
  /** Defaults to the mock's echo, so Codex's later turns and Skein's read the same way. */
  reply?: string;
}

export interface WriteThreadOptions {
  cwd: string;
  turns: SkeinTurn[];
  createdAt?: Date;
  /** The provider recorded in session_meta (default: the mock's). */
  modelProvider?: string;
  /** Leave the writer open (default: shut it down). */
  keepOpen?: boolean;
  /** The rollout format (default: the store's). */
  historyMode?: 'legacy' | 'paginated';
}

let clock = 0;
/** Strictly increasing ISO timestamps, so items written in one millisecond keep their order. */
function stamp(base: number): string {
  clock = Math.max(clock + 1, base);
  return new Date(clock).toISOString();
}

export function turnItems(cwd: string, turn: SkeinTurn, at = Date.now()): RolloutItem[] {
  const turnId = newThreadId();
  const reply = turn.reply ?? defaultReply(turn.prompt);
  const startedAt = Math.floor(at / 1000);
  const usage = {
    input_tokens: 120,
    cached_input_tokens: 0,
    output_tokens: 30,
    reasoning_output_tokens: 0,
    total_tokens: 150,
  };
  return [
    {
      timestamp: stamp(at),
      type: 'event_msg',
      payload: {
        type: 'task_started',
        turn_id: turnId,
        started_at: startedAt,
        model_context_window: 272000,
        collaboration_mode_kind: 'default',
      },
    },
    {
      timestamp: stamp(at),
      type: 'turn_context',
      payload: {
        turn_id: turnId,
        cwd,
        approval_policy: 'never',
        sandbox_policy: { type: 'read-only' },
        model: MOCK_MODEL,
        effort: null,
        summary: 'auto',
      },
    },
    {
      timestamp: stamp(at),
      type: 'response_item',
      payload: { type: 'message', role: 'user', content: [{ type: 'input_text', text: turn.prompt }] },
    },
    {
      timestamp: stamp(at),
      type: 'event_msg',
      payload: { type: 'user_message', message: turn.prompt, images: [], local_images: [], text_elements: [] },
    },
    {
      timestamp: stamp(at),
      type: 'response_item',
      payload: {
        type: 'message',
        role: 'assistant',
        content: [{ type: 'output_text', text: reply }],
        phase: 'final_answer',
      },
    },
    {
      timestamp: stamp(at),
      type: 'event_msg',
      payload: { type: 'agent_message', message: reply, phase: null },
    },
    {
      timestamp: stamp(at),
      type: 'event_msg',
      payload: {
        type: 'token_count',
        info: { total_token_usage: usage, last_token_usage: usage, model_context_window: 272000 },
        rate_limits: null,
      },
    },
    {
      timestamp: stamp(at),
      type: 'event_msg',
      payload: {
        type: 'task_complete',
        turn_id: turnId,
        last_agent_message: reply,
        completed_at: startedAt,
        duration_ms: 5,
      },
    },
  ];
}

/** Creates a cli thread with the mock provider, appends its turns, flushes, sets its metadata. */
export async function writeSkeinThread(store: ThreadStore, options: WriteThreadOptions): Promise<ThreadId> {
  const threadId = newThreadId();
  await store.createThread({
    threadId,
    source: SessionSources.cli,
    originator: 'skein_interop',
    cliVersion: '0.169.0',
    ...(options.createdAt ? { createdAt: options.createdAt } : {}),
    ...(options.historyMode ? { historyMode: options.historyMode } : {}),
    metadata: { cwd: options.cwd, modelProvider: options.modelProvider ?? MOCK_PROVIDER_ID },
  });
  const first = options.turns[0]?.prompt;
  for (const turn of options.turns) {
    await store.appendItems({ threadId, items: turnItems(options.cwd, turn) });
    await store.flushThread(threadId);
  }
  if (first !== undefined) {
    // What a session derives from the first user message and the last turn context.
    await store.updateThreadMetadata({
      threadId,
      patch: {
        preview: first,
        firstUserMessage: first,
        title: first,
        model: MOCK_MODEL,
        approvalMode: 'never',
        sandboxPolicy: { type: 'read-only' },
        advanceRecencyAt: new Date(),
      },
    });
  }
  if (!options.keepOpen) await store.shutdownThread(threadId);
  return threadId;
}
