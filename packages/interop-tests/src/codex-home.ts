import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** A throwaway CODEX_HOME whose config points Codex at a mock provider and nothing else. */
export interface CodexHome {
  /** Absolute path: pass it as CODEX_HOME (and as LocalThreadStore's `home`). */
  readonly path: string;
  /** The provider id written in config.toml (`mock`). */
  readonly modelProvider: string;
  readonly model: string;
  remove(): Promise<void>;
}

export interface MakeCodexHomeOptions {
  /** Parent folder for the temp dir (default: the OS temp dir). */
  parentDir?: string;
  /** Extra TOML appended to config.toml. */
  extraToml?: string;
}

export const MOCK_PROVIDER_ID = 'mock';
export const MOCK_MODEL = 'gpt-5.5';
/** The env var that carries the (unused) API key; any value works. */
export const MOCK_API_KEY_ENV = 'MOCK_API_KEY';

/**
 * The config that keeps Codex 0.169 offline: every feature that would otherwise make its own
 * DNS lookups or requests is off, retries are 0 so a failed turn fails at once, and websockets
 * are off (otherwise Codex first tries a websocket upgrade on GET /v1/responses).
 */
export function codexConfigToml(mockUrl: string): string {
  return `model = "${MOCK_MODEL}"
model_provider = "${MOCK_PROVIDER_ID}"
approval_policy = "never"
sandbox_mode = "read-only"
check_for_update_on_startup = false

[analytics]
enabled = false

[features]
plugins = false
remote_plugin = false
apps = false
daemon_auto_start = false
api_key_model_discovery = false
in_app_updates = false
shell_snapshot = false
tool_suggest = false

[model_providers.${MOCK_PROVIDER_ID}]
name = "Mock"
base_url = "${mockUrl}"
wire_api = "responses"
env_key = "${MOCK_API_KEY_ENV}"
requires_openai_auth = false
supports_websockets = false
stream_max_retries = 0
request_max_retries = 0
`;
}

export async function makeCodexHome(mockUrl: string, options: MakeCodexHomeOptions = {}): Promise<CodexHome> {
  const dir = await mkdtemp(path.join(options.parentDir ?? tmpdir(), 'skein-codex-home-'));
  await writeFile(path.join(dir, 'config.toml'), codexConfigToml(mockUrl) + (options.extraToml ?? ''));
  return {
    path: dir,
    modelProvider: MOCK_PROVIDER_ID,
    model: MOCK_MODEL,
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
