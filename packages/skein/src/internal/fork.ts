import type { StoredThread, ThreadStore } from '@skein/thread-store-api';
import { skeinVersion } from './version.js';

/**
 * Forks through ThreadManager, so the copy has Codex's legacy fork shape (new session_meta with
 * forkedFromId, the parent's meta, its history, an unfinished last turn marked aborted). No turn
 * runs, so the model client is only a placeholder the session requires.
 */
export async function forkThroughManager(
  store: ThreadStore,
  source: StoredThread,
  turns: number | undefined,
): Promise<StoredThread> {
  const [{ EchoModelClient }, { ThreadManager }] = await Promise.all([
    import('@skein/core-session'),
    import('@skein/thread-manager'),
  ]);
  const manager = new ThreadManager({
    store,
    model: new EchoModelClient(),
    defaults: { originator: 'skein', cliVersion: skeinVersion() },
  });
  try {
    const fork = await manager.forkThread({
      threadId: source.threadId,
      includeArchived: true,
      ...(turns === undefined ? {} : { turns }),
    });
    await fork.shutdown();
    return await store.readThread({ threadId: fork.threadId, includeArchived: true });
  } finally {
    await manager.shutdownAll();
  }
}
