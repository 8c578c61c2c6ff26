import { existsSync, readdirSync, readFileSync } from 'node:fs';
import type * as http from 'node:http';
import type * as http2 from 'node:http2';
import { extname, join } from 'node:path';
import type { PageHandler } from '@skein/thread-store-remote';
import { packageFile } from './package-root.js';

/**
 * What the page may do: its own scripts, styles and API calls only. No inline script or style
 * element runs, nothing loads from elsewhere, and no other site may frame it.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
};

const SECURITY_HEADERS = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

/** The folder the built page is shipped in: the package's `dist/web`. */
export function webRoot(): string {
  return packageFile('dist', 'web');
}

/**
 * Serves the thread browser: `/assets/*` (content-hashed names, cached for a year) and, for every
 * other path, `index.html` (never cached, so a new version is picked up), which routes in the page.
 * The files are read once, when the server starts.
 */
export function webPageHandler(root: string = webRoot()): PageHandler {
  const index = join(root, 'index.html');
  if (!existsSync(index)) {
    return (_req, res) => {
      send(
        res,
        503,
        { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' },
        'the web page of this skein build is missing (dist/web)\n',
        false,
      );
    };
  }
  const html = readFileSync(index);
  const assets = new Map<string, Buffer>();
  const assetsDir = join(root, 'assets');
  if (existsSync(assetsDir))
    for (const name of readdirSync(assetsDir)) assets.set(name, readFileSync(join(assetsDir, name)));
  return (req, res) => {
    const head = req.method === 'HEAD';
    const path = (req.url ?? '/').split('?')[0]!;
    if (path.startsWith('/assets/')) {
      const name = path.slice('/assets/'.length);
      const body = assets.get(name);
      if (body === undefined) {
        send(
          res,
          404,
          { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' },
          'not found\n',
          head,
        );
        return;
      }
      send(
        res,
        200,
        {
          'content-type': TYPES[extname(name)] ?? 'application/octet-stream',
          'cache-control': 'public, max-age=31536000, immutable',
        },
        body,
        head,
      );
      return;
    }
    send(res, 200, { 'content-type': TYPES['.html']!, 'cache-control': 'no-cache' }, html, head);
  };
}

function send(
  res: http.ServerResponse | http2.Http2ServerResponse,
  status: number,
  headers: Record<string, string>,
  body: string | Buffer,
  head: boolean,
): void {
  const length = typeof body === 'string' ? Buffer.byteLength(body) : body.length;
  res.writeHead(status, { ...SECURITY_HEADERS, ...headers, 'content-length': String(length) });
  if (head) res.end();
  else res.end(body);
}
