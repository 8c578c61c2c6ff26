import type { ThreadStoreErrorCode } from '@skein/thread-store-api';
import { GRPC_CODE_OF } from './errors.js';

const GRPC_NAMES: readonly string[] = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
];

/** The gRPC status name each ThreadStoreError code travels as (for docs, logs and proxies). */
export const GRPC_STATUS_OF_ERROR_CODE: Readonly<Record<ThreadStoreErrorCode, string>> = Object.fromEntries(
  Object.entries(GRPC_CODE_OF).map(([k, v]) => [k, GRPC_NAMES[v] ?? String(v)]),
) as Record<ThreadStoreErrorCode, string>;
