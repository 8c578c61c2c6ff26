import { isThreadStoreError } from '@skein/thread-store-api';
import type { ThreadStoreErrorCode } from '@skein/thread-store-api';

/** JSON-RPC 2.0 error codes the protocol uses. */
export const RPC_PARSE_ERROR = -32700;
export const RPC_INVALID_REQUEST = -32600;
export const RPC_METHOD_NOT_FOUND = -32601;
export const RPC_INVALID_PARAMS = -32602;
export const RPC_INTERNAL_ERROR = -32603;

/** An error answered to one request: `{code, message, data}` on the wire. */
export class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
    this.name = 'RpcError';
  }
}

/** `invalid_request` with the request's own words, as Codex answers a bad request. */
export function invalidRequest(message: string): RpcError {
  return new RpcError(RPC_INVALID_REQUEST, message);
}

/** A filter or parameter the protocol has but Skein cannot honour (Codex answers these the same way). */
export function unsupportedParam(message: string): RpcError {
  return new RpcError(RPC_INVALID_PARAMS, message, { skeinCode: 'unsupported' });
}

/**
 * A store error as a JSON-RPC error. Codex answers every thread error (unknown id, archived id,
 * bad cursor, conflict) with -32600 and a message; the Skein code rides along in `data`.
 */
export function rpcErrorOf(error: unknown): RpcError {
  if (error instanceof RpcError) return error;
  if (isThreadStoreError(error)) {
    const code: ThreadStoreErrorCode = error.code;
    const rpc = code === 'internal' || code === 'unavailable' ? RPC_INTERNAL_ERROR : RPC_INVALID_REQUEST;
    return new RpcError(rpc, error.message, { skeinCode: code });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new RpcError(RPC_INTERNAL_ERROR, `internal error: ${message}`, { skeinCode: 'internal' });
}

/** How a connection sends text to its peer and ends; one JSON-RPC message per `send`. */
export interface MessageSink {
  /** Sends one message (a JSON text) to the client. */
  send(text: string): void;
  /** Ends the connection to the client. */
  close(): void;
}

type Id = string | number;

interface Incoming {
  id?: Id | null;
  method?: unknown;
  params?: unknown;
  result?: unknown;
  error?: unknown;
}

/** Handles one request; resolves with the result or rejects with an error to answer. */
export type RequestHandler = (conn: RpcConnection, method: string, params: unknown) => Promise<unknown>;

/**
 * One client connection: parses messages, dispatches requests, writes responses and
 * notifications. Messages are written without the `jsonrpc` member, as Codex's app-server
 * writes them; incoming messages may carry it or not.
 */
export class RpcConnection {
  private closedFlag = false;
  private readonly closeListeners: Array<() => void> = [];
  private inFlight = 0;
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly sink: MessageSink,
    private readonly onRequest: RequestHandler,
    private readonly onNotification: (conn: RpcConnection, method: string, params: unknown) => void,
  ) {}

  get closed(): boolean {
    return this.closedFlag;
  }

  /** Takes one message (a JSON text) from the peer. */
  receive(text: string): void {
    let msg: Incoming;
    try {
      msg = JSON.parse(text) as Incoming;
    } catch {
      this.write({ id: null, error: { code: RPC_PARSE_ERROR, message: 'Parse error: the message is not JSON' } });
      return;
    }
    if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) {
      this.write({ id: null, error: { code: RPC_INVALID_REQUEST, message: 'Invalid request: expected an object' } });
      return;
    }
    if (msg.method === undefined) return; // a response to a server request: none are sent
    if (typeof msg.method !== 'string') {
      this.write({
        id: msg.id ?? null,
        error: { code: RPC_INVALID_REQUEST, message: 'Invalid request: method must be a string' },
      });
      return;
    }
    const method = msg.method;
    if (msg.id === undefined || msg.id === null) {
      this.onNotification(this, method, msg.params);
      return;
    }
    const id = msg.id;
    if (typeof id !== 'string' && typeof id !== 'number') {
      this.write({ id: null, error: { code: RPC_INVALID_REQUEST, message: 'Invalid request: bad id' } });
      return;
    }
    this.inFlight++;
    void this.onRequest(this, method, msg.params)
      .then(
        (result) => this.write({ id, result }),
        (error: unknown) => {
          const e = rpcErrorOf(error);
          this.write({
            id,
            error: { code: e.code, message: e.message, ...(e.data !== undefined ? { data: e.data } : {}) },
          });
        },
      )
      .finally(() => {
        this.inFlight--;
        if (this.inFlight === 0) for (const w of this.idleWaiters.splice(0)) w();
      });
  }

  /** Resolves once every request received so far has been answered. */
  drained(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Sends a notification with Codex's `emittedAtMs` stamp. */
  notify(method: string, params: unknown): void {
    this.write({ method, params, emittedAtMs: Date.now() });
  }

  /** Runs `fn` once the connection has closed. */
  onClose(fn: () => void): void {
    if (this.closedFlag) fn();
    else this.closeListeners.push(fn);
  }

  /** Marks the connection closed (the transport ended) and tells the listeners. */
  markClosed(): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    for (const fn of this.closeListeners.splice(0)) fn();
  }

  /** Ends the connection from this side. */
  close(): void {
    this.sink.close();
    this.markClosed();
  }

  private write(msg: object): void {
    if (this.closedFlag) return;
    this.sink.send(JSON.stringify(msg));
  }
}
