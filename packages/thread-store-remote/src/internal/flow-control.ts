import type * as http2 from 'node:http2';
import { Http2SessionManager } from '@connectrpc/connect-node';

/**
 * The client's HTTP/2 receive windows. The protocol's 64 KiB defaults make a history stream wait
 * for a window update every 64 KiB; each stream gets 1 MiB, and the connection 64 MiB so that
 * many streams (some of them paused by their readers) share it without waiting on each other.
 */
export const STREAM_WINDOW_BYTES = 1024 * 1024;
export const CONNECTION_WINDOW_BYTES = 64 * 1024 * 1024;

/** Widens the connection-level receive window of a session (once). */
export function widenConnectionWindow(session: http2.Http2Session): void {
  if (session.destroyed || session.connecting) return;
  const state = session.state;
  if ((state.effectiveLocalWindowSize ?? 0) < CONNECTION_WINDOW_BYTES)
    session.setLocalWindowSize(CONNECTION_WINDOW_BYTES);
}

/** The connect-node session manager, widening the window of every session it opens. */
export class WideWindowSessionManager extends Http2SessionManager {
  private readonly widened = new WeakSet<http2.Http2Session>();

  override async request(
    method: string,
    path: string,
    headers: http2.OutgoingHttpHeaders,
    options: Omit<http2.ClientSessionRequestOptions, 'signal'>,
  ): Promise<http2.ClientHttp2Stream> {
    const stream = await super.request(method, path, headers, options);
    const session = stream.session;
    if (session && !this.widened.has(session)) {
      this.widened.add(session);
      widenConnectionWindow(session);
    }
    return stream;
  }
}
