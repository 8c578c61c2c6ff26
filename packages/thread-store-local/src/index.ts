export { LocalThreadStore } from './local-thread-store.js';
export type {
  FsyncPolicy,
  IndexNowOptions,
  IndexProgress,
  IndexProgressListener,
  IntegrityResult,
  LocalThreadStoreOptions,
} from './local-thread-store.js';
