import { expect } from 'vitest';
import { collectHistory, isThreadStoreError, newThreadId } from '@skein/thread-store-api';
import type {
  CreateThreadParams,
  RolloutItem,
  SessionSource,
  StoredThread,
  ThreadId,
  ThreadStore,
  ThreadStoreErrorCode,
} from '@skein/thread-store-api';

/** Fixed times: tests never depend on the wall clock. */
const T0 = Date.UTC(2024, 0, 15, 12, 0, 0, 0);
const MINUTE = 60_000;
export const at = (minutes: number): Date => new Date(T0 + minutes * MINUTE);

export const CWD_A = '/srv/skein-conformance/alpha';
export const CWD_B = '/srv/skein-conformance/beta';

export interface SeedOptions {
  threadId?: ThreadId;
  createdAt?: Date;
  /** The user's first message; `null` seeds a thread with no messages (empty preview). */
  user?: string | null;
  agent?: string;
  cwd?: string;
  modelProvider?: string;
  source?: SessionSource;
  model?: string;
  effort?: string;
  forkedFromId?: ThreadId;
  /** Leave the live writer open after flushing (default: shut it down). */
  keepLive?: boolean;
  /** Extra items appended after the turn. */
  extra?: RolloutItem[];
  /** Written as given (default: the store's own default). */
  historyMode?: 'legacy' | 'paginated';
}

export function createParams(provider: string, o: SeedOptions = {}): CreateThreadParams {
  const p: CreateThreadParams = {
    threadId: o.threadId ?? newThreadId(),
    source: o.source ?? { kind: 'cli' },
    originator: 'skein_conformance',
    cliVersion: '0.0.0-conformance',
    createdAt: o.createdAt ?? at(0),
    metadata: { cwd: o.cwd ?? CWD_A, modelProvider: o.modelProvider ?? provider },
  };
  if (o.forkedFromId) p.forkedFromId = o.forkedFromId;
  if (o.historyMode) p.historyMode = o.historyMode;
  return p;
}

/** One user turn the way a session writes it (both the response items and the events). */
export function turnItems(
  user: string,
  agent: string,
  o: { model?: string; effort?: string; cwd?: string } = {},
): RolloutItem[] {
  return [
    {
      type: 'turn_context',
      payload: {
        cwd: o.cwd ?? CWD_A,
        model: o.model ?? 'gpt-5.1-codex',
        effort: o.effort ?? 'medium',
        approval_policy: 'on-request',
      },
    },
    {
      type: 'response_item',
      payload: { type: 'message', role: 'user', content: [{ type: 'input_text', text: user }] },
    },
    { type: 'event_msg', payload: { type: 'user_message', message: user, images: [] } },
    {
      type: 'response_item',
      payload: { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: agent }] },
    },
    { type: 'event_msg', payload: { type: 'agent_message', message: agent } },
  ];
}

/** Creates a thread, appends one turn, flushes and (unless `keepLive`) shuts the writer down. */
export async function seedThread(store: ThreadStore, provider: string, o: SeedOptions = {}): Promise<ThreadId> {
  const params = createParams(provider, o);
  await store.createThread(params);
  const items: RolloutItem[] = [];
  if (o.user !== null) {
    const turnOpts: { model?: string; effort?: string; cwd?: string } = { cwd: o.cwd ?? CWD_A };
    if (o.model !== undefined) turnOpts.model = o.model;
    if (o.effort !== undefined) turnOpts.effort = o.effort;
    items.push(
      ...turnItems(o.user ?? `hello from ${params.threadId}`, o.agent ?? 'Sure, here is what I found.', turnOpts),
    );
  }
  if (o.extra) items.push(...o.extra);
  if (items.length > 0) {
    await store.appendItems({ threadId: params.threadId, items });
    await store.flushThread(params.threadId);
  } else {
    await store.persistThread(params.threadId);
  }
  if (!o.keepLive) await store.shutdownThread(params.threadId);
  return params.threadId;
}

/** Asserts that `work` rejects with a ThreadStoreError of `code`; returns the error. */
export async function expectCode(
  work: Promise<unknown> | (() => Promise<unknown>),
  code: ThreadStoreErrorCode,
): Promise<Error> {
  let caught: unknown;
  try {
    await (typeof work === 'function' ? work() : work);
  } catch (e) {
    caught = e;
  }
  if (caught === undefined) expect.fail(`expected a ThreadStoreError "${code}", but the call succeeded`);
  if (!isThreadStoreError(caught)) expect.fail(`expected a ThreadStoreError "${code}", got ${String(caught)}`);
  expect(caught.code, caught.message).toBe(code);
  expect(caught.message.length).toBeGreaterThan(0);
  return caught;
}

/** Asserts that iterating `history` rejects with `code` (errors surface on the first step). */
export async function expectIterCode(
  history: () => AsyncIterable<RolloutItem>,
  code: ThreadStoreErrorCode,
): Promise<Error> {
  return expectCode(async () => collectHistory(history()), code);
}

export function ids(threads: readonly StoredThread[]): string[] {
  return threads.map((t) => t.threadId);
}

/** Item types of a history, with the event/response type for event_msg and response_item. */
export function shape(items: readonly RolloutItem[]): string[] {
  return items.map((i) => {
    const p = i.payload as { type?: unknown } | null;
    return (i.type === 'event_msg' || i.type === 'response_item') && p && typeof p.type === 'string'
      ? `${i.type}:${p.type}`
      : i.type;
  });
}

/** An item as a store returns it, for comparison: the store may add a timestamp. */
export function withoutTimestamp(item: RolloutItem): RolloutItem {
  const { timestamp, ...rest } = item;
  void timestamp;
  return rest as RolloutItem;
}
