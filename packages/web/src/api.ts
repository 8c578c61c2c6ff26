import type { Interceptor } from '@connectrpc/connect';
import { Code, ConnectError, createClient } from '@connectrpc/connect';
import { createConnectTransport } from '@connectrpc/connect-web';
import { ThreadStoreService } from './gen/skein/threadstore/v1/thread_store_pb.js';

const TOKEN_KEY = 'skein.token';

/** The bearer token, kept for this tab only (sessionStorage): closing the tab forgets it. */
export const token = {
  get: (): string | null => sessionStorage.getItem(TOKEN_KEY),
  set: (value: string): void => sessionStorage.setItem(TOKEN_KEY, value),
  clear: (): void => sessionStorage.removeItem(TOKEN_KEY),
};

const bearer: Interceptor = (next) => (req) => {
  const t = token.get();
  if (t) req.header.set('authorization', `Bearer ${t}`);
  return next(req);
};

/** The Connect client every view uses: the same API as every other Skein client, same origin. */
export const api = createClient(
  ThreadStoreService,
  createConnectTransport({ baseUrl: window.location.origin, interceptors: [bearer] }),
);

export const isUnauthenticated = (e: unknown): boolean => ConnectError.from(e).code === Code.Unauthenticated;
export const isNotFound = (e: unknown): boolean => ConnectError.from(e).code === Code.NotFound;

/** What to show a person for a failed call. */
export function errorText(e: unknown): string {
  return ConnectError.from(e).rawMessage;
}
