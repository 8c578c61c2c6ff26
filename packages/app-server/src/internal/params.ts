import { parseThreadId } from '@skein/thread-store-api';
import type { ThreadId } from '@skein/thread-store-api';
import { invalidRequest } from './json-rpc.js';

/** A request's params as an object (absent params read as `{}`). */
export function paramsObject(params: unknown): Record<string, unknown> {
  if (params === undefined || params === null) return {};
  if (typeof params !== 'object' || Array.isArray(params))
    throw invalidRequest('Invalid request: params must be an object');
  return params as Record<string, unknown>;
}

/** A required thread id, checked the way Codex checks it. */
export function threadIdParam(p: Record<string, unknown>, key = 'threadId'): ThreadId {
  const v = p[key];
  if (v === undefined || v === null) throw invalidRequest(`Invalid request: missing field \`${key}\``);
  if (typeof v !== 'string') throw invalidRequest(`Invalid request: \`${key}\` must be a string`);
  try {
    return parseThreadId(v);
  } catch {
    throw invalidRequest(`invalid thread id: ${v}`);
  }
}

/** An optional string (null and absent read as undefined). */
export function optString(p: Record<string, unknown>, key: string): string | undefined {
  const v = p[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw invalidRequest(`Invalid request: \`${key}\` must be a string`);
  return v;
}

/** An optional boolean (null and absent read as undefined). */
export function optBool(p: Record<string, unknown>, key: string): boolean | undefined {
  const v = p[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw invalidRequest(`Invalid request: \`${key}\` must be a boolean`);
  return v;
}

/** An optional non-negative integer (null and absent read as undefined). */
export function optCount(p: Record<string, unknown>, key: string): number | undefined {
  const v = p[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0)
    throw invalidRequest(`Invalid request: \`${key}\` must be a non-negative integer`);
  return v;
}

/** An optional list of strings (null and absent read as undefined). */
export function optStrings(p: Record<string, unknown>, key: string): string[] | undefined {
  const v = p[key];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.some((s) => typeof s !== 'string'))
    throw invalidRequest(`Invalid request: \`${key}\` must be a list of strings`);
  return v as string[];
}

/** An optional value out of a fixed set (null and absent read as undefined). */
export function optEnum<T extends string>(
  p: Record<string, unknown>,
  key: string,
  allowed: readonly T[],
): T | undefined {
  const v = p[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v))
    throw invalidRequest(
      `Invalid request: unknown variant \`${String(v)}\`, expected one of ${allowed.map((a) => `\`${a}\``).join(', ')}`,
    );
  return v as T;
}
