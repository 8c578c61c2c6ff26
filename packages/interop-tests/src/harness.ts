/**
 * The interop harness: a mock Responses API, throwaway Codex homes, `codex exec` runs and an
 * app-server client. Everything runs the real Codex binary from `@openai/codex`, fully offline.
 */
export {
  startMockResponsesServer,
  defaultReply,
  lastUserPrompt,
  FAIL_MARKER,
  type MockResponsesServer,
  type MockResponsesServerOptions,
  type RecordedRequest,
} from './mock-responses-server.js';
export {
  makeCodexHome,
  codexConfigToml,
  MOCK_PROVIDER_ID,
  MOCK_MODEL,
  MOCK_API_KEY_ENV,
  type CodexHome,
  type MakeCodexHomeOptions,
} from './codex-home.js';
export { codexBinaryPath } from './codex-binary.js';
export {
  runCodex,
  runCodexExec,
  parseJsonLines,
  assertRunOk,
  codexEnv,
  homePath,
  type HomeArg,
  type RunCodexOptions,
  type CodexRunResult,
  type CodexExecResult,
  type ExecEvent,
} from './codex-process.js';
export {
  AppServerClient,
  AppServerError,
  turnUserTexts,
  turnAgentTexts,
  ALL_SOURCE_KINDS,
  type AppServerOptions,
  type AppServerThread,
  type AppServerTurn,
  type AppServerThreadItem,
  type AppServerThreadPage,
  type JsonRpcNotification,
} from './app-server-client.js';
