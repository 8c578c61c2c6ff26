import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ThreadStore } from '@skein/thread-store-api';
import { InMemoryThreadStore, isThreadStoreError, newThreadId } from '@skein/thread-store-api';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { CallLogEntry, RunningThreadStoreServer, ServerLogEntry } from '../src/index.js';
import { parseTokenList, RemoteThreadStore, startThreadStoreServer, tenantNameProblem } from '../src/index.js';
import { createParams, userMessage } from './helpers/fixtures.js';

const dir = mkdtempSync(path.join(tmpdir(), 'skein-remote-auth-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const TOKEN_A = 'token-for-alpha-0123456789';
const TOKEN_B = 'token-for-bravo-0123456789';
process.env.SKEIN_TEST_TOKENS = `${TOKEN_A} alpha, ${TOKEN_B} bravo`;

let server: RunningThreadStoreServer | undefined;
const clients: RemoteThreadStore[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await server?.close();
  server = undefined;
});

function client(token?: string): RemoteThreadStore {
  const c = new RemoteThreadStore({ baseUrl: server!.url, retry: false, ...(token === undefined ? {} : { token }) });
  clients.push(c);
  return c;
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    return isThreadStoreError(e) ? e.code : `not a store error: ${String(e)}`;
  }
}

describe('bearer-token auth', () => {
  it('refuses no token and a wrong token, accepts the right one', async () => {
    const tokensFile = path.join(dir, 'tokens.txt');
    writeFileSync(tokensFile, `# token tenant\n${TOKEN_A} alpha\n\n${TOKEN_B} bravo # second\n`);
    const logs: ServerLogEntry[] = [];
    server = await startThreadStoreServer({
      store: new InMemoryThreadStore(),
      auth: { tokensFile },
      logger: (e) => logs.push(e),
    });
    expect(await codeOf(client().listThreads({}))).toBe('unauthenticated');
    expect(await codeOf(client('wrong-token-0123456789').listThreads({}))).toBe('unauthenticated');
    expect(await codeOf(client(TOKEN_A.slice(0, -1)).listThreads({}))).toBe('unauthenticated');
    expect(await codeOf(client(TOKEN_A).listThreads({}))).toBe('ok');
    expect(await codeOf(client(TOKEN_B).listThreads({}))).toBe('ok');
    // Streams are guarded too, and the refusal is logged without a tenant.
    const it = client().loadHistory({ threadId: newThreadId() })[Symbol.asyncIterator]();
    expect(await codeOf(it.next())).toBe('unauthenticated');
    const calls = logs.filter((l): l is CallLogEntry => l.event === 'call');
    expect(calls.filter((l) => l.code === 'unauthenticated' && l.tenant === null).length).toBe(4);
    expect(calls.filter((l) => l.code === 'ok').map((l) => l.tenant)).toEqual(['alpha', 'bravo']);
  });

  it('gives each tenant its own store: no tenant sees another tenant’s threads', async () => {
    const stores = new Map<string, ThreadStore>();
    const closed: string[] = [];
    server = await startThreadStoreServer({
      storeForTenant: (tenant) => {
        const s = new InMemoryThreadStore();
        const close = s.close.bind(s);
        s.close = async () => {
          closed.push(tenant);
          await close();
        };
        stores.set(tenant, s);
        return s;
      },
      auth: { tokensEnv: 'SKEIN_TEST_TOKENS' },
      logger: false,
    });
    const a = client(TOKEN_A);
    const b = client(TOKEN_B);
    const id = newThreadId();
    await a.createThread(createParams(id));
    await a.appendItems({ threadId: id, items: [userMessage('alpha secret')] });
    await a.flushThread(id);
    expect((await a.listThreads({})).items.map((t) => t.threadId)).toEqual([id]);
    expect((await b.listThreads({})).items).toEqual([]);
    expect(await codeOf(b.readThread({ threadId: id }))).toBe('not_found');
    expect(await codeOf(b.deleteThread({ threadId: id }))).toBe('not_found');
    expect(await codeOf(b.appendItems({ threadId: id, items: [userMessage('intrusion')] }))).toBe('not_found');
    expect([...stores.keys()].sort()).toEqual(['alpha', 'bravo']);
    await server.close();
    server = undefined;
    expect(closed.sort()).toEqual(['alpha', 'bravo']);
  });

  it('refuses to listen beyond loopback without auth', async () => {
    await expect(startThreadStoreServer({ store: new InMemoryThreadStore(), host: '0.0.0.0' })).rejects.toMatchObject({
      code: 'invalid_request',
    });
  });
});

describe('token lists', () => {
  it('parses text and both JSON forms', () => {
    expect([...parseTokenList(`${TOKEN_A} alpha\n${TOKEN_B}`, 't')]).toEqual([
      [TOKEN_A, 'alpha'],
      [TOKEN_B, 'default'],
    ]);
    expect([...parseTokenList(`${TOKEN_A} alpha,${TOKEN_B} bravo`, 't')].length).toBe(2);
    expect([...parseTokenList(JSON.stringify({ [TOKEN_A]: 'alpha' }), 't')]).toEqual([[TOKEN_A, 'alpha']]);
    expect([...parseTokenList(JSON.stringify([{ token: TOKEN_B, tenant: 'bravo' }]), 't')]).toEqual([
      [TOKEN_B, 'bravo'],
    ]);
  });

  it('rejects short tokens, bad tenants and a token given to two tenants', () => {
    for (const text of [
      'short alpha',
      `${TOKEN_A} ../etc`,
      `${TOKEN_A} a\n${TOKEN_A} b`,
      `${TOKEN_A} a extra`,
      '{bad json',
    ]) {
      expect(() => parseTokenList(text, 't')).toThrow();
    }
  });

  it('accepts only tenant names that are one plain path segment', () => {
    const bad = ['.', '..', '.hidden', '', 'a/b', 'a\\b', '/abs', 'C:', 'a\u0000b', 'x'.repeat(129), ' ', 'a b', 'é'];
    for (const tenant of bad) {
      expect(tenantNameProblem(tenant), JSON.stringify(tenant)).toBeDefined();
      expect(() => parseTokenList(JSON.stringify({ [TOKEN_A]: tenant }), 't'), JSON.stringify(tenant)).toThrow(
        /tenant/,
      );
      expect(() => parseTokenList(JSON.stringify([{ token: TOKEN_A, tenant }]), 't')).toThrow(/tenant/);
    }
    // The text form cannot even express most of them; the ones it can are refused the same way.
    for (const tenant of ['.', '..', '.hidden', 'a/b', '/abs'])
      expect(() => parseTokenList(`${TOKEN_A} ${tenant}`, 't')).toThrow(/tenant/);
    for (const tenant of ['a..b', 'x'.repeat(128), 'A-1_b.c', '-', '_'])
      expect([...parseTokenList(JSON.stringify({ [TOKEN_A]: tenant }), 't')]).toEqual([[TOKEN_A, tenant]]);
  });
});
