import { MAX_PAGE_SIZE } from '@skein/thread-store-api';

/** What the server enforces; breaking a limit is `resource_exhausted` or `invalid_request`. */
export interface ServerLimits {
  /** Largest request message, bytes (default 64 MiB; a single rollout item may be 16 MiB or more): larger is `resource_exhausted`. */
  maxMessageBytes: number;
  /** Largest list/search page (default and ceiling: the API's MAX_PAGE_SIZE): larger is `invalid_request`. */
  maxPageSize: number;
  /** Most items in one AppendItems call (default 10 000): more is `resource_exhausted`. */
  maxAppendItems: number;
  /** History streams served at once across all clients (default 64): more is `resource_exhausted`. */
  maxConcurrentStreams: number;
  /**
   * History streams served at once to one tenant (default 64, the whole server): more is
   * `resource_exhausted`. Set it below `maxConcurrentStreams` so that one tenant cannot take
   * every stream of a shared server.
   */
  maxTenantStreams: number;
  /** Most entries in one list filter (sources, providers, cwds) of a list or search (default 256): more is `invalid_request`. */
  maxFilterValues: number;
  /** A history chunk closes once it holds this many bytes (default 1 MiB). */
  historyChunkBytes: number;
  /** … or this many items (default 1024). */
  historyChunkItems: number;
}

/** The limits a server applies unless `limits` overrides them. */
export const DEFAULT_LIMITS: ServerLimits = {
  maxMessageBytes: 64 * 1024 * 1024,
  maxPageSize: MAX_PAGE_SIZE,
  maxAppendItems: 10_000,
  maxConcurrentStreams: 64,
  maxTenantStreams: 64,
  maxFilterValues: 256,
  historyChunkBytes: 1024 * 1024,
  historyChunkItems: 1024,
};

export function resolveLimits(partial: Partial<ServerLimits> | undefined): ServerLimits {
  const out = { ...DEFAULT_LIMITS, ...partial };
  for (const [k, v] of Object.entries(out)) {
    if (!Number.isSafeInteger(v) || v < 1)
      throw new RangeError(`limits.${k} must be a positive integer, got ${String(v)}`);
  }
  return out;
}
