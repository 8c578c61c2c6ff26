import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { BIN, cleanEnv, ok, requireBuiltBinary, run, serve } from './cli-harness.js';

const env = cleanEnv();
beforeAll(() => requireBuiltBinary());

function newHome(): string {
  const home = mkdtempSync(join(tmpdir(), 'skein-chat-day-'));
  writeFileSync(join(home, 'config.toml'), 'model_provider = "local-llm"\n');
  return home;
}

const sse = (type: string, body: Record<string, unknown>): string =>
  `event: ${type}\ndata: ${JSON.stringify({ type, ...body })}\n\n`;

/**
 * A Responses API server on loopback that takes no key: the first `failures` requests answer
 * 500, the rest reply `local: <n>` in full. It records each request's headers.
 */
async function localModel(failures = 0): Promise<{ url: string; server: HttpServer; headers: IncomingHttpHeaders[] }> {
  let n = 0;
  const headers: IncomingHttpHeaders[] = [];
  const server = createServer((req, res) => {
    req.resume();
    headers.push(req.headers);
    n += 1;
    if (n <= failures) {
      res.writeHead(500, { 'content-type': 'text/plain' }).end('overloaded');
      return;
    }
    const item = {
      type: 'message',
      id: `msg_${n}`,
      role: 'assistant',
      content: [{ type: 'output_text', text: `local: ${n}` }],
    };
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(sse('response.created', { response: { id: `resp_${n}` } }));
    res.write(sse('response.output_text.delta', { item_id: item.id, delta: `local: ${n}` }));
    res.write(sse('response.output_item.done', { item }));
    res.end(
      sse('response.completed', {
        response: { id: `resp_${n}`, usage: { input_tokens: 1, output_tokens: 1, total_tokens: 2 } },
      }),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, server, headers };
}

function threadIdOf(stdout: string): string {
  const id = /^Thread ([0-9a-f-]{36})/m.exec(stdout)?.[1];
  if (!id) throw new Error(`no thread id in:\n${stdout}`);
  return id;
}

describe('chat with a local model', () => {
  it("needs no API key on loopback and records the home's configured provider", async () => {
    const model = await localModel();
    const home = newHome();
    try {
      const r = await run(['chat', '--responses-url', model.url, '--model', 'llama', '--home', home], {
        env, // no OPENAI_API_KEY
        input: 'hello\n',
      });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('provider local-llm');
      expect(r.stdout).toContain('assistant: local: 1');
      expect(model.headers[0]?.authorization).toBeUndefined();
      // The default listing (the home's provider) shows it.
      expect(await ok(['threads', 'list', '--home', home], { env })).toContain(threadIdOf(r.stdout));
      // Piped: no waiting indicator in the output.
      expect(r.stdout).not.toContain('…');
    } finally {
      model.server.close();
    }
  });

  it('a remote model URL still needs a key', async () => {
    const r = await run(
      ['chat', '--responses-url', 'https://models.example.invalid/v1', '--model', 'x', '--home', newHome()],
      { env },
    );
    expect(r.code).toBe(9);
    expect(r.stderr).toMatch(/OPENAI_API_KEY/);
  });

  it('--name is kept when the first reply fails', async () => {
    const model = await localModel(1);
    const home = newHome();
    try {
      const r = await run(
        ['chat', '--responses-url', model.url, '--model', 'llama', '--name', 'Flaky Start', '--home', home],
        {
          env,
          input: 'first try\nsecond try\n',
        },
      );
      expect(r.stderr).toMatch(/HTTP 500/);
      const id = threadIdOf(r.stdout);
      const shown = await ok(['threads', 'show', 'flaky start', '--home', home], { env });
      expect(shown).toContain(id);
      expect(shown).toMatch(/^Name\s+Flaky Start$/m);
      expect(shown).toContain('user: first try');
      expect(shown).toContain('assistant: local: 2');
    } finally {
      model.server.close();
    }
  });

  it('--resume shows the end of the conversation first', async () => {
    const home = newHome();
    const first = await ok(['chat', '--home', home], { env, input: 'one\ntwo\nthree\nfour\n' });
    const id = threadIdOf(first);
    const again = await ok(['chat', '--resume', id.slice(0, 13), '--home', home], { env, input: '' });
    const before = again.slice(0, again.indexOf('Thread '));
    expect(before).toContain('(2 earlier messages)');
    expect(before).toContain('you: two');
    expect(before).toContain('assistant: echo: four');
    expect(before).not.toContain('you: one');
  });
});

describe('chat says saved only when it was', () => {
  it('a server killed mid-chat: the writes fail and chat says so with a failing exit code', async () => {
    const home = mkdtempSync(join(tmpdir(), 'skein-chat-kill-'));
    const server = await serve(home, [], env);
    const chat = spawn(process.execPath, [BIN, 'chat', '--endpoint', server.url], {
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    chat.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    chat.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    const exited = new Promise<number | null>((r) => chat.on('exit', (code) => r(code)));
    try {
      chat.stdin.write('before the crash\n');
      for (let i = 0; i < 600 && !out.includes('echo: before the crash'); i++)
        await new Promise((r) => setTimeout(r, 50));
      expect(out).toContain('echo: before the crash');
      await server.stop('SIGKILL');
      chat.stdin.end('after the crash\n');
      const code = await exited;
      expect(code).not.toBe(0);
      expect(out).not.toMatch(/saved\. Resume with/);
      expect(err).toMatch(/was not saved completely/);
    } finally {
      chat.kill('SIGKILL');
      await server.stop('SIGKILL');
    }
  });
});
