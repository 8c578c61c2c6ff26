import { ThreadStoreError } from '@skein/thread-store-api';
import type { StoredThread, ThreadStore } from '@skein/thread-store-api';
import { skeinVersion } from './version.js';

/**
 * Forks through ThreadManager, so the fork has Codex's shape: a paginated parent is referenced
 * (`history_base`, no copy of its lines), a legacy one is copied (new session_meta with
 * forkedFromId, the parent's meta, its history, an unfinished last turn marked aborted). No turn
 * runs, so the model client is only a placeholder the session requires. Keeping no turn at all
 * is refused: it would make an empty fork that no listing shows.
 */
export async function forkThroughManager(
  store: ThreadStore,
  source: StoredThread,
  turns: number | undefined,
): Promise<StoredThread> {
  if (turns !== undefined && turns < 1)
    throw ThreadStoreError.invalidRequest(
      `a fork keeps at least one turn: use --turn 1..N, or leave --turn out to keep every turn (got ${turns})`,
    );
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
