import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { InMemoryThreadStore } from '@skein/thread-store-api';
import type { ThreadStore } from '@skein/thread-store-api';
import { LocalThreadStore } from '@skein/thread-store-local';

export interface StoreHarness {
  store: ThreadStore;
  /** Another store over the same storage, as a second process would open it. */
  reopen(): ThreadStore;
  cwd: string;
  cleanup(): Promise<void>;
}

export interface StoreFactory {
  name: string;
  localPaths: boolean;
  make(): Promise<StoreHarness>;
}

export const factories: StoreFactory[] = [
  {
    name: 'InMemoryThreadStore',
    localPaths: false,
    async make() {
      const store = new InMemoryThreadStore({ defaultModelProvider: 'openai' });
      const others: ThreadStore[] = [];
      return {
        store,
        cwd: '/work/proj',
        reopen: () => {
          const s = new InMemoryThreadStore({ defaultModelProvider: 'openai', storage: store.storage });
          others.push(s);
          return s;
        },
        cleanup: async () => {
          for (const s of [store, ...others]) await s.close().catch(() => undefined);
        },
      };
    },
  },
  {
    name: 'LocalThreadStore',
    localPaths: true,
    async make() {
      const home = await mkdtemp(path.join(tmpdir(), 'skein-thread-manager-'));
      const opened: ThreadStore[] = [];
      const open = (): ThreadStore => {
        // Compared item for item with the in-memory store, which keeps the legacy shape.
        const s = new LocalThreadStore({ home, defaultModelProvider: 'openai', fsync: 'never', historyMode: 'legacy' });
        opened.push(s);
        return s;
      };
      return {
        store: open(),
        cwd: home,
        reopen: open,
        cleanup: async () => {
          for (const s of opened) await s.close().catch(() => undefined);
          await rm(home, { recursive: true, force: true });
        },
      };
    },
  },
];
