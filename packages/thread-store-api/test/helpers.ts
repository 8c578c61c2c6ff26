import type { StoredThread, ThreadId } from '../src/index.js';

/** A StoredThread with every field filled, for tests of pure functions. */
export function thread(overrides: Partial<StoredThread> = {}): StoredThread {
  const id = (overrides.threadId ?? '0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b') as ThreadId;
  return {
    threadId: id,
    sessionId: id,
    forkedFromId: null,
    parentThreadId: null,
    preview: 'hello',
    name: null,
    modelProvider: 'openai',
    model: 'gpt-5',
    reasoningEffort: 'medium',
    createdAt: new Date(Date.UTC(2024, 0, 1)),
    updatedAt: new Date(Date.UTC(2024, 0, 2)),
    recencyAt: new Date(Date.UTC(2024, 0, 1)),
    archivedAt: null,
    cwd: '/w',
    cliVersion: '1.0.0',
    source: { kind: 'cli' },
    threadSource: null,
    agentNickname: null,
    agentRole: null,
    agentPath: null,
    gitInfo: null,
    approvalMode: null,
    sandboxPolicy: null,
    tokenUsage: null,
    firstUserMessage: 'hello',
    historyMode: 'legacy',
    memoryMode: 'enabled',
    rolloutPath: null,
    ...overrides,
  };
}

/** The n-th of a family of distinct, ordered thread ids. */
export function tid(n: number): ThreadId {
  return `00000000-0000-7000-8000-${n.toString(16).padStart(12, '0')}` as ThreadId;
}
