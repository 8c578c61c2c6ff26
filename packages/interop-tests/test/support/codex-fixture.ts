import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { ThreadStore } from '@skein/thread-store-api';
import { afterAll, beforeAll } from 'vitest';
import {
  makeCodexHome,
  startMockResponsesServer,
  type CodexHome,
  type MockResponsesServer,
} from '../../src/harness.js';
import { openSkeinStore } from './skein.js';

/** What a describe block shares: the mock, a throwaway home, a work folder and Skein stores on it. */
export interface CodexFixture {
  mock: MockResponsesServer;
  home: CodexHome;
  /** A folder beside the home, used as the threads' cwd. */
  cwd: string;
  /** The first of `stores`. */
  store: ThreadStore;
  stores: ThreadStore[];
}

/**
 * Registers beforeAll/afterAll hooks that start the mock Responses server, make a Codex home
 * and open `storeCount` LocalThreadStores on it; the returned object is filled in by beforeAll.
 */
export function useCodexFixture(storeCount = 1): CodexFixture {
  const f = { stores: [] as ThreadStore[] } as unknown as CodexFixture;
  beforeAll(async () => {
    f.mock = await startMockResponsesServer();
    f.home = await makeCodexHome(f.mock.url);
    f.cwd = path.join(f.home.path, '..', `${path.basename(f.home.path)}-work`);
    await mkdir(f.cwd, { recursive: true });
    for (let i = 0; i < storeCount; i++) f.stores.push(openSkeinStore(f.home.path));
    f.store = f.stores[0]!;
  });
  afterAll(async () => {
    for (const s of f.stores) await s.close();
    await f.mock?.close();
    await f.home?.remove();
  });
  return f;
}
