import type {
  HistoryMode as ApiHistoryMode,
  MemoryMode as ApiMemoryMode,
  SortDirection as ApiSortDirection,
  ThreadSortKey as ApiSortKey,
} from '@skein/thread-store-api';
import { ThreadStoreError } from '@skein/thread-store-api';
import { SortDirection, ThreadSortKey } from '../../gen/skein/threadstore/v1/thread_store_pb.js';
import { HistoryMode, MemoryMode } from '../../gen/skein/threadstore/v1/types_pb.js';

// Values outside the API's unions (a caller bypassing the types) are refused before sending,
// with the same `invalid_request` a store would give.

export function historyModeToProto(v: ApiHistoryMode): HistoryMode {
  if (v === 'legacy') return HistoryMode.LEGACY;
  if (v === 'paginated') return HistoryMode.PAGINATED;
  throw ThreadStoreError.invalidRequest(`historyMode must be "legacy" or "paginated", got ${JSON.stringify(v)}`);
}

export function historyModeFromProto(v: HistoryMode): ApiHistoryMode {
  if (v === HistoryMode.LEGACY) return 'legacy';
  if (v === HistoryMode.PAGINATED) return 'paginated';
  throw ThreadStoreError.invalidRequest(`malformed history mode on the wire: ${String(v)}`);
}

export function memoryModeToProto(v: ApiMemoryMode): MemoryMode {
  if (v === 'enabled') return MemoryMode.ENABLED;
  if (v === 'disabled') return MemoryMode.DISABLED;
  throw ThreadStoreError.invalidRequest(`memoryMode must be "enabled" or "disabled", got ${JSON.stringify(v)}`);
}

export function memoryModeFromProto(v: MemoryMode): ApiMemoryMode {
  if (v === MemoryMode.ENABLED) return 'enabled';
  if (v === MemoryMode.DISABLED) return 'disabled';
  throw ThreadStoreError.invalidRequest(`malformed memory mode on the wire: ${String(v)}`);
}

export function sortKeyToProto(v: ApiSortKey | undefined): ThreadSortKey {
  switch (v) {
    case undefined:
      return ThreadSortKey.UNSPECIFIED;
    case 'createdAt':
      return ThreadSortKey.CREATED_AT;
    case 'updatedAt':
      return ThreadSortKey.UPDATED_AT;
    case 'recencyAt':
      return ThreadSortKey.RECENCY_AT;
    default:
      throw ThreadStoreError.invalidRequest(`sortKey must be one of createdAt, updatedAt, recencyAt, got ${String(v)}`);
  }
}

export function sortKeyFromProto(v: ThreadSortKey): ApiSortKey | undefined {
  switch (v) {
    case ThreadSortKey.UNSPECIFIED:
      return undefined;
    case ThreadSortKey.CREATED_AT:
      return 'createdAt';
    case ThreadSortKey.UPDATED_AT:
      return 'updatedAt';
    case ThreadSortKey.RECENCY_AT:
      return 'recencyAt';
    default:
      throw ThreadStoreError.invalidRequest(`unknown sort key ${String(v)}`);
  }
}

export function sortDirectionToProto(v: ApiSortDirection | undefined): SortDirection {
  switch (v) {
    case undefined:
      return SortDirection.UNSPECIFIED;
    case 'asc':
      return SortDirection.ASC;
    case 'desc':
      return SortDirection.DESC;
    default:
      throw ThreadStoreError.invalidRequest(`sortDirection must be asc or desc, got ${String(v)}`);
  }
}

export function sortDirectionFromProto(v: SortDirection): ApiSortDirection | undefined {
  switch (v) {
    case SortDirection.UNSPECIFIED:
      return undefined;
    case SortDirection.ASC:
      return 'asc';
    case SortDirection.DESC:
      return 'desc';
    default:
      throw ThreadStoreError.invalidRequest(`unknown sort direction ${String(v)}`);
  }
}
