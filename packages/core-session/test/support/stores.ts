import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { InMemoryThreadStore } from '@skein/thread-store-api';
import type { ThreadStore } from '@skein/thread-store-api';
import { LocalThreadStore } from '@skein/thread-store-local';

export interface StoreHarness {
  store: ThreadStore;
  /** A second store over the same storage (another process), when the backend has one. */
  reopen(): Promise<ThreadStore>;
  cwd: string;
  cleanup(): Promise<void>;
}

export interface StoreFactory {
  name: string;
  localPaths: boolean;
  make(options?: { now?: () => Date }): Promise<StoreHarness>;
}

export const inMemoryFactory: StoreFactory = {
  name: 'InMemoryThreadStore',
  localPaths: false,
  async make(options = {}) {
    const store = new InMemoryThreadStore({
      defaultModelProvider: 'openai',
      ...(options.now ? { now: options.now } : {}),
    });
    return {
      store,
      cwd: '/work/proj',
      reopen: async () => new InMemoryThreadStore({ defaultModelProvider: 'openai', storage: store.storage }),
      cleanup: async () => {
        await store.close();
      },
    };
  },
};

/** The LocalThreadStore in a temp home (a real rollout folder and SQLite index). */
export async function localFactory(fsync: 'always' | 'never' = 'never'): Promise<StoreFactory | null> {
  return {
    name: 'LocalThreadStore',
    localPaths: true,
    async make() {
      const home = await mkdtemp(path.join(tmpdir(), 'skein-core-session-'));
      const opened: ThreadStore[] = [];
      const open = (): ThreadStore => {
        // Compared item for item with the in-memory store, which keeps the legacy shape.
        const s = new LocalThreadStore({ home, defaultModelProvider: 'openai', fsync, historyMode: 'legacy' });
        opened.push(s);
        return s;
      };
      const store = open();
      return {
        store,
        cwd: home,
        reopen: async () => open(),
        cleanup: async () => {
          for (const s of opened) await s.close().catch(() => undefined);
          await rm(home, { recursive: true, force: true });
        },
      };
    },
  };
}
