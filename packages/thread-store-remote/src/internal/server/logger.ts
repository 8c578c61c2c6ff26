import type { ThreadStoreErrorCode } from '@skein/thread-store-api';

/** One line per call. */
export interface CallLogEntry {
  event: 'call';
  time: string;
  method: string;
  tenant: string | null;
  clientId: string | null;
  /** `cancelled`: the client went away before the end of a stream. */
  code: 'ok' | 'cancelled' | ThreadStoreErrorCode;
  durationMs: number;
  message?: string;
}

/** Lease expiries and background failures. */
export interface ServerEventLogEntry {
  event: 'lease_expired' | 'writer_close_failed' | 'shutdown';
  time: string;
  tenant?: string;
  clientId?: string;
  threadId?: string;
  message?: string;
}

/** One structured log entry: a call, or a server event. */
export type ServerLogEntry = CallLogEntry | ServerEventLogEntry;

/** Receives structured log entries; `false` silences the server. Default: JSON lines on stderr. */
export type ServerLogger = ((entry: ServerLogEntry) => void) | false;

export const stderrLogger = (entry: ServerLogEntry): void => {
  process.stderr.write(`${JSON.stringify(entry)}\n`);
};

export function resolveLogger(logger: ServerLogger | undefined): (entry: ServerLogEntry) => void {
  if (logger === false) return () => {};
  const sink = logger ?? stderrLogger;
  return (entry) => {
    try {
      sink(entry);
    } catch {
      // A failing logger must never fail a call.
    }
  };
}
