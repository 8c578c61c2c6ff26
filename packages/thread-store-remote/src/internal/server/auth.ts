import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ThreadStoreError } from '@skein/thread-store-api';

/**
 * How the server authenticates callers.
 * - `'none'`: no authentication; every caller is tenant `default`. Only allowed on loopback.
 * - `tokens`: a map from bearer token to tenant.
 * - `tokensFile`: a file of tokens (see `parseTokenList`).
 * - `tokensEnv`: the name of an environment variable holding a token list in the same format.
 * Sources combine; the same token in two sources must name the same tenant.
 */
export type AuthOptions =
  | 'none'
  | {
      tokens?: Readonly<Record<string, string>>;
      tokensFile?: string;
      tokensEnv?: string;
    };

/** The tenant of every caller when the server has no tokens. */
export const DEFAULT_TENANT = 'default';

/**
 * Why a tenant name is unusable, or undefined when it is fine. Tenants become folder names (a
 * home per tenant), so a name must be one plain path segment on every platform: 1-128 of
 * A-Z a-z 0-9 . _ -, not starting with a dot (which also rules out `.` and `..`).
 */
export function tenantNameProblem(tenant: unknown): string | undefined {
  if (typeof tenant !== 'string') return 'must be a string';
  if (!/^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/.test(tenant))
    return 'must be 1-128 of A-Z a-z 0-9 . _ - and must not start with a dot';
  return undefined;
}

/**
 * Parses a token list. Two formats:
 * - text: one `<token> <tenant>` per line (blank lines and `#` comments ignored; a line with a
 *   token only maps it to tenant `default`); commas also separate entries, for env variables;
 * - JSON: `{"<token>": "<tenant>", …}` or `[{"token": "…", "tenant": "…"}, …]`.
 */
export function parseTokenList(text: string, origin: string): Map<string, string> {
  const out = new Map<string, string>();
  const add = (token: unknown, tenant: unknown): void => {
    if (typeof token !== 'string' || token.length < 8)
      throw ThreadStoreError.invalidRequest(`${origin}: every token must be a string of at least 8 characters`);
    const problem = tenantNameProblem(tenant);
    if (problem !== undefined || typeof tenant !== 'string')
      throw ThreadStoreError.invalidRequest(`${origin}: tenant ${JSON.stringify(tenant)} ${problem}`);
    const prev = out.get(token);
    if (prev !== undefined && prev !== tenant)
      throw ThreadStoreError.invalidRequest(`${origin}: a token is listed for two tenants`);
    out.set(token, tenant);
  };
  const trimmed = text.trim();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    let json: unknown;
    try {
      json = JSON.parse(trimmed);
    } catch (e) {
      throw ThreadStoreError.invalidRequest(`${origin}: invalid JSON (${(e as Error).message})`);
    }
    if (Array.isArray(json)) {
      for (const entry of json) {
        if (typeof entry !== 'object' || entry === null)
          throw ThreadStoreError.invalidRequest(`${origin}: entries must be {token, tenant}`);
        const e = entry as Record<string, unknown>;
        add(e.token, e.tenant ?? DEFAULT_TENANT);
      }
    } else {
      for (const [token, tenant] of Object.entries(json as Record<string, unknown>)) add(token, tenant);
    }
    return out;
  }
  for (const raw of trimmed.split(/[\n,]/)) {
    const line = raw.replace(/#.*$/, '').trim();
    if (line === '') continue;
    const [token, tenant, ...rest] = line.split(/\s+/);
    if (rest.length > 0) throw ThreadStoreError.invalidRequest(`${origin}: expected "<token> <tenant>" per line`);
    add(token, tenant ?? DEFAULT_TENANT);
  }
  return out;
}

const digest = (token: string): Buffer => createHash('sha256').update(token, 'utf8').digest();

/** Maps bearer tokens to tenants, comparing digests in constant time. */
export class Authenticator {
  private readonly entries: { digest: Buffer; tenant: string }[] = [];
  readonly enabled: boolean;

  constructor(options: AuthOptions, env: NodeJS.ProcessEnv = process.env) {
    if (options === 'none') {
      this.enabled = false;
      return;
    }
    this.enabled = true;
    const all = new Map<string, string>();
    const merge = (m: Map<string, string>, origin: string): void => {
      for (const [token, tenant] of m) {
        const prev = all.get(token);
        if (prev !== undefined && prev !== tenant)
          throw ThreadStoreError.invalidRequest(`${origin}: a token is listed for two tenants`);
        all.set(token, tenant);
      }
    };
    if (options.tokens) merge(parseTokenList(JSON.stringify(options.tokens), 'auth.tokens'), 'auth.tokens');
    if (options.tokensFile !== undefined) {
      let text: string;
      try {
        text = readFileSync(options.tokensFile, 'utf8');
      } catch (e) {
        throw ThreadStoreError.invalidRequest(
          `cannot read the token file ${options.tokensFile}: ${(e as Error).message}`,
        );
      }
      merge(parseTokenList(text, options.tokensFile), options.tokensFile);
    }
    if (options.tokensEnv !== undefined) {
      const text = env[options.tokensEnv];
      if (text === undefined || text.trim() === '')
        throw ThreadStoreError.invalidRequest(`the environment variable ${options.tokensEnv} holds no tokens`);
      merge(parseTokenList(text, `$${options.tokensEnv}`), `$${options.tokensEnv}`);
    }
    if (all.size === 0)
      throw ThreadStoreError.invalidRequest(
        'auth is configured but no token was given: pass tokens, tokensFile or tokensEnv, or auth: "none"',
      );
    for (const [token, tenant] of all) this.entries.push({ digest: digest(token), tenant });
  }

  /** The tenant of a request's `authorization` header; `unauthenticated` when missing or wrong. */
  authenticate(authorization: string | null): string {
    if (!this.enabled) return DEFAULT_TENANT;
    if (authorization === null || authorization === '')
      throw new ThreadStoreError(
        'unauthenticated',
        'this thread store requires a bearer token: send "authorization: Bearer <token>"',
      );
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!m?.[1])
      throw new ThreadStoreError('unauthenticated', 'malformed authorization header: expected "Bearer <token>"');
    const presented = digest(m[1]);
    // Every entry is compared, so the time taken does not depend on which one matches.
    let tenant: string | undefined;
    for (const e of this.entries) {
      if (timingSafeEqual(e.digest, presented) && tenant === undefined) tenant = e.tenant;
    }
    if (tenant === undefined)
      throw new ThreadStoreError('unauthenticated', 'the bearer token is not valid for this thread store');
    return tenant;
  }
}
