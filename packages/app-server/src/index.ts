/**
 * Codex's app-server protocol (JSON-RPC 2.0 over stdio, a unix socket or a WebSocket) served from
 * a Skein `ThreadManager` over any `ThreadStore`.
 *
 * @packageDocumentation
 */
export { AppServer } from './app-server.js';
export type { AppServerConnection, AppServerOptions } from './app-server.js';
export { isLoopbackHost, listenUnix, listenWebSocket, serveStdio } from './transports.js';
export type { AppServerListener, WebSocketAuth, WebSocketListenOptions } from './transports.js';
export type { MessageSink } from './internal/json-rpc.js';
