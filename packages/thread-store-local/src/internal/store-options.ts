import { mkdirSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { ThreadStoreError } from '@skein/thread-store-api';
import type { HistoryMode } from '@skein/thread-store-api';
import type { LocalStoreWarning, LocalThreadStoreOptions } from '../options.js';
import { codexDbPaths } from './codex-state.js';
import type { CodexDbPaths } from './codex-state.js';
import type { IndexProgressListener } from './indexer.js';
import { DEFAULT_MAX_BUFFERED_BYTES } from './recorder.js';
import type { FsyncPolicy } from './recorder.js';
import { SKEIN_CLI_VERSION, SKEIN_ORIGINATOR } from './session-meta.js';

/** `LocalThreadStoreOptions` checked, with every default filled in and the home made and resolved. */
export interface ResolvedOptions {
  /** The home's real path (it exists and is a folder). */
  home: string;
  defaultModelProvider: string;
  fsync: FsyncPolicy;
  onIndexProgress: IndexProgressListener | undefined;
  originator: string;
  cliVersion: string;
  codexDbs: CodexDbPaths;
  onWarning: (warning: LocalStoreWarning) => void;
  watch: boolean;
  backgroundIntegrityCheck: boolean;
  indexWorker: boolean;
  fullSweepIntervalMs: number;
  historyMode: HistoryMode;
  maxBufferedBytes: number;
}

/** Checks the constructor's options (`invalid_request` naming the bad one) and creates the home. */
export function resolveOptions(options: LocalThreadStoreOptions): ResolvedOptions {
  if (!options || typeof options.home !== 'string' || options.home === '')
    throw ThreadStoreError.invalidRequest(
      'LocalThreadStore needs a home folder: new LocalThreadStore({ home: "/path/to/.codex" })',
    );
  const provider = options.defaultModelProvider ?? 'openai';
  if (typeof provider !== 'string' || provider === '')
    throw ThreadStoreError.invalidRequest('defaultModelProvider must be a non-empty string');
  const fsync = options.fsync ?? 'always';
  if (fsync !== 'always' && fsync !== 'never')
    throw ThreadStoreError.invalidRequest('fsync must be "always" or "never"');
  let home: string;
  try {
    mkdirSync(options.home, { recursive: true });
    home = realpathSync(path.resolve(options.home));
    if (!statSync(home).isDirectory()) throw new Error('not a directory');
  } catch (e) {
    throw ThreadStoreError.invalidRequest(`cannot use ${options.home} as the store's home: ${(e as Error).message}`);
  }
  if (
    options.codexSqliteHome !== undefined &&
    (typeof options.codexSqliteHome !== 'string' || options.codexSqliteHome === '')
  )
    throw ThreadStoreError.invalidRequest('codexSqliteHome must be a non-empty path');
  const watch = options.watch ?? true;
  if (typeof watch !== 'boolean') throw ThreadStoreError.invalidRequest('watch must be true or false');
  const backgroundIntegrityCheck = options.backgroundIntegrityCheck ?? true;
  if (typeof backgroundIntegrityCheck !== 'boolean')
    throw ThreadStoreError.invalidRequest('backgroundIntegrityCheck must be true or false');
  const indexWorker = options.indexWorker ?? true;
  if (typeof indexWorker !== 'boolean') throw ThreadStoreError.invalidRequest('indexWorker must be true or false');
  const fullSweepIntervalMs = options.fullSweepIntervalMs ?? 60_000;
  if (typeof fullSweepIntervalMs !== 'number' || !(fullSweepIntervalMs >= 0))
    throw ThreadStoreError.invalidRequest('fullSweepIntervalMs must be a number of milliseconds >= 0');
  const historyMode = options.historyMode ?? 'paginated';
  if (historyMode !== 'paginated' && historyMode !== 'legacy')
    throw ThreadStoreError.invalidRequest('historyMode must be "paginated" or "legacy"');
  const maxBufferedBytes = options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES;
  if (!Number.isSafeInteger(maxBufferedBytes) || maxBufferedBytes < 1)
    throw ThreadStoreError.invalidRequest('maxBufferedBytes must be a whole number of bytes >= 1');
  return {
    home,
    defaultModelProvider: provider,
    fsync,
    onIndexProgress: options.onIndexProgress,
    originator: options.originator ?? SKEIN_ORIGINATOR,
    cliVersion: options.cliVersion ?? SKEIN_CLI_VERSION,
    codexDbs: codexDbPaths(home, options.codexSqliteHome),
    onWarning:
      options.onWarning ??
      ((w) => process.emitWarning(`${w.message} (thread ${w.threadId})`, { type: 'SkeinWarning', code: w.code })),
    watch,
    backgroundIntegrityCheck,
    indexWorker,
    fullSweepIntervalMs,
    historyMode,
    maxBufferedBytes,
  };
}
