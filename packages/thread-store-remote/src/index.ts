/**
 * @skein/thread-store-remote: a ThreadStore over Connect/gRPC (`RemoteThreadStore`) and the
 * server that serves any ThreadStore (`createThreadStoreHandler`, `startThreadStoreServer`).
 * Protobuf types stay inside this package: both sides speak the `@skein/thread-store-api` types.
 */
export { RemoteThreadStore } from './internal/client/remote-store.js';
export type { RemoteServerInfo, RemoteThreadStoreOptions } from './internal/client/remote-store.js';
export type { RetryOptions } from './internal/client/retry.js';
export { createThreadStoreHandler } from './internal/server/handler.js';
export type {
  ForkThreadFn,
  StoreSource,
  ThreadStoreHandlerOptions,
  ThreadStoreRoutes,
} from './internal/server/handler.js';
export { startThreadStoreServer } from './internal/server/server.js';
export type {
  RunningThreadStoreServer,
  PageHandler,
  ServerCommonOptions,
  StartThreadStoreServerOptions,
} from './internal/server/server.js';
export { DEFAULT_TENANT, parseTokenList, tenantNameProblem } from './internal/server/auth.js';
export type { AuthOptions } from './internal/server/auth.js';
export { DEFAULT_LIMITS } from './internal/server/limits.js';
export type { ServerLimits } from './internal/server/limits.js';
export type { CallLogEntry, ServerEventLogEntry, ServerLogEntry, ServerLogger } from './internal/server/logger.js';
export { CLIENT_ID_HEADER } from './internal/headers.js';
export { GRPC_STATUS_OF_ERROR_CODE } from './internal/convert/error-table.js';
