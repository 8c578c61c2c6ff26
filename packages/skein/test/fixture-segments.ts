import type { RolloutItem, SessionMetaItem, ThreadId, ThreadStore } from '@skein/thread-store-api';

/**
 * Paginated threads with several rollouts, as Codex's `thread/revert` leaves them: `reverted`
 * had three turns, was reverted before its third (segment `first`), got a turn there, was
 * reverted again before that turn (segment `second`, based on `first`) and got another; `fork`
 * is a fork of it made while `first` was its newest rollout, so its `history_base` names that
 * segment's rollout id. Written through the `ThreadStore` API with Codex's numbering and byte
 * offsets, so any store that keeps segments holds the same lines.
 */
export const SEGMENTED = {
  reverted: '0193eeee-1000-7000-8000-000000000001' as ThreadId,
  fork: '0193eeee-1000-7000-8000-000000000002' as ThreadId,
} as const;
export const ROLLOUTS = {
  first: '0193eeee-1000-7000-8000-000000000011' as ThreadId,
  second: '0193eeee-1000-7000-8000-000000000012' as ThreadId,
} as const;

/** The user messages each thread reads as, in order (reverted ones gone). */
export const SEGMENTED_TURNS: Record<keyof typeof SEGMENTED, string[]> = {
  reverted: ['sketch the cache', 'add eviction', 'measure it instead'],
  fork: ['sketch the cache', 'add eviction', 'try an LRU', 'fork: use a clock'],
};

const at = (n: number): string => new Date(Date.UTC(2026, 10, 20, 9, 0, n)).toISOString();

function meta(threadId: ThreadId, ordinal: number, extra: Record<string, unknown> = {}): SessionMetaItem {
  return {
    timestamp: at(ordinal),
    ordinal,
    type: 'session_meta',
    payload: {
      session_id: threadId,
      id: threadId,
      ...extra,
      timestamp: at(ordinal),
      cwd: '/proj/cache',
      originator: 'codex_exec',
      cli_version: '0.169.0',
      source: 'cli',
      model_provider: 'openai',
      history_mode: 'paginated',
    },
  } as SessionMetaItem;
}

/** One completed turn from ordinal `first` (four lines), as Codex 0.169 writes it. */
function turn(threadId: ThreadId, first: number, user: string): RolloutItem[] {
  const turnId = `turn-${first}-${threadId.slice(-2)}`;
  const completed = (item: Record<string, unknown>) => ({
    type: 'event_msg',
    payload: { type: 'item_completed', thread_id: threadId, turn_id: turnId, item },
  });
  const lines = [
    { type: 'event_msg', payload: { type: 'task_started', turn_id: turnId } },
    completed({ type: 'UserMessage', id: `u-${turnId}`, content: [{ type: 'text', text: user }] }),
    completed({ type: 'AgentMessage', id: `a-${turnId}`, content: [{ type: 'Text', text: `done: ${user}` }] }),
    { type: 'event_msg', payload: { type: 'task_complete', turn_id: turnId, last_agent_message: `done: ${user}` } },
  ];
  return lines.map((l, i) => ({ timestamp: at(first + i), ordinal: first + i, ...l }) as RolloutItem);
}

/** Bytes of a rollout's lines through `lines[last]` (compact JSON, one per line). */
const bytesThrough = (lines: readonly RolloutItem[], last: number): number =>
  lines.slice(0, last + 1).reduce((n, l) => n + Buffer.byteLength(JSON.stringify(l)) + 1, 0);

const base = (rollout: ThreadId, lines: readonly RolloutItem[], last: number) => ({
  thread_id: rollout,
  end_ordinal_exclusive: (lines[last]?.ordinal ?? 0) + 1,
  end_byte_offset: bytesThrough(lines, last),
});

async function write(store: ThreadStore, threadId: ThreadId, items: readonly RolloutItem[]): Promise<void> {
  await store.appendItems({ threadId, items });
  await store.shutdownThread(threadId);
}

/** Writes the threads of `SEGMENTED` into a store that keeps segments. */
export async function makeSegmentedThreads(store: ThreadStore): Promise<void> {
  const T = SEGMENTED.reverted;
  const params = (threadId: ThreadId, sessionMeta: SessionMetaItem) => ({
    threadId,
    source: { kind: 'cli' } as const,
    createdAt: new Date(sessionMeta.timestamp ?? at(0)),
    metadata: { cwd: '/proj/cache', modelProvider: 'openai' },
    sessionMeta,
  });
  const first = [
    meta(T, 0),
    ...turn(T, 1, 'sketch the cache'),
    ...turn(T, 5, 'add eviction'),
    ...turn(T, 9, 'add a metrics page'),
  ];
  await store.createThread(params(T, first[0] as SessionMetaItem));
  await write(store, T, first.slice(1));
  // Reverted before its third turn.
  const seg1 = [meta(T, 9, { history_base: base(T, first, 8) }), ...turn(T, 10, 'try an LRU')];
  await store.resumeThread({
    threadId: T,
    segment: { rolloutId: ROLLOUTS.first, sessionMeta: seg1[0] as SessionMetaItem },
  });
  await write(store, T, seg1.slice(1));
  // A fork while the first segment was the newest rollout.
  const F = SEGMENTED.fork;
  const fEnd = (seg1.at(-1)?.ordinal ?? 0) + 1;
  const fMeta = meta(F, fEnd, {
    forked_from_id: T,
    forked_from_ordinal_exclusive: fEnd,
    history_base: base(ROLLOUTS.first, seg1, seg1.length - 1),
  });
  await store.createThread({ ...params(F, fMeta), forkedFromId: T });
  await write(store, F, turn(F, fEnd + 1, 'fork: use a clock'));
  // Reverted again, before the LRU turn.
  const seg2 = [meta(T, 10, { history_base: base(ROLLOUTS.first, seg1, 0) }), ...turn(T, 11, 'measure it instead')];
  await store.resumeThread({
    threadId: T,
    segment: { rolloutId: ROLLOUTS.second, sessionMeta: seg2[0] as SessionMetaItem },
  });
  await write(store, T, seg2.slice(1));
}

/** The user messages a thread reads as. */
export async function userTexts(store: ThreadStore, threadId: ThreadId): Promise<string[]> {
  const out: string[] = [];
  for await (const item of store.loadHistory({ threadId, includeArchived: true })) {
    const it = (item.payload as { type?: string; item?: { type?: string; content?: { text?: string }[] } }).item;
    if ((item.payload as { type?: string }).type === 'item_completed' && it?.type === 'UserMessage')
      out.push(it.content?.[0]?.text ?? '');
  }
  return out;
}
