import { TURN_ABORTED_MARKER } from '@skein/core-session';
import { isEventMsg, isSessionMeta, ThreadStoreError } from '@skein/thread-store-api';
import type { RolloutItem } from '@skein/thread-store-api';

/**
 * Where each turn of a history starts: at its `task_started`; a history written without them
 * (older Codex) starts a turn at each user message event.
 */
export function turnStarts(history: readonly RolloutItem[]): number[] {
  const starts: number[] = [];
  history.forEach((item, i) => {
    if (isEventMsg(item, 'task_started')) starts.push(i);
  });
  if (starts.length > 0) return starts;
  history.forEach((item, i) => {
    if (isEventMsg(item, 'user_message')) starts.push(i);
  });
  return starts;
}

/** Copies a line for a fork: the fork writes it anew, so it gets a new time (and no ordinal). */
function copyLine(item: RolloutItem): RolloutItem {
  const { timestamp: _t, ordinal: _o, ...rest } = item as RolloutItem & { ordinal?: number };
  return structuredClone(rest) as RolloutItem;
}

/**
 * The items a legacy fork records after its own `session_meta`: a copy of the parent's
 * `session_meta`, then the parent's lines up to the end of turn `turns` (all when undefined). If
 * the last copied turn never finished, a synthetic `turn_aborted` and a `<turn_aborted>` user
 * message close it, as Codex does.
 */
export function legacyForkItems(parentHistory: readonly RolloutItem[], turns?: number): RolloutItem[] {
  const first = parentHistory[0];
  if (!first || !isSessionMeta(first))
    throw ThreadStoreError.invalidRequest('cannot fork a thread whose history does not start with a session_meta line');
  const body = parentHistory.slice(1);
  const starts = turnStarts(body);
  if (turns !== undefined) {
    if (!Number.isInteger(turns) || turns < 0)
      throw ThreadStoreError.invalidRequest(
        `a fork point must be a whole number of turns (0..${starts.length}), got ${String(turns)}`,
      );
    if (turns > starts.length)
      throw ThreadStoreError.invalidRequest(`cannot fork after turn ${turns}: the thread has ${starts.length} turn(s)`);
  }
  const end = turns === undefined || turns >= starts.length ? body.length : (starts[turns] ?? body.length);
  const kept = body.slice(0, end);
  const out = [copyLine(first), ...kept.map(copyLine)];

  const keptStarts = starts.filter((s) => s < end);
  const lastStart = keptStarts.at(-1);
  if (lastStart !== undefined && isEventMsg(body[lastStart] as RolloutItem, 'task_started')) {
    const lastTurn = kept.slice(lastStart);
    const finished = lastTurn.some((i) => isEventMsg(i, 'task_complete') || isEventMsg(i, 'turn_aborted'));
    if (!finished) {
      const turnId = (body[lastStart]?.payload as { turn_id?: unknown }).turn_id;
      out.push({
        type: 'event_msg',
        payload: { type: 'turn_aborted', turn_id: typeof turnId === 'string' ? turnId : null, reason: 'interrupted' },
      });
      out.push({
        type: 'response_item',
        payload: { type: 'message', role: 'user', content: [{ type: 'input_text', text: TURN_ABORTED_MARKER }] },
      });
    }
  }
  return out;
}
