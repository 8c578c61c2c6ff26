import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach } from 'vitest';
import { LocalThreadStore } from '../../src/index.js';
import type { LocalThreadStoreOptions } from '../../src/index.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A fresh temp home, removed after the test. */
export function tmpHome(): string {
  const home = mkdtempSync(path.join(tmpdir(), 'skein-local-'));
  cleanups.push(() => rmSync(home, { recursive: true, force: true }));
  return home;
}

/**
 * A store closed after the test. These tests read the files Skein writes line by line in the
 * legacy shape, so new threads are legacy unless the test asks for paginated ones.
 */
export function openStore(home: string, opts: Partial<LocalThreadStoreOptions> = {}): LocalThreadStore {
  const s = new LocalThreadStore({ home, historyMode: 'legacy', ...opts });
  cleanups.push(() => s.close());
  return s;
}

/** Writes a rollout file from objects (one JSON line each) or raw strings. */
export function writeRollout(home: string, rel: string, lines: (object | string)[]): string {
  const abs = path.join(home, rel);
  mkdirSync(path.dirname(abs), { recursive: true });
  writeFileSync(abs, lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n') + '\n');
  return abs;
}

export const meta = (id: string, extra: Record<string, unknown> = {}, ts = '2025-10-01T12:00:00.100Z'): object => ({
  timestamp: ts,
  type: 'session_meta',
  payload: {
    id,
    timestamp: ts,
    cwd: '/home/me/proj',
    originator: 'codex_cli_rs',
    cli_version: '0.50.0',
    source: 'cli',
    model_provider: 'openai',
    ...extra,
  },
});
export const userMsg = (text: string, ts = '2025-10-01T12:00:01.000Z'): object => ({
  timestamp: ts,
  type: 'event_msg',
  payload: { type: 'user_message', message: text, images: [], local_images: [], text_elements: [] },
});
export const agentMsg = (text: string, ts = '2025-10-01T12:00:02.000Z'): object => ({
  timestamp: ts,
  type: 'event_msg',
  payload: { type: 'agent_message', message: text },
});
export const userItem = (text: string, ts = '2025-10-01T12:00:01.000Z'): object => ({
  timestamp: ts,
  type: 'response_item',
  payload: { type: 'message', role: 'user', content: [{ type: 'input_text', text }] },
});
