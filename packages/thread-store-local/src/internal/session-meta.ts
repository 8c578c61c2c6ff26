export const SKEIN_ORIGINATOR = 'skein';
export const SKEIN_CLI_VERSION = '0.1.0';

/** Serializes a rollout line with `timestamp` first, as Codex does. */
export function serializeLine(item: Record<string, unknown>, timestamp: string): string {
  const { timestamp: _t, ...rest } = item;
  return JSON.stringify({ timestamp, ...rest });
}
