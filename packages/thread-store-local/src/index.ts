export { LocalThreadStore } from './local-thread-store.js';
export type {
  FsyncPolicy,
  IndexNowOptions,
  IndexProgress,
  IndexProgressListener,
  LocalStoreWarning,
  LocalThreadStoreOptions,
} from './local-thread-store.js';
