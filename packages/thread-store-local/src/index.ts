export { LocalThreadStore } from './local-thread-store.js';
export type {
  FsyncPolicy,
  IndexLag,
  IndexNowOptions,
  IndexProgress,
  IndexProgressListener,
  IntegrityResult,
  LocalStoreWarning,
  LocalThreadStoreOptions,
} from './local-thread-store.js';
