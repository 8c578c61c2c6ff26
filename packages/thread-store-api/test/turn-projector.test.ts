import { describe, expect, it } from 'vitest';
import { buildTurns, TurnList, TurnProjector } from '../src/index.js';
import type { ProjectedTurn, RolloutItem, TurnProjectionState } from '../src/index.js';

const ev = (payload: Record<string, unknown>, extra: Partial<RolloutItem> = {}): RolloutItem => ({
  timestamp: '2026-01-02T03:04:05.000Z',
  type: 'event_msg',
  payload: payload as RolloutItem['payload'],
  ...extra,
});
const meta = (mode?: 'paginated'): RolloutItem => ({
  type: 'session_meta',
  payload: { id: '0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b', ...(mode ? { history_mode: mode } : {}) },
});
const user = (message: string): RolloutItem => ev({ type: 'user_message', message, images: [] });
const agent = (message: string, phase?: string): RolloutItem =>
  ev({ type: 'agent_message', message, ...(phase ? { phase } : {}) });
const respItem: RolloutItem = { type: 'response_item', payload: { type: 'message', role: 'user', content: [] } };

describe('legacy turns', () => {
  it('user messages start implicit turns; items are numbered through the thread; reasoning merges', () => {
    const turns = buildTurns([
      meta(),
      user('First turn'),
      agent('Hi there'),
      ev({ type: 'agent_reasoning', text: 'thinking' }),
      ev({ type: 'agent_reasoning_raw_content', text: 'full reasoning' }),
      respItem,
      user('Second turn'),
      agent('Reply two'),
    ]);
    expect(turns.map((t) => [t.turnId, t.ordinal, t.lastOrdinal, t.status, t.itemCount])).toEqual([
      ['legacy-turn-1', 1, 5, 'completed', 3],
      ['legacy-turn-6', 6, 7, 'completed', 2],
    ]);
    expect(turns[0]!.items.map((i) => i.item)).toEqual([
      {
        type: 'userMessage',
        id: 'item-1',
        clientId: null,
        content: [{ type: 'text', text: 'First turn', text_elements: [] }],
      },
      {
        type: 'agentMessage',
        moderation: null,
        id: 'item-2',
        text: 'Hi there',
        phase: null,
        memoryCitation: null,
        delivery: null,
        questions: null,
      },
      { type: 'reasoning', id: 'item-3', summary: ['thinking'], content: ['full reasoning'] },
    ]);
    expect(turns[1]!.items.map((i) => [i.itemId, i.ordinal, i.turnId])).toEqual([
      ['item-4', 6, 'legacy-turn-6'],
      ['item-5', 7, 'legacy-turn-6'],
    ]);
  });

  it('explicit turns keep their ids and times; errors fail them; aborts interrupt them', () => {
    const turns = buildTurns([
      meta(),
      ev({ type: 'task_started', turn_id: 't1', started_at: 1700000000 }),
      user('one'),
      agent('done'),
      ev({ type: 'task_complete', turn_id: 't1', completed_at: 1700000003, duration_ms: 3000 }),
      respItem,
      ev({ type: 'task_started', turn_id: 't2' }),
      user('two'),
      ev({ type: 'task_complete', turn_id: 't2', error: { message: 'boom', codex_error_info: 'other' } }),
      ev({ type: 'task_started', turn_id: 't3' }),
      user('three'),
      ev({ type: 'turn_aborted', turn_id: 't3', reason: 'interrupted' }),
      ev({ type: 'task_started', turn_id: 't4' }),
      user('four'),
    ]);
    expect(turns.map((t) => [t.turnId, t.status, t.ordinal, t.lastOrdinal])).toEqual([
      ['t1', 'completed', 1, 4],
      ['t2', 'failed', 6, 8],
      ['t3', 'interrupted', 9, 11],
      ['t4', 'inProgress', 12, 13],
    ]);
    expect(turns[0]).toMatchObject({ startedAtMs: 1700000000000, completedAtMs: 1700000003000, durationMs: 3000 });
    expect(turns[1]!.error).toEqual({ message: 'boom', additionalDetails: { codex_error_info: 'other' } });
  });

  it('a late completion updates the turn it names; a rollback drops turns and renumbers items', () => {
    const turns = buildTurns([
      ev({ type: 'task_started', turn_id: 'a' }),
      user('one'),
      ev({ type: 'turn_aborted', turn_id: 'a' }),
      ev({ type: 'task_started', turn_id: 'b' }),
      user('two'),
      ev({ type: 'task_complete', turn_id: 'a' }),
      ev({ type: 'task_complete', turn_id: 'b' }),
      ev({ type: 'thread_rolled_back', num_turns: 1 }),
      user('again'),
    ]);
    expect(turns.map((t) => [t.turnId, t.status])).toEqual([
      ['a', 'interrupted'],
      ['legacy-turn-8', 'completed'],
    ]);
    expect(turns[1]!.items[0]!.itemId).toBe('item-2');
  });

  it('compaction-only turns are kept; empty implicit turns are not', () => {
    const turns = buildTurns([{ type: 'compacted', payload: { message: 's' } }, agent(''), user('after')]);
    expect(turns.map((t) => t.itemCount)).toEqual([1]);
    expect(turns[0]!.ordinal).toBe(0);
  });
});

describe('paginated turns', () => {
  const TH = '0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b';
  const completed = (turn: string, item: Record<string, unknown>, ordinal: number, withThread = true): RolloutItem =>
    ev(
      { type: 'item_completed', ...(withThread ? { thread_id: TH } : {}), turn_id: turn, item, started_at_ms: 5 },
      { ordinal },
    );

  it('ordinals are positions; items keep Codex ids; bad lines are skipped as Codex skips them', () => {
    const turns = buildTurns([
      { ...meta('paginated'), ordinal: 10 },
      ev({ type: 'task_started', turn_id: 'T', started_at: 2 }, { ordinal: 11 }),
      completed('T', { type: 'UserMessage', id: 'u1', content: [{ type: 'text', text: 'hi' }] }, 12),
      completed('T', { type: 'AgentMessage', id: 'dup', content: [{ type: 'Text', text: 'x' }] }, 12),
      completed('T', { type: 'AgentMessage', id: 'nothread', content: [] }, 13, false),
      ev({ type: 'user_message', message: 'legacy event ignored' }, { ordinal: 14 }),
      completed(
        'T',
        {
          type: 'AgentMessage',
          id: 'a1',
          content: [
            { type: 'Text', text: 'he' },
            { type: 'Text', text: 'llo' },
          ],
          phase: 'final_answer',
        },
        15,
      ),
      completed('T', { type: 'Reasoning', id: 'r1', summary_text: ['s'], raw_content: [] }, 16),
      ev({ type: 'task_complete', turn_id: 'T', duration_ms: 7 }, { ordinal: 17 }),
      ev({ type: 'task_complete', turn_id: 'orphan' }, { ordinal: 19 }),
      ev({ type: 'task_started', turn_id: 'open' }),
    ]);
    expect(turns.map((t) => [t.turnId, t.ordinal, t.lastOrdinal, t.status])).toEqual([
      ['T', 11, 17, 'completed'],
      ['orphan', 19, 19, 'completed'],
    ]);
    expect(turns[0]!.items.map((i) => [i.itemId, i.ordinal, i.createdAtMs])).toEqual([
      ['u1', 12, 5],
      ['a1', 15, 5],
      ['r1', 16, 5],
    ]);
    expect(turns[0]!.items[1]!.item).toMatchObject({ type: 'agentMessage', text: 'hello', phase: 'final_answer' });
    expect(turns[0]!.items[2]!.item).toEqual({ type: 'reasoning', id: 'r1', summary: ['s'], content: [] });
  });
});

/** A legacy history with explicit and implicit turns, of any length. */
function history(n: number): RolloutItem[] {
  const out: RolloutItem[] = [meta()];
  for (let i = 0; i < n; i++) {
    if (i % 3 === 0) out.push(ev({ type: 'task_started', turn_id: `t${i}` }));
    out.push(respItem, user(`u${i}`), ev({ type: 'agent_reasoning', text: `r${i}` }), agent(`a${i}`));
    if (i % 3 === 0) out.push(ev({ type: 'task_complete', turn_id: `t${i}` }), respItem);
  }
  return out;
}

function withRanges(items: RolloutItem[]): { item: RolloutItem; start: number; end: number }[] {
  let at = 0;
  return items.map((item) => {
    const len = JSON.stringify(item).length + 1;
    const r = { item, start: at, end: at + len };
    at += len;
    return r;
  });
}

describe('incremental projection', () => {
  it('any split into passes with the state saved as JSON gives the same turns as one pass', () => {
    const lines = withRanges(history(9));
    const whole = new TurnList();
    const one = new TurnProjector(whole);
    for (const l of lines) one.observe(l.item, l);
    one.finish();
    for (let cut = 0; cut <= lines.length; cut++) {
      const list = new TurnList();
      const a = new TurnProjector(list);
      for (const l of lines.slice(0, cut)) a.observe(l.item, l);
      const saved = JSON.parse(JSON.stringify(a.state)) as TurnProjectionState;
      const b = new TurnProjector(list, { state: saved });
      for (const l of lines.slice(cut)) b.observe(l.item, l);
      b.finish();
      expect(list.turns).toEqual(whole.turns);
    }
  });

  it("re-reading a turn's byte range from its saved position rebuilds the same turn with its items", () => {
    const lines = withRanges(history(7));
    const full: ProjectedTurn[] = buildTurns(lines.map((l) => l.item));
    const index = new TurnList();
    const p = new TurnProjector(index);
    for (const l of lines) p.observe(l.item, l);
    p.finish();
    expect(index.turns.map((t) => t.turnId)).toEqual(full.map((t) => t.turnId));
    for (const [i, t] of index.turns.entries()) {
      const again = new TurnList();
      const r = new TurnProjector(again, {
        keepItems: true,
        state: { mode: 'legacy', seen: t.ordinal, lastOrdinal: null, nextItemIndex: t.itemsBefore + 1, current: null },
      });
      for (const l of lines.filter((x) => x.start >= t.start! && x.end <= t.end!)) r.observe(l.item, l);
      r.finish();
      expect(again.turns[0]!.items).toEqual(full[i]!.items);
      expect(again.turns[0]!.turnId).toBe(t.turnId);
    }
  });
});
