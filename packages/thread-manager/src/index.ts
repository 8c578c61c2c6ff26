export { CodexThread } from './codex-thread.js';
export type { CodexThreadMetadata } from './codex-thread.js';
export { ThreadManager } from './thread-manager.js';
export type {
  ForkThreadOptions,
  ResumeThreadOptions,
  StartThreadOptions,
  ThreadDefaults,
  ThreadManagerOptions,
} from './thread-manager.js';
export { legacyForkItems, turnStarts } from './fork-history.js';
