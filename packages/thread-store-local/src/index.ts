export { LocalThreadStore } from './local-thread-store.js';
export type {
  FsyncPolicy,
  IndexNowOptions,
  IndexProgress,
  IndexProgressListener,
  LocalThreadStoreOptions,
} from './local-thread-store.js';
