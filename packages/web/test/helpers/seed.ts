import type { RolloutItem, ThreadId } from '@skein/thread-store-api';
import { newThreadId } from '@skein/thread-store-api';
import { LocalThreadStore } from '@skein/thread-store-local';

export const userMessage = (text: string): RolloutItem => ({
  type: 'event_msg',
  payload: { type: 'user_message', message: text },
});
export const agentMessage = (text: string): RolloutItem => ({
  type: 'event_msg',
  payload: { type: 'agent_message', message: text },
});

/** Message text that must stay text: every payload sets `window.__xss` if it ever runs. */
export const XSS_CORPUS = [
  '<script>window.__xss = "script tag"</script>',
  '<img src=x onerror="window.__xss=\'img onerror\'">',
  '<svg onload="window.__xss=\'svg onload\'"><circle r="1"/></svg>',
  '[click me](javascript:window.__xss="markdown link")',
  '[data link](data:text/html,<script>window.__xss=1</script>)',
  '<a href="javascript:window.__xss=\'anchor\'">anchor</a>',
  '![pixel](javascript:window.__xss="image")',
  '<iframe srcdoc="<script>parent.__xss=\'iframe\'</script>"></iframe>',
  '"><svg/onload=window.__xss="attr breakout">',
  '<details open ontoggle="window.__xss=\'ontoggle\'">x</details>',
  '[ref link][r]\n\n[r]: javascript:window.__xss="reference"',
  '<style>body{display:none}</style>',
];

export interface SeededHome {
  /** Every seeded thread, newest first by creation. */
  ids: ThreadId[];
  /** A thread of many turns; turn 7 says SEARCH_NEEDLE. */
  multiTurn: ThreadId;
  xss: ThreadId;
  /** Ids by role, for the tests that change them. */
  named: Record<'rename' | 'archive' | 'remove' | 'live' | 'export', ThreadId>;
}

export const SEARCH_NEEDLE = 'zanzibarquokka';
export const PROVIDERS = ['openai', 'echo', 'ollama'];

/**
 * Writes `count` threads into a Codex home through the local store (legacy format, so each user
 * message starts a turn), with creation times one minute apart, three providers, five cwds, and
 * a few threads with roles in the tests.
 */
export async function seedHome(home: string, count: number): Promise<SeededHome> {
  const store = new LocalThreadStore({ home, fsync: 'never', historyMode: 'legacy', watch: false });
  const ids: ThreadId[] = [];
  const base = Date.UTC(2026, 0, 1);
  const write = async (i: number, items: RolloutItem[], name?: string): Promise<ThreadId> => {
    const threadId = newThreadId(base + i * 60_000);
    await store.createThread({
      threadId,
      source: { kind: i % 7 === 0 ? 'vscode' : 'cli' },
      metadata: { cwd: `/work/project-${i % 5}`, modelProvider: PROVIDERS[i % 3]! },
    });
    await store.appendItems({ threadId, items });
    await store.flushThread(threadId);
    if (name !== undefined) await store.updateThreadMetadata({ threadId, patch: { name } });
    await store.shutdownThread(threadId);
    ids.push(threadId);
    return threadId;
  };
  for (let i = 0; i < count - 8; i++)
    await write(i, [userMessage(`question number ${i}`), agentMessage(`answer number ${i}`)]);
  const turns: RolloutItem[] = [];
  for (let t = 1; t <= 30; t++)
    turns.push(
      userMessage(`turn ${t} asks${t === 7 ? ` about the ${SEARCH_NEEDLE}` : ''}`),
      agentMessage(`turn ${t} answers with **bold** text and \`code\``),
    );
  const multiTurn = await write(count - 8, turns, 'many turns');
  const xssItems = XSS_CORPUS.flatMap((x) => [userMessage(x), agentMessage(x)]);
  const xss = await write(count - 7, xssItems, 'xss corpus');
  const named = {
    rename: await write(count - 6, [userMessage('rename me'), agentMessage('ok')], 'to be renamed'),
    archive: await write(count - 5, [userMessage('archive me'), agentMessage('ok')], 'to be archived'),
    remove: await write(count - 4, [userMessage('delete me'), agentMessage('ok')], 'to be deleted'),
    live: await write(count - 3, [userMessage('watch me'), agentMessage('ok')], 'live thread'),
    export: await write(count - 2, [userMessage('export me'), agentMessage('exported *answer*')], 'to be exported'),
  };
  await write(count - 1, [userMessage('the newest thread'), agentMessage('ok')]);
  await store.close();
  return { ids: ids.reverse(), multiTurn, xss, named };
}
