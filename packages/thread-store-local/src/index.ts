export { LocalThreadStore } from './local-thread-store.js';
export type {
  FsyncPolicy,
  IndexNowOptions,
  IndexProgress,
  IndexProgressListener,
  IntegrityResult,
  LocalStoreWarning,
  LocalThreadStoreOptions,
} from './local-thread-store.js';
