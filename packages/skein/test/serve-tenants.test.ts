import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { newThreadId } from '@skein/thread-store-api';
import { RemoteThreadStore } from '@skein/thread-store-remote';
import { cleanEnv, requireBuiltBinary, run, serve } from './cli-harness.js';

const env = cleanEnv();
const TOKEN = 'tenant-token-0123456789';
const OWNER = 'owner-token-0123456789';

beforeAll(() => requireBuiltBinary());

function tokensFile(dir: string, map: Record<string, string>): string {
  const file = join(dir, 'tokens.json');
  writeFileSync(file, JSON.stringify(map));
  return file;
}

describe('serve --tokens: tenant names never leave the tenants folder', () => {
  // Each of these, used as join(tenantsDir, name), would name the tenants folder itself, its
  // parent (the served home: the default tenant's threads), a hidden folder, or another path.
  const escapes = ['..', '.', '.skein', '', '../home', 'a/b', 'a\\b', '/etc', 'a\u0000b', 'x'.repeat(129)];

  it.each(escapes.map((t) => [JSON.stringify(t), t]))('refuses to start with tenant %s', async (_label, tenant) => {
    const dir = mkdtempSync(join(tmpdir(), 'skein-tenants-'));
    const home = join(dir, 'home');
    const file = tokensFile(dir, { [OWNER]: 'default', [TOKEN]: tenant });
    const r = await run(['serve', '--home', home, '--port', '0', '--tokens', file], { env });
    expect(r.code, r.stderr).not.toBe(0);
    expect(r.stderr).toMatch(/tenant .* must be 1-128 of A-Z a-z 0-9 \. _ - and must not start with a dot/);
    expect(r.stdout).not.toContain('Endpoint:');
    // Nothing was opened for it: no tenants folder, nothing next to the home.
    expect(existsSync(join(home, 'skein-tenants'))).toBe(false);
    expect(readdirSync(dir).filter((f) => f !== 'home' && f !== 'tokens.json')).toEqual([]);
  });

  it('keeps a tenant whose name merely contains dots in its own folder, apart from the default tenant', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'skein-tenants-'));
    const home = join(dir, 'home');
    const file = tokensFile(dir, { [OWNER]: 'default', [TOKEN]: 'a..b' });
    const server = await serve(home, ['--tokens', file, '--log', 'off'], env);
    try {
      const owner = new RemoteThreadStore({ baseUrl: server.url, token: OWNER });
      const tenant = new RemoteThreadStore({ baseUrl: server.url, token: TOKEN });
      const ownerThread = newThreadId();
      await owner.createThread({
        threadId: ownerThread,
        source: { kind: 'cli' },
        metadata: { cwd: '/o', modelProvider: 'openai' },
      });
      await owner.appendItems({
        threadId: ownerThread,
        items: [{ type: 'event_msg', payload: { type: 'user_message', message: 'mine' } }],
      });
      await owner.shutdownThread(ownerThread);
      const tenantThread = newThreadId();
      await tenant.createThread({
        threadId: tenantThread,
        source: { kind: 'cli' },
        metadata: { cwd: '/t', modelProvider: 'openai' },
      });
      await tenant.appendItems({
        threadId: tenantThread,
        items: [{ type: 'event_msg', payload: { type: 'user_message', message: 'theirs' } }],
      });
      await tenant.shutdownThread(tenantThread);

      expect((await tenant.listThreads({ modelProviders: null })).items.map((t) => t.threadId)).toEqual([tenantThread]);
      expect((await owner.listThreads({ modelProviders: null })).items.map((t) => t.threadId)).toEqual([ownerThread]);
      await expect(tenant.readThread({ threadId: ownerThread })).rejects.toMatchObject({ code: 'not_found' });
      await expect(tenant.deleteThread({ threadId: ownerThread })).rejects.toMatchObject({ code: 'not_found' });
      expect(readdirSync(join(home, 'skein-tenants'))).toEqual(['a..b']);
      expect(existsSync(join(home, 'skein-tenants', 'a..b', 'sessions'))).toBe(true);
      await Promise.all([owner.close(), tenant.close()]);
    } finally {
      expect((await server.stop('SIGTERM')).code).toBe(0);
    }
  });
});

describe('serve --log json and ports', () => {
  it('prints a machine-readable listening line with the bound port; a port in use suggests --port 0', async () => {
    const home = mkdtempSync(join(tmpdir(), 'skein-serve-log-'));
    const server = await serve(home, ['--log', 'json'], env);
    try {
      const line = server
        .output()
        .stderr.split('\n')
        .find((l) => l.includes('"listening"'));
      expect(line).toBeDefined();
      const entry = JSON.parse(line!) as { event: string; port: number; url: string };
      expect(entry).toMatchObject({ event: 'listening', port: server.port, url: server.url });
      const clash = await run(['serve', '--home', home, '--port', String(server.port)], { env });
      expect(clash.code).not.toBe(0);
      expect(clash.stderr).toMatch(/in use.*--port 0/);
    } finally {
      expect((await server.stop('SIGTERM')).code).toBe(0);
    }
  });
});
