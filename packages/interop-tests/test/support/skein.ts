import { LocalThreadStore } from '@skein/thread-store-local';
import {
  agentMessageText,
  collectHistory,
  isEventMsg,
  parseThreadId,
  userMessageText,
  type ListThreadsParams,
  type RolloutItem,
  type SessionSource,
  type SessionSourceFilter,
  type StoredThread,
  type ThreadStore,
} from '@skein/thread-store-api';
import { MOCK_PROVIDER_ID } from '../../src/harness.js';

/** A LocalThreadStore over a Codex home, with the mock provider as its default provider. */
export function openSkeinStore(home: string, historyMode: 'legacy' | 'paginated' = 'paginated'): ThreadStore {
  return new LocalThreadStore({ home, defaultModelProvider: MOCK_PROVIDER_ID, historyMode });
}

/** Every source kind Codex can list (internal threads are hidden from every Codex kind). */
export const ALL_SKEIN_SOURCES: readonly SessionSourceFilter[] = [
  'cli',
  'vscode',
  'exec',
  'mcp',
  'custom',
  'subagent',
  'unknown',
];

/** Pages through listThreads and returns every thread in order. */
export async function listAllSkein(store: ThreadStore, params: ListThreadsParams = {}): Promise<StoredThread[]> {
  const out: StoredThread[] = [];
  let cursor: string | null = null;
  for (let i = 0; i < 10_000; i++) {
    const page = await store.listThreads({ pageSize: 7, ...params, cursor });
    out.push(...page.items);
    if (!page.nextCursor) return out;
    cursor = page.nextCursor;
  }
  throw new Error('listThreads did not finish paging');
}

export interface HistoryTexts {
  user: string[];
  agent: string[];
  /** Number of task_started events: one per turn. */
  turns: number;
  items: RolloutItem[];
}

export async function skeinHistory(
  store: ThreadStore,
  threadId: string,
  includeArchived = false,
): Promise<HistoryTexts> {
  const thread = await store.readThread({ threadId: parseThreadId(threadId), includeHistory: true, includeArchived });
  const items = await collectHistory(thread.history);
  const user: string[] = [];
  const agent: string[] = [];
  let turns = 0;
  for (const item of items) {
    const u = userMessageText(item);
    if (u !== undefined) user.push(u);
    const a = agentMessageText(item);
    if (a !== undefined) agent.push(a);
    if (isEventMsg(item, 'task_started')) turns += 1;
  }
  return { user, agent, turns, items };
}

/** The source as the app-server v2 API reports it (`mcp` is `appServer` there). */
export function v2Source(s: SessionSource): unknown {
  switch (s.kind) {
    case 'cli':
    case 'vscode':
    case 'exec':
    case 'unknown':
      return s.kind;
    case 'mcp':
      return 'appServer';
    case 'custom':
      return { custom: s.name };
    default:
      return { other: s.kind };
  }
}

export function seconds(d: Date): number {
  return Math.floor(d.getTime() / 1000);
}
