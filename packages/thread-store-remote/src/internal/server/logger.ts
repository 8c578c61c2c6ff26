import type { ThreadStoreErrorCode } from '@skein/thread-store-api';
import type { Logger } from 'pino';
import { destination, pino, stdTimeFunctions } from 'pino';

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

/** The server listening, lease expiries, background failures. */
export interface ServerEventLogEntry {
  event: 'listening' | 'lease_expired' | 'writer_close_failed' | 'shutdown';
  time: string;
  tenant?: string;
  clientId?: string;
  threadId?: string;
  message?: string;
  /** `listening`: the URL clients use, and the address and port bound. */
  url?: string;
  host?: string;
  port?: number;
}

/** One structured log entry: a call, or a server event. */
export type ServerLogEntry = CallLogEntry | ServerEventLogEntry;

/**
 * Receives structured log entries; `false` silences the server. Default: JSON lines on stderr
 * written by pino (`level`, `time`, the entry's fields, `msg`).
 */
export type ServerLogger = ((entry: ServerLogEntry) => void) | false;

/** Codes that say the server failed rather than the caller. */
const SERVER_FAULTS = new Set<string>(['internal', 'unavailable']);

let stderrPino: Logger | undefined;

/** The default logger: pino, synchronous on stderr (a crash loses no line), ISO times. */
function defaultLogger(): Logger {
  stderrPino ??= pino(
    { base: null, timestamp: stdTimeFunctions.isoTime, messageKey: 'msg' },
    destination({ fd: 2, sync: true }),
  );
  return stderrPino;
}

/** Writes one entry through a pino logger, at a level that says who failed. */
function logWithPino(logger: Logger, entry: ServerLogEntry): void {
  // pino writes its own `time`.
  const { time: _time, ...fields } = entry;
  if (entry.event === 'call') {
    const level = SERVER_FAULTS.has(entry.code) ? 'error' : 'info';
    logger[level](fields, `${entry.method} ${entry.code}`);
  } else if (entry.event === 'writer_close_failed') logger.warn(fields, entry.event);
  else logger.info(fields, entry.event);
}

export function resolveLogger(logger: ServerLogger | undefined): (entry: ServerLogEntry) => void {
  if (logger === false) return () => {};
  const sink = logger ?? ((entry: ServerLogEntry) => logWithPino(defaultLogger(), entry));
  return (entry) => {
    try {
      sink(entry);
    } catch {
      // A failing logger must never fail a call.
    }
  };
}
