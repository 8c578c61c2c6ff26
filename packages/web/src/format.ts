import type { StoredThread } from './gen/skein/threadstore/v1/types_pb.js';
import { SessionSourceKind, SubAgentKind } from './gen/skein/threadstore/v1/types_pb.js';

const rtf = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });
const STEPS: [Intl.RelativeTimeFormatUnit, number][] = [
  ['second', 60],
  ['minute', 60],
  ['hour', 24],
  ['day', 30],
  ['month', 12],
  ['year', Infinity],
];

/** "3 minutes ago", "yesterday", … */
export function relativeTime(ms: number, now = Date.now()): string {
  let value = (ms - now) / 1000;
  for (const [unit, size] of STEPS) {
    if (Math.abs(value) < size) return rtf.format(Math.round(value), unit);
    value /= size;
  }
  return rtf.format(Math.round(value), 'year');
}

/** An absolute time, for the title of every relative one. */
export const absoluteTime = (ms: number): string => new Date(ms).toISOString().replace('T', ' ').slice(0, 19) + ' UTC';

export function sourceName(t: StoredThread): string {
  const s = t.source;
  if (!s) return 'unknown';
  switch (s.kind) {
    case SessionSourceKind.CLI:
      return 'cli';
    case SessionSourceKind.VSCODE:
      return 'vscode';
    case SessionSourceKind.EXEC:
      return 'exec';
    case SessionSourceKind.MCP:
      return 'mcp';
    case SessionSourceKind.CUSTOM:
      return s.name || 'custom';
    case SessionSourceKind.INTERNAL:
      return s.name || 'internal';
    case SessionSourceKind.SUBAGENT:
      switch (s.subagent?.kind) {
        case SubAgentKind.REVIEW:
          return 'subagent review';
        case SubAgentKind.COMPACT:
          return 'subagent compact';
        default:
          return 'subagent';
      }
    default:
      return 'unknown';
  }
}

/** The name of a thread, else its preview, else its id. */
export const title = (t: StoredThread): string => t.name ?? (t.preview.trim() || t.threadId);

export const ms = (v: bigint | undefined): number => Number(v ?? 0n);
