import type * as http from 'node:http';
import type * as http2 from 'node:http2';
import * as net from 'node:net';

/** The bytes every HTTP/2 connection without TLS starts with (RFC 9113 §3.4). */
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/**
 * A plain-text listener that hands each connection to the HTTP/2 server when it opens with the
 * HTTP/2 preface (gRPC clients, Node's Connect transport) and to the HTTP/1.1 server otherwise
 * (browsers, which never speak HTTP/2 without TLS). The bytes read to decide are put back, so the
 * chosen server parses the connection from its first byte.
 */
export function createOnePortServer(h2: http2.Http2Server, h1: http.Server): net.Server {
  return net.createServer((socket) => {
    let seen: Buffer = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      seen = seen.length === 0 ? chunk : Buffer.concat([seen, chunk]);
      const n = Math.min(seen.length, PREFACE.length);
      const isHttp2 = seen.subarray(0, n).equals(PREFACE.subarray(0, n));
      // A connection that has sent only part of the preface so far: wait for the rest.
      if (isHttp2 && n < PREFACE.length) return;
      socket.off('data', onData);
      socket.off('error', onError);
      socket.pause();
      socket.unshift(seen);
      if (isHttp2) h2.emit('connection', socket);
      else {
        h1.emit('connection', socket);
        // The HTTP/1.1 parser reads the socket's handle directly and would never see the bytes put
        // back: let them flow to its 'data' listener first.
        socket.resume();
      }
    };
    // A peer that vanishes before its first bytes must not take the server down.
    const onError = (): void => {
      socket.destroy();
    };
    socket.on('data', onData);
    socket.on('error', onError);
  });
}
