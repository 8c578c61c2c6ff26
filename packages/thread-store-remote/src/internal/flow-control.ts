import * as http2 from 'node:http2';
import { Http2SessionManager } from '@connectrpc/connect-node';

/**
 * The client's HTTP/2 receive windows. The protocol's 64 KiB defaults make a history stream wait
 * for a window update every 64 KiB; each stream gets 1 MiB, and the connection 64 MiB so that
 * many streams (some of them paused by their readers) share it without waiting on each other.
 */
export const STREAM_WINDOW_BYTES = 1024 * 1024;
export const CONNECTION_WINDOW_BYTES = 64 * 1024 * 1024;

const MIB = 1024 * 1024;

/**
 * Node's `maxSessionMemory` (in MiB) for a session that may hold `largestMessageBytes` of one
 * message queued for writing and `windowBytes` of received data. Node's default, 10 MiB, is less
 * than one large append or one connection window: past it nghttp2 refuses every new stream with
 * ENHANCE_YOUR_CALM until the queue drains, which it never does if the peer stopped reading.
 */
export function sessionMemoryMiB(largestMessageBytes: number, windowBytes: number): number {
  return Math.ceil((2 * largestMessageBytes + windowBytes) / MIB) + 16;
}

/** Widens the connection-level receive window of a session (once). */
export function widenConnectionWindow(session: http2.Http2Session): void {
  if (session.destroyed || session.connecting) return;
  const state = session.state;
  if ((state.effectiveLocalWindowSize ?? 0) < CONNECTION_WINDOW_BYTES)
    session.setLocalWindowSize(CONNECTION_WINDOW_BYTES);
}

/**
 * A stream reset with ENHANCE_YOUR_CALM says the whole session is unwell (a peer over its memory
 * budget refuses every new stream on it), not just one stream. Other reset codes are per stream:
 * connect resets a Connect-protocol stream with INTERNAL_ERROR when a call ends early.
 */
const SESSION_LEVEL_RESET = http2.constants.NGHTTP2_ENHANCE_YOUR_CALM;

/**
 * The connect-node session manager, widening the window of every session it opens, and retiring
 * a session whose stream was reset with ENHANCE_YOUR_CALM: calls in flight on it finish or fail,
 * the next call opens a new session.
 * GOAWAY and socket errors already make the manager reconnect on the next call.
 */
export class WideWindowSessionManager extends Http2SessionManager {
  private readonly widened = new WeakSet<http2.Http2Session>();
  private readonly retired = new WeakSet<http2.Http2Session>();

  override async request(
    method: string,
    path: string,
    headers: http2.OutgoingHttpHeaders,
    options: Omit<http2.ClientSessionRequestOptions, 'signal'>,
  ): Promise<http2.ClientHttp2Stream> {
    // A retired session is closed, and the manager opens a new one for a closed session.
    const stream = await super.request(method, path, headers, options);
    const session = stream.session;
    if (session && !this.widened.has(session)) {
      this.widened.add(session);
      widenConnectionWindow(session);
    }
    // 'error' comes before 'close', and before the caller can start its next call. A reset
    // stream no longer knows its session: `session` was taken above.
    const check = (): void => {
      if (session && stream.rstCode === SESSION_LEVEL_RESET) this.retire(session);
    };
    stream.once('error', check);
    stream.once('close', check);
    return stream;
  }

  /**
   * Stops using a session, as if the server had sent GOAWAY. Its streams in flight continue (up to
   * `graceMs`), then it is destroyed, releasing whatever it had queued.
   */
  private retire(session: http2.Http2Session, graceMs = 30_000): void {
    if (this.retired.has(session)) return;
    this.retired.add(session);
    if (!session.closed) session.close();
    setTimeout(() => {
      if (!session.destroyed) session.destroy();
    }, graceMs).unref();
  }
}
