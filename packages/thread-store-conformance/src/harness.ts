import type { ThreadStore } from '@skein/thread-store-api';

/** What a store under test can do; capability-dependent groups are skipped when absent. */
export interface ConformanceCapabilities {
  /** `reopen` is provided: durability checks run. */
  reopen?: boolean;
  /** `second` is provided: two instances on the same storage are checked. */
  sharedStorage?: boolean;
  /** `searchThreads` searches message content (defaults to true). */
  contentSearch?: boolean;
  /** Threads have rollout files (`rolloutPath`, `readThreadByRolloutPath`). Defaults to false. */
  localPaths?: boolean;
  /**
   * `createThread({ historyMode: 'paginated' })` writes a paginated history (defaults to false:
   * the store must reject it with `unsupported`). The suite's other checks use legacy histories.
   */
  paginatedHistory?: boolean;
  /**
   * The store keeps segments of paginated threads (`listSegments`, `resumeThread` with `segment`,
   * `loadHistory` with `rolloutId`). Defaults to false: the store must then reject `segment` and
   * `rolloutId` with `unsupported`.
   */
  segments?: boolean;
}

/** How the suite gets stores to test. */
export interface ThreadStoreHarness {
  /** Shown in the suite's title. */
  name: string;
  capabilities: ConformanceCapabilities;
  /** The store's default model provider (defaults to `openai`). */
  defaultModelProvider?: string;
  /** A new store over new, empty storage. Called before every test. */
  create(): Promise<ThreadStore>;
  /**
   * A new store over the storage of `store`, which the suite has already closed (a restart).
   * Required when `capabilities.reopen`.
   */
  reopen?(store: ThreadStore): Promise<ThreadStore>;
  /**
   * A second store over the same storage as `store`, while `store` stays open (another process).
   * Required when `capabilities.sharedStorage`.
   */
  second?(store: ThreadStore): Promise<ThreadStore>;
  /**
   * Called after every test with the test's latest primary store, after the suite closed every
   * store it opened; removes the storage (temp dirs, servers).
   */
  destroy?(store: ThreadStore): Promise<void>;
}
