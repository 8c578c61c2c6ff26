import type { HistoryMode } from '@skein/thread-store-api';
import type { IndexProgressListener } from './internal/indexer.js';
import type { FsyncPolicy } from './internal/recorder.js';

/** What `LocalThreadStore.indexLag()` reports. */
export interface IndexLag {
  /** Rollout files changed since the index last caught up (0 when it is up to date). */
  pendingFiles: number;
  /** A change the file list cannot describe (a folder created or removed, too many events): the next listing walks the home. */
  fullWalkPending: boolean;
  /** How long the oldest of those changes has waited, in seconds (0 when there is none). */
  seconds: number;
}

/** Options of the `LocalThreadStore` constructor. */
export interface LocalThreadStoreOptions {
  /** The Codex-shaped home folder (CODEX_HOME). Created when missing. */
  home: string;
  /** Provider assumed for threads that record none, and the default provider filter of listings. */
  defaultModelProvider?: string;
  /** `always` (default): flush fsyncs the rollout. `never`: flush writes without fsync. */
  fsync?: FsyncPolicy;
  /** Progress of indexing (the first index of a large home can take a while). */
  onIndexProgress?: IndexProgressListener;
  /** `session_meta.originator` of new threads when the caller gives none (default `skein`). */
  originator?: string;
  /** `session_meta.cli_version` of new threads when the caller gives none. */
  cliVersion?: string;
  /**
   * `true` (default): while the store is open, watch the rollout folders (inotify) and re-index
   * only changed files before a call. `false`: walk and stat every file before each listing or
   * search (calls by id still only scan folder mtimes).
   */
  watch?: boolean;
  /**
   * Where Codex keeps `state_5.sqlite` for this home. Default: as Codex decides it (`sqlite_home`
   * in the home's config.toml, else `$CODEX_SQLITE_HOME`, else the home).
   */
  codexSqliteHome?: string;
  /**
   * Called when something secondary failed after the change itself was made durable: Codex's
   * state DB could not be updated (Codex repairs it from the files), or a name did not reach
   * session_index.jsonl yet (added on the next resume or update). Default: `process.emitWarning`.
   */
  onWarning?: (warning: LocalStoreWarning) => void;
  /**
   * With `watch`, a listing starts a background sweep of the whole home (never waited for) when
   * the last one is older than this (milliseconds; default 60000), as a safety net for changes
   * nothing reported.
   */
  fullSweepIntervalMs?: number;
  /**
   * `true` (default): once per open, a second after the first listing or search, verify the index in the
   * background (every row's checksum in small slices, SQLite's quick_check on a worker thread)
   * and rebuild it from the rollout files when it is damaged. See `checkIndexIntegrity`.
   */
  backgroundIntegrityCheck?: boolean;
  /**
   * `true` (default): large index passes (a full index, the background sweep, a large batch of
   * changes) read the rollout files and write their rows on a worker thread with its own
   * connection to the index, so the event loop stays free to answer calls meanwhile. `false`:
   * every pass runs on the event loop, in slices. The store also falls back to that when the
   * worker cannot start.
   */
  indexWorker?: boolean;
  /**
   * The format of new rollouts: `paginated` (default; what Codex 0.169 writes: every line has an
   * ordinal, messages are `item_completed` items, forks reference their parent) or `legacy`. A
   * resumed thread is always continued in the format it was made in.
   */
  historyMode?: HistoryMode;
  /**
   * Cap, in bytes, of the lines a live writer holds before a flush (default 64 MiB). An append
   * past it fails with `resource_exhausted`; flush to make room.
   */
  maxBufferedBytes?: number;
}

/** A failure to keep Codex's own files in step, reported to `onWarning` instead of failing the call. */
export interface LocalStoreWarning {
  /** `codex_state`: Codex's state_5.sqlite; `name_index`: session_index.jsonl. */
  code: 'codex_state' | 'name_index';
  threadId: string;
  message: string;
  cause: unknown;
}

/** Options of `LocalThreadStore.indexNow`. */
export interface IndexNowOptions {
  /** Forget the whole index first and re-read every file. */
  rebuild?: boolean;
  onProgress?: IndexProgressListener;
}
