export { runCli, buildProgram } from './internal/program.js';
export { EXIT_CODES, exitCodeForStoreError } from './internal/exit-codes.js';
export { defaultHome, openStore, DEFAULT_MODEL_PROVIDER } from './internal/store-options.js';
export type { OpenOptions, OpenedStore, StoreFlags } from './internal/store-options.js';
export { resolveThread } from './internal/resolve-thread.js';
export type { ThreadJson, ThreadPageJson, SearchPageJson, ThreadShowJson } from './internal/thread-json.js';
export type { TranscriptEntry } from './internal/transcript.js';
export type { ConversationEntry, ConversationTurn, TurnStatus } from './internal/conversation.js';
